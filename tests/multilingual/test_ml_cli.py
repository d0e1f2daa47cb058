"""`neurips23 aya detect | data | eval | winrate` end to end on small files; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from neurips23.errors import DataError, UserError
from neurips23.multilingual.cli import app
from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences

runner = CliRunner()


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_detect_prints_codes_and_und():
    s = parallel_sentences()
    res = runner.invoke(app, ["detect", s["fra"][0], s["swa"][1], "12345", ""])
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["fra", "swa", "und", "und"]


def test_data_cleans_and_reports_each_stage(tmp_path):
    s = parallel_sentences()
    rows = [{"inputs": s["fra"][i], "targets": s["fra"][i + 1], "language_code": "fra"} for i in range(6)]
    rows.append(dict(rows[0]))                                       # exact duplicate
    rows.append({**rows[1], "targets": rows[1]["targets"] + " !"})   # near duplicate
    rows.append({"inputs": s["eng"][10], "targets": s["eng"][11], "language_code": "fra"})  # mislabelled
    rows.append({"inputs": s["yor"][3], "targets": s["yor"][4], "language_code": "yor", "source": "kept"})
    out, rejected = tmp_path / "clean.jsonl", tmp_path / "rejected.jsonl"
    res = runner.invoke(app, ["data", "--input", str(_jsonl(tmp_path / "in.jsonl", rows)),
                              "--out", str(out), "--rejected", str(rejected)])
    assert res.exit_code == 0, res.output
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(kept) == 7 and {k["language_code"] for k in kept} == {"fra", "yor"}
    assert kept[-1]["source"] == "kept"  # fields beyond the schema survive
    dropped = [json.loads(x) for x in rejected.read_text().splitlines()]
    assert sorted(d["_stage"] for d in dropped) == ["dedup", "dedup", "langid"]
    assert any(d["_where"].endswith("in.jsonl:9") for d in dropped)
    report = json.loads((tmp_path / "clean.report.json").read_text())
    assert report["records_in"] == 10


@pytest.mark.parametrize("row, message", [
    ({"inputs": "x", "targets": "y"}, "in.jsonl:2: missing field 'language_code'"),
    ({"inputs": "x", "targets": "y", "language_code": "french"}, "in.jsonl:2"),
    ({"inputs": 3, "targets": "y", "language_code": "fra"}, "in.jsonl:2"),
])
def test_data_bad_record_names_file_line_and_field(tmp_path, row, message):
    good = {"inputs": "Bonjour à tous", "targets": "Salut", "language_code": "fra"}
    path = _jsonl(tmp_path / "in.jsonl", [good, row])
    res = runner.invoke(app, ["data", "--input", str(path), "--out", str(tmp_path / "o.jsonl")])
    assert isinstance(res.exception, DataError) and message in str(res.exception)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    path = _jsonl(tmp_path / "in.jsonl", [{"inputs": "x", "targets": "y"}])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "neurips23.cli", "aya", "data", "--input", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1 and "in.jsonl:1" in lines[0] and "language_code" in lines[0]


def _replay(tmp_path, langs, wrong_every=3):
    """Recorded outputs: each question answered by its own text in the asked language, every
    `wrong_every`-th one planted in English instead."""
    q = parallel_questions()
    rows, planted = [], 0
    for lang in langs:
        for i in range(4):
            wrong = i % wrong_every == 0
            planted += wrong and lang == "yor"
            rows.append({"prompt": q[lang][i], "output": q["eng" if wrong else lang][(i + 1) % 24]})
    return _jsonl(tmp_path / "replay.jsonl", rows), planted


def test_eval_with_replayed_outputs_counts_the_planted_wrong_language(tmp_path):
    replay, planted = _replay(tmp_path, ["fra", "yor"])
    out = tmp_path / "ev"
    res = runner.invoke(app, ["eval", "--backend", "replay", "--model", str(replay), "--languages", "fra,yor",
                              "--limit", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads((out / "results.json").read_text())
    assert result["fidelity"]["yor"]["n"] == 4
    assert result["fidelity"]["yor"]["fidelity"] == pytest.approx(1 - planted / 4)
    rows = [json.loads(x) for x in (out / "outputs.jsonl").read_text().splitlines()]
    assert sum(not r["faithful"] for r in rows) == 4  # 2 planted per language
    assert (out / "fidelity.png").stat().st_size > 0


def test_eval_scores_translation_against_targets_with_signatures(tmp_path):
    s = parallel_sentences()
    recs = [{"inputs": f"Translate: {s['eng'][i]}", "targets": s["fra"][i], "language_code": "fra",
             "id": f"t{i}"} for i in range(5)]
    data = _jsonl(tmp_path / "d.jsonl", recs)
    replay = _jsonl(tmp_path / "r.jsonl", [{"prompt": r["inputs"], "output": r["targets"]} for r in recs])
    res = runner.invoke(app, ["eval", "--backend", "replay", "--model", str(replay), "--data", str(data),
                              "--out", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    sc = json.loads((tmp_path / "ev" / "results.json").read_text())["scores"]["fra"]
    assert sc["chrF"]["score"] == pytest.approx(100.0) and sc["BLEU"]["score"] == pytest.approx(100.0)
    assert sc["chrF"]["signature"].startswith("nrefs:1")


def test_eval_missing_replay_output_is_a_clear_error(tmp_path):
    replay = _jsonl(tmp_path / "replay.jsonl", [{"prompt": "nothing like the questions", "output": "x"}])
    res = runner.invoke(app, ["eval", "--backend", "replay", "--model", str(replay), "--languages", "fra",
                              "--limit", "1", "--out", str(tmp_path / "ev")])
    assert isinstance(res.exception, UserError) and "no recorded output" in str(res.exception)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "output": "b"}\n{"prompt": 1}\n')
    res = runner.invoke(app, ["eval", "--backend", "replay", "--model", str(bad), "--out", str(tmp_path / "e")])
    assert isinstance(res.exception, DataError) and "bad.jsonl:2" in str(res.exception)


def test_winrate_both_orders_from_two_eval_outputs(tmp_path):
    s = parallel_sentences()
    a, b = [], []
    for i in range(8):
        base = {"id": f"t{i}", "inputs": f"Translate: {s['eng'][i]}", "targets": s["spa"][i],
                "language_code": "spa"}
        a.append({**base, "output": s["spa"][i]})
        b.append({**base, "output": s["spa"][i + 1]})
    pa, pb = _jsonl(tmp_path / "a.jsonl", a), _jsonl(tmp_path / "b.jsonl", b)
    out = tmp_path / "w.json"
    res = runner.invoke(app, ["winrate", "--a", str(pa), "--b", str(pb), "--out", str(out), "--n-boot", "200"])
    assert res.exit_code == 0, res.output
    w = json.loads(out.read_text())
    assert w["win_rates"]["all"]["win"] == 1.0 and w["position_bias"]["same_position_share"] == 0.0
    res = runner.invoke(app, ["winrate", "--a", str(pa), "--b", str(pb), "--judge", "first-position",
                              "--out", str(out), "--n-boot", "200"])
    assert json.loads(out.read_text())["win_rates"]["all"]["tie"] == 1.0
    _jsonl(pb, b[:-1])
    res = runner.invoke(app, ["winrate", "--a", str(pa), "--b", str(pb), "--out", str(out)])
    assert isinstance(res.exception, DataError) and "different ids" in str(res.exception)
