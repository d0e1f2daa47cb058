"""Every ToT claim fed synthetic results where the paper's statement is true, false and
underpowered (and where the model learned nothing), and the authors' final pick checked
against a transcription of their own evaluation code."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.tot.config import PROFILES, ToTConfig
from neurips23.tot.game24 import authors_pick, uses_input_numbers
from neurips23.tot.reproduce import COMPARISONS, seed_line, tot_claims

ARMS = ("io_pass1", "cot_pass1", "cot_sc_matched", "cot_sc_all", "tot_b1_top1", "tot_b5_top1",
        "tot_b5_random_values_top1", "tot_b5_authors_pick", "cot_authors_pick_matched",
        "tot_b5_any_of_5", "cot_best_of_matched", "io_best_of_k", "cot_best_of_k")
CFG = ToTConfig(n_boot=100)
FACTS = {"k_matched_tokens": 30, "k_needed_for_tokens": 30}


def vectors(n: int, rates: dict[str, float], seed: int = 0) -> dict[str, list[float]]:
    """Independent Bernoulli successes per arm (CoT pass@1 0.3 unless given)."""
    rng = random.Random(seed)
    rates = {"cot_pass1": 0.3, **rates}
    return {a: [float(rng.random() < rates.get(a, 0.2)) for _ in range(n)] for a in ARMS}


def verdicts(v, facts=FACTS, auroc=(0.9, 0.91, 0.92), cfg=CFG) -> dict[str, str]:
    claims, _ = tot_claims(cfg, v, facts, list(auroc))
    return dict(zip([*COMPARISONS, "auroc"], [c.verdict for c in claims], strict=True))


@pytest.mark.parametrize("key", list(COMPARISONS))
def test_each_comparison_true_false_underpowered_and_learned_nothing(key):
    arm, base, _ = COMPARISONS[key]
    assert verdicts(vectors(300, {arm: 0.6, base: 0.2}))[key] == "reproduced"
    assert verdicts(vectors(300, {arm: 0.1, base: 0.5}))[key] == "not reproduced"
    assert verdicts(vectors(40, {arm: 0.9, base: 0.1}))[key] == "inconclusive"  # n < min_n
    same = vectors(300, {arm: 0.3})
    same[base] = same[arm][1:] + same[arm][:1]  # the same success rate, other puzzles
    assert verdicts(same)[key] == "inconclusive"
    nothing = {a: 0.0 for a in ARMS}
    assert verdicts(vectors(300, nothing))[key] == "inconclusive"
    # the baseline never solves a puzzle alone: no comparison can read "reproduced"
    assert verdicts(vectors(300, {arm: 0.6, base: 0.2, "cot_pass1": 0.01}))[key] == "inconclusive"


@pytest.mark.parametrize("key", [k for k, (_, base, _) in COMPARISONS.items()
                                 if base.endswith("matched")])
def test_matched_claims_need_the_budget_to_be_matched(key):
    arm, base, _ = COMPARISONS[key]
    short = {"k_matched_tokens": 8, "k_needed_for_tokens": 34}  # k clamped: not matched
    cfg = ToTConfig(n_boot=100, k_samples=8)
    assert verdicts(vectors(300, {arm: 0.6, base: 0.2}), short, cfg=cfg)[key] == "inconclusive"


def test_evaluator_auroc_true_false_underpowered():
    v = vectors(300, {})
    assert verdicts(v, auroc=(0.85, 0.88, 0.86))["auroc"] == "reproduced"
    assert verdicts(v, auroc=(0.55, 0.56, 0.57))["auroc"] == "not reproduced"
    assert verdicts(v, auroc=(0.95,))["auroc"] == "inconclusive"  # one seed
    assert verdicts(v, auroc=(0.6, 0.95, 0.75))["auroc"] == "inconclusive"  # interval spans 0.75


def test_rules_are_declared_with_reasons_and_quick_arms_differ():
    for name in ("beats_cot_sc", "wider_helps", "values_help", "evaluator_auroc",
                 "beats_best_of_k"):
        assert getattr(CFG, name).reason
    # quick has enough CoT samples that "matched to ToT's tokens" is not simply "all of them"
    assert PROFILES["quick"]["k_samples"] > 30


def official_pick_result(x: str, ys: list[str], rs: list[float]) -> float:
    """get_tot_game24_result from the authors' reply in
    github.com/princeton-nlp/tree-of-thought-llm/issues/22, transcribed
    (data['steps'][0]['x'] -> x, data['ys'] -> ys, infos r -> rs)."""
    xs = x.split()
    for i in range(len(ys)):
        y = ys[i]
        if "Answer: " in y:
            eq = y.split("Answer: ")[-1].split(" = ")[0]
            if sorted(re.findall(r"\d+", eq)) == sorted(xs):
                return rs[i]
    return 0


def test_authors_pick_hand_cases():
    x = "4 5 6 10"
    finals = ["5 * 6 = 30 (left: 4 10 30)\n", "Answer: (4 + 4) * 3 = 24\n",
              "Answer: 4 * (10 - 6) + 5 = 21\n", "Answer: (5 * 6) - (10 - 4) = 24\n"]
    assert [uses_input_numbers(x, y) for y in finals] == [False, False, True, True]
    assert authors_pick(x, finals) == 2  # the first that uses the numbers, though it is wrong
    assert authors_pick(x, finals[:2]) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Answer: ", "answer: ", "", "Steps: "]),
                          st.lists(st.sampled_from(["4", "5", "6", "10", "1", "+", "*", " "]),
                                   max_size=8),
                          st.sampled_from([" = 24", " = 21", "=24", ""]), st.booleans()),
                min_size=0, max_size=5))
def test_authors_pick_equals_the_official_evaluation(finals):
    x = "4 5 6 10"
    ys = [f"1 + 1 = 2 (left: 2 4 5)\n{p}{''.join(body)}{rhs}\n" for p, body, rhs, _ in finals]
    rs = [float(ok) for *_, ok in finals]
    i = authors_pick(x, ys)
    assert (rs[i] if i is not None else 0) == official_pick_result(x, ys, rs)


def test_seed_line_is_readable():
    info = {"seed": 2, "model": "tiny-abc", "auroc_heldout_3": 0.712345, "auroc_heldout_2": 0.5,
            "seconds": 123.4}
    assert seed_line(info) == "seed 2 results: auroc_heldout_3: 0.7123, auroc_heldout_2: 0.5 (123s)"
