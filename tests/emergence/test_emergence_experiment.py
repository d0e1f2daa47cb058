"""The reproduction's pieces: task data, per-length scoring, the prediction tests, and a tiny
end-to-end run of the same code path as `reproduce emergence`."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from neurips23.emergence.arithmetic import TASKS, get_task, split_problems
from neurips23.emergence.sweep import Data, chance_levels, length_metrics, member_size
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


def test_chance_is_the_best_constant_answer_by_brute_force():
    data = Data(train=[], test={"t": [("p", a) for a in ["120", "130", "221", "120", "999"]]})
    chance = chance_levels(data, test_size=2)
    for split, answers in (("standard", ["120", "130"]),
                           ("large", ["120", "130", "221", "120", "999"])):
        for L in (1, 2, 3):
            # brute force over every possible constant answer of L digits
            best = max(sum(a[:L] == "".join(c) for a in answers)
                       for c in itertools.product("0123456789", repeat=L))
            assert chance[("t", L, split)] == best / len(answers)
    assert chance[("t", 1, "large")] == 3 / 5 and chance[("t", 3, "standard")] == 1 / 2


def test_reproduce_end_to_end_tiny(tmp_path, monkeypatch):
    """Two tiny members, a few steps: the real code path writes a complete run record."""
    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    from neurips23.core.reproduction import reproduce

    run_dir = reproduce("emergence", "quick", runs_dir=tmp_path / "runs", overrides=[
        "family=[d8l1,d16l1]", "train.steps=3", "test_size=4", "large_test_factor=2",
        "n_train=64", "train.batch_size=8", "train.warmup_steps=0", "progress=false"])
    results = json.loads((run_dir / "results.json").read_text())
    assert len(results["claims"]) == 5 and results["finding"] is False  # quick: a pipeline check
    assert all(c["verdict"] == "inconclusive" for c in results["claims"])  # 1 seed, 3 steps
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
    assert np.isfinite(tasks["add_4x4"].curves["per_token_ce"].value).all()


def test_reproduce_rejects_bad_config(tmp_path):
    from neurips23.core.reproduction import reproduce

    with pytest.raises(ConfigError, match="unknown config key 'stepz'"):
        reproduce("emergence", "quick", overrides=["stepz=3"], runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="profile 'medium'"):
        reproduce("emergence", "medium", runs_dir=tmp_path)
    with pytest.raises(ConfigError, match="family member 'x3'"):
        reproduce("emergence", "quick", overrides=["family=[x3,d16l1]"], runs_dir=tmp_path)
