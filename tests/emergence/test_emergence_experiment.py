"""The reproduction's pieces: task data, per-length scoring, the prediction tests, and a tiny
end-to-end run of the same code path as `reproduce emergence`."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from neurips23.emergence.arithmetic import TASKS, get_task, split_problems
from neurips23.emergence.predictions import model_check, prediction_1, prediction_2, prediction_3
from neurips23.emergence.reproduce import EmergenceConfig
from neurips23.emergence.sweep import SweepResult, length_metrics, member_size
from neurips23.errors import ConfigError


def test_arithmetic_answers_are_fixed_width_and_reversed():
    mult, add = TASKS["mult_2x2"], TASKS["add_4x4"]
    assert mult.prompt(47, 83, reverse=False) == "47*83="
    assert mult.prompt(47, 83) == "74*38="
    assert mult.answer(47, 83, reverse=False) == "3901"
    assert mult.answer(47, 83) == "1093"
    assert mult.answer(10, 10, reverse=False) == "0100"  # zero-padded to 4 digits
    assert add.answer(1234, 5678, reverse=False) == "06912"
    assert add.answer(9999, 9999) == "89991"
    with pytest.raises(ConfigError, match="unknown arithmetic task 'div'"):
        get_task("div")


def test_split_is_disjoint_deterministic_and_standard_set_is_a_prefix():
    task = TASKS["mult_2x2"]
    train, test = split_problems(task, -1, 200, seed=0)
    assert len(test) == 200 and len(train) == 90 * 90 - 200
    assert not set(train) & set(test)
    _, small = split_problems(task, 100, 20, seed=0)
    assert small == test[:20]
    assert split_problems(task, 100, 20, seed=0) == split_problems(task, 100, 20, seed=0)
    with pytest.raises(ConfigError, match="exceed"):
        split_problems(task, 9000, 100)


def test_member_size_parsing():
    assert member_size("d64l3") == dict(hidden_size=64, num_hidden_layers=3,
                                        num_attention_heads=4, intermediate_size=256)
    assert member_size("d16l1")["num_attention_heads"] == 1
    with pytest.raises(ConfigError, match="d<hidden>l<layers>"):
        member_size("64x3")


def test_length_metrics_score_the_first_L_tokens():
    rows = [{"prediction": "1093", "target": "1093", "token_logprobs": [-0.1, -0.2, -0.3, -0.4]},
            {"prediction": "1193", "target": "1093", "token_logprobs": [-0.1, -1.0, -0.3, -0.6]}]
    one = length_metrics(rows, 1)
    assert one["exact_match"] == 1.0 and one["token_edit_distance"] == 0.0
    assert one["per_token_ce"] == pytest.approx(0.1)
    two = length_metrics(rows, 2)
    assert two["exact_match"] == 0.5 and two["hits"] == 1
    assert two["token_edit_distance"] == 0.5 and two["per_token_accuracy"] == 0.75
    assert two["per_token_ce"] == pytest.approx((0.15 + 0.55) / 2)
    # at the full length the whole output counts: a trailing extra digit is an error
    longer = [{"prediction": "10930", "target": "1093", "token_logprobs": [-0.1] * 4}]
    assert length_metrics(longer, 3)["exact_match"] == 1.0
    assert length_metrics(longer, 4)["exact_match"] == 0.0
    assert length_metrics(longer, 4)["token_edit_distance"] == 1.0


def _synthetic(ce_by_member: dict[str, float], width: int = 4, n_std: int = 100,
               factor: int = 20) -> SweepResult:
    """A sweep table from the paper's model: EM_L = p^L with p = exp(−CE), exact counts."""
    cfg = EmergenceConfig(tasks=["t"], family=list(ce_by_member), seeds=[0], test_size=n_std,
                          large_test_factor=factor)
    params = {m: 10 ** (4 + i) for i, m in enumerate(ce_by_member)}
    table = {}
    for m, ce in ce_by_member.items():
        p = math.exp(-ce)
        for L in range(1, width + 1):
            for split, n in (("standard", n_std), ("large", n_std * factor)):
                hits = int(math.floor(n * p**L))
                table[("t", 0, m, L, split)] = {
                    "exact_match": hits / n, "hits": hits, "n": n,
                    "token_edit_distance": L * (1 - p), "per_token_accuracy": p,
                    "per_token_ce": ce}
    return SweepResult(cfg, params, table, [], 0.0, 0.0)


