"""`neurips23 reproduce locality` end to end on a tiny setting: a run record with the claims,
tables and plots; a second run reuses the cached models and gives the same numbers."""

import json

import pytest

from neurips23.core.reproduction import get_reproduction, reproduce, resolve_config
from neurips23.errors import ConfigError

TINY = ["workers=1", "n_vars=12", "n_edges=13", "n_pairs=2", "n_train=600", "n_samples=2",
        "n_adjacent=2", "train.steps=3", "train.batch_size=4", "train.warmup_steps=1",
        "size={hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32}"]


def test_pipeline_writes_a_run_record_and_is_deterministic(tmp_path):
    first = reproduce("locality", "quick", overrides=TINY, runs_dir=tmp_path / "runs")
    res = json.loads((first / "results.json").read_text())
    assert len(res["claims"]) == 5 and not res["finding"]
    assert {c["verdict"] for c in res["claims"]} == {"inconclusive"}  # 2 pairs < min_n
    assert set(res["tables"]) >= {"Free generation", "MSE by distance between condition and target"}
    assert (first / "mse_by_estimator.png").exists() and (first / "estimates_vs_truth.png").exists()
    rows = [json.loads(line) for line in (first / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 4 * 2  # conditions × items a pair × pairs
    assert {r["condition"] for r in rows} == {"local_geom", "wrong_local_geom"}
    second = reproduce("locality", "quick", overrides=TINY, runs_dir=tmp_path / "runs")
    res2 = json.loads((second / "results.json").read_text())
    assert all(j["train"]["from_cache"] for j in res2["metrics"]["jobs"])
    assert (second / "samples.jsonl").read_text() == (first / "samples.jsonl").read_text()


@pytest.mark.parametrize("override, message", [
    ("conditions=[local_geom,global]", "not a training format"),
    ("seeds=[1,1]", "list each once"),
    ("n_samples=0", "n_samples"),
    ("keep_p=1.5", "keep_p"),
])
def test_bad_config_is_refused_before_a_run_starts(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        reproduce("locality", "quick", overrides=[override], runs_dir=tmp_path)
    assert not (tmp_path / "locality").exists()


def test_profiles_resolve():
    repro = get_reproduction("locality")
    full = resolve_config(repro, "full")
    assert full.n_vars >= 50 and len(full.seeds) >= 3
    assert resolve_config(repro, "quick").n_vars < full.n_vars
