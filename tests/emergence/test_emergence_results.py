"""Our per-sample JSONL reader and the metric-swap analysis on it (harness logs: test_emergence_harness.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from neurips23.emergence.analysis import analyze, sample_metrics
from neurips23.emergence.results import (
    load_results,
    parse_size_overrides,
    read_our_jsonl,
)
from neurips23.errors import DataError


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
    assert c["exact_match"].value == [0.0, 0.0, 0.0, 1.0]
    assert c["token_edit_distance"].value == [4.0, 3.5, 1.5, 0.0]
    assert math.isinf(c["exact_match"].emergence)  # one jump from exact zeros: median step 0
    # oriented (−TED rises 4.0 in steps 0.5, 2.0, 1.5): 4 / sqrt(median(0.25, 4, 2.25))
    assert c["token_edit_distance"].emergence == pytest.approx(4.0 / 1.5)
    assert c["per_token_accuracy"].value == [0.0, 0.125, 0.625, 1.0]




def test_analyze_command_takes_repeated_sizes_and_a_config_file(tmp_path):
    from typer.testing import CliRunner

    from neurips23.cli import app

    rows = [{"model": m, "task": "t", "prediction": p, "target": "12"}
            for m, p in (("small", "10"), ("big", "12"))]
    data = _write(tmp_path / "r.jsonl", rows)
    res = CliRunner().invoke(app, ["emergence", "analyze", str(data), "--size", "small=70M",
                                   "--size", "big=1.3B", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    em = json.loads((tmp_path / "a" / "analysis.json").read_text())["tasks"]["t"]["curves"]
    assert em["exact_match"]["params"] == [70e6, 1.3e9]
    (tmp_path / "c.yaml").write_text(f"size: [small=1k, big=2k]\ntokens: word\nout: {tmp_path / 'b'}\n")
    res = CliRunner().invoke(app, ["emergence", "analyze", str(data), "--config", str(tmp_path / "c.yaml")])
    assert res.exit_code == 0, res.output
    b = json.loads((tmp_path / "b" / "analysis.json").read_text())
    assert b["tokens"] == "word" and b["tasks"]["t"]["curves"]["exact_match"]["params"] == [1e3, 2e3]
