"""Readers of per-sample results (ours, lm-evaluation-harness --log_samples) and the analysis."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from neurips23.emergence.analysis import analyze, sample_metrics, summary_rows
from neurips23.emergence.results import (
    load_results,
    parse_size_overrides,
    read_lm_eval_samples,
    read_our_jsonl,
)
from neurips23.errors import DataError

LOGS = Path(__file__).parent / "data" / "lm_eval_logs"
SIZES = {"EleutherAI/pythia-1.4b": 1.4e9}


def test_lm_eval_reader_takes_sizes_from_results_json_and_the_mapping():
    recs = read_lm_eval_samples(LOGS, SIZES)
    assert {(r.model, r.params) for r in recs} == {
        ("EleutherAI/pythia-70m", 70426624.0),
        ("EleutherAI/pythia-410m", 405334016.0),
        ("EleutherAI/pythia-1.4b", 1.4e9),  # model name parsed from config.model_args
    }
    assert {r.task for r in recs} == {"mult_2x2", "arc_easy"}
    assert len(recs) == 3 * (3 + 2)


def test_lm_eval_reader_recomputes_the_logged_metrics():
    for rec in read_lm_eval_samples(LOGS, SIZES):
        m = sample_metrics(rec)
        if rec.task == "mult_2x2":
            assert m["exact_match"] == rec.given["exact_match"]
            assert rec.prediction is not None and rec.target is not None
        else:
            assert rec.correct == 2 and len(rec.option_logprobs) == 3
            assert m["multiple_choice_grade"] == rec.given["acc"]  # lm-eval's acc = argmax ll


def test_lm_eval_reader_without_a_size_names_the_model_and_the_fix():
    with pytest.raises(DataError, match=r"pythia-1\.4b.*--size"):
        read_lm_eval_samples(LOGS)


def test_lm_eval_reader_bad_line_names_file_and_line(tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(LOGS, logs)
    f = next((logs / "EleutherAI__pythia-70m").glob("samples_mult_2x2_*.jsonl"))
    lines = f.read_text().splitlines()
    bad = json.loads(lines[1])
    del bad["target"]
    f.write_text("\n".join([lines[0], json.dumps(bad), lines[2]]) + "\n")
    with pytest.raises(DataError, match=rf"{f.name}:2: missing field 'target'"):
        read_lm_eval_samples(logs, SIZES)
    f.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(DataError, match=rf"{f.name}:2: not valid JSON"):
        read_lm_eval_samples(logs, SIZES)


def test_analysis_of_lm_eval_logs_orders_by_size_and_scores_each_metric():
    tasks = analyze(load_results(LOGS, SIZES))
    em = tasks["mult_2x2"].curves["exact_match"]
    assert em.params == sorted(em.params)
    assert em.mean == pytest.approx([0.0, 1.0, 2 / 3])
    # edit distance on the same outputs: "3911" vs "3901" = 1, "27" vs "28" = 1, "1110" vs "1100" = 1
    ted = tasks["mult_2x2"].curves["token_edit_distance"]
    assert ted.mean == pytest.approx([1.0, 0.0, 1 / 3])
    assert em.ci is not None and ted.ci is None
    assert tasks["mult_2x2"].resolution_limit == pytest.approx(1 / 3)
    mc = tasks["arc_easy"].curves["multiple_choice_grade"]
    assert mc.mean == pytest.approx([0.5, 1.0, 1.0])
    assert "acc_norm (logged)" in tasks["arc_easy"].curves
    rows = summary_rows(tasks)
    assert {r["metric"] for r in rows} >= {"exact_match", "multiple_choice_brier"}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_our_jsonl_reader_and_bad_input(tmp_path):
    good = _write(tmp_path / "ok.jsonl", [
        {"model": "a", "params": 1e4, "task": "add", "prediction": "12", "target": "13",
         "token_logprobs": [-0.1, -2.0], "seed": 0},
        {"model": "b", "task": "add", "prediction": "13", "target": "13"},
    ])
    recs = read_our_jsonl(good, sizes={"b": 2e4})
    assert [r.params for r in recs] == [1e4, 2e4]
    assert sample_metrics(recs[0])["per_token_ce"] == pytest.approx(1.05)
    with pytest.raises(DataError, match=r"ok.jsonl:2: no 'params' for model 'b'"):
        read_our_jsonl(good)
    bad = _write(tmp_path / "bad.jsonl", [{"model": "a", "params": 1, "task": "t", "prediction": "1"}])
    with pytest.raises(DataError, match=r"bad.jsonl:1: missing field 'target'"):
        read_our_jsonl(bad)
    bad = _write(tmp_path / "bad2.jsonl", [{"model": "a", "params": 1, "task": "t",
                                            "option_logprobs": [-1, -2], "correct": 5}])
    with pytest.raises(DataError, match=r"'correct' should be an option index in \[0, 2\)"):
        read_our_jsonl(bad)
    bad = _write(tmp_path / "bad3.jsonl", [{"model": "a", "params": "big", "task": "t"}])
    with pytest.raises(DataError, match="'params' should be a number"):
        read_our_jsonl(bad)
    with pytest.raises(DataError, match="no such file"):
        load_results(tmp_path / "missing.jsonl")


def test_size_overrides():
    assert parse_size_overrides(["pythia-70m=70M", "x=1.3b", "y=5e3"]) == {
        "pythia-70m": 70e6, "x": 1.3e9, "y": 5e3}
    with pytest.raises(DataError, match="MODEL=PARAMS"):
        parse_size_overrides(["70M"])
    with pytest.raises(DataError, match="not a number"):
        parse_size_overrides(["m=lots"])


def test_analysis_emergence_scores_compare_sharp_and_smooth_metrics_on_the_same_outputs(tmp_path):
    # four sizes; only the largest gets every digit right. EM: 0, 0, 0, 1; TED falls steadily.
    rows = []
    outputs = {"xs": ["0000", "0000"], "s": ["0000", "1000"], "m": ["1200", "1230"],
               "l": ["1234", "1234"]}
    for model, params in (("xs", 1e3), ("s", 1e4), ("m", 1e5), ("l", 1e6)):
        for pred in outputs[model]:
            rows.append({"model": model, "params": params, "task": "t", "prediction": pred,
                         "target": "1234"})
    tasks = analyze(load_results(_write(tmp_path / "r.jsonl", rows)))
    c = tasks["t"].curves
    assert c["exact_match"].mean == [0.0, 0.0, 0.0, 1.0]
    assert c["token_edit_distance"].mean == [4.0, 3.5, 1.5, 0.0]
    assert math.isinf(c["exact_match"].emergence)  # one jump from exact zeros: median step 0
    # oriented (−TED rises 4.0 in steps 0.5, 2.0, 1.5): 4 / sqrt(median(0.25, 4, 2.25))
    assert c["token_edit_distance"].emergence == pytest.approx(4.0 / 1.5)
    assert c["per_token_accuracy"].mean == [0.0, 0.125, 0.625, 1.0]


def test_analyze_cli_on_lm_eval_logs_writes_json_and_plots(tmp_path):
    from typer.testing import CliRunner

    from neurips23.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["emergence", "analyze", str(LOGS), "--size",
                                   "EleutherAI/pythia-1.4b=1.4B", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "analysis.json").read_text())
    em = data["tasks"]["mult_2x2"]["curves"]["exact_match"]
    assert em["params"] == [70426624.0, 405334016.0, 1.4e9]
    assert em["mean"] == pytest.approx([0.0, 1.0, 2 / 3]) and len(em["ci95"]) == 3
    assert (out / "mult_2x2.png").stat().st_size > 1000 and (out / "arc_easy.png").exists()


def test_analyze_cli_bad_input_is_a_user_error(tmp_path):
    from typer.testing import CliRunner

    from neurips23.cli import app

    res = CliRunner().invoke(app, ["emergence", "analyze", str(LOGS), "--out", str(tmp_path)])
    assert isinstance(res.exception, DataError)
    assert "pythia-1.4b" in str(res.exception)
    res = CliRunner().invoke(app, ["emergence", "analyze", str(LOGS), "--tokens", "bytes", "--size",
                                   "EleutherAI/pythia-1.4b=1.4B", "--out", str(tmp_path)])
    assert isinstance(res.exception, DataError) and "'char' or 'word'" in str(res.exception)