def test_predictions_on_the_papers_own_model():
    res = _synthetic({"a": 4.0, "b": 3.0, "c": 1.9, "d": 1.2, "e": 0.4, "f": 0.05})
    p1 = prediction_1(res)["t"]
    assert p1[4]["em_score"][0] > p1[4]["ted_score"][0]  # EM at L=4 sharper than TED
    assert p1[4]["em_sharper_fraction"] == 1.0
    p2 = prediction_2(res)
    # member "c" (p = e^-1.9 ≈ 0.15): L=3 → 0.0034 → 0/100 but 6/2000, above chance 1e-3
    row = next(r for r in p2["rows"] if r["model"] == "c" and r["L"] == 3)
    assert row["hits"] == 6 and row["ci95"][0] > 1e-3 and row["above_chance"] is True
    # member "b" (p ≈ 0.05 < 0.1 per digit) is nonzero at L=2 on 2000 but not above chance
    row = next(r for r in p2["rows"] if r["model"] == "b" and r["L"] == 2)
    assert row["hits"] > 0 and row["above_chance"] is False
    p3 = prediction_3(res)
    assert p3["fits"] and p3["median_log_em_r2"] > 0.99 and p3["median_ted_r2"] == pytest.approx(1)
    mc = model_check(res)
    assert mc["per_task"]["t"]["spearman_rho"] == pytest.approx(-1.0)
    assert mc["pearson_r"] > 0.99


def test_reproduce_end_to_end_tiny(tmp_path, monkeypatch):
    """Two tiny members, a few steps: the real code path writes a complete run record."""
    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    from neurips23.core.reproduction import reproduce

    run_dir = reproduce("emergence", "quick", runs_dir=tmp_path / "runs", overrides=[
        "family=[d8l1,d16l1]", "steps=3", "test_size=4", "large_test_factor=2",
        "n_train=64", "batch_size=8", "warmup_steps=0", "progress=false"])
    results = json.loads((run_dir / "results.json").read_text())
    assert [c["verdict"] for c in results["claims"]]  # four claims with verdicts
    assert len(results["claims"]) == 4
    assert set(results["metrics"]["params"]) == {"d8l1", "d16l1"}
    assert results["metrics"]["params"]["d8l1"] < results["metrics"]["params"]["d16l1"]
    for png in ("fig3_metric_swap.png", "fig4_larger_test_set.png", "model_check.png"):
        assert (run_dir / png).stat().st_size > 1000
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 8  # members × tasks × large test
    assert {len(r["target"]) for r in rows} == {4, 5}
    assert all(len(r["token_logprobs"]) == len(r["target"]) for r in rows)
    # the analyze command reads the run's own samples back
    from neurips23.emergence.analysis import analyze
    from neurips23.emergence.results import load_results

    tasks = analyze(load_results(run_dir))
    assert set(tasks) == {"mult_2x2", "add_4x4"}
    assert tasks["add_4x4"].curves["exact_match"].n == [8, 8]
    assert np.isfinite(tasks["add_4x4"].curves["per_token_ce"].mean).all()


def test_reproduce_rejects_bad_config(tmp_path):
    from neurips23.core.reproduction import reproduce

    with pytest.raises(ConfigError, match="unknown config key 'stepz'"):
        reproduce("emergence", "quick", overrides=["stepz=3"], runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="profile 'medium'"):
        reproduce("emergence", "medium", runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="family member 'x3'"):
        reproduce("emergence", "quick", overrides=["family=[x3,d16l1]"], runs_dir=tmp_path)
