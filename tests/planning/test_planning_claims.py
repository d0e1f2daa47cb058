"""Every planning claim fed synthetic per-problem results where the paper's statement is
false, true, or cannot be decided (too few problems, a model that learned nothing, words the
model cannot write, a planner that did not finish)."""

import random

import pytest

from neurips23.planning.config import PlanningConfig
from neurips23.planning.reproduce import (
    autonomous_claim,
    backprompt_claim,
    heuristic_claim,
    obfuscation_claim,
)

CFG = PlanningConfig()


def bools(k: int, n: int, seed: int = 0) -> list[bool]:
    """n outcomes with exactly k successes, in a random order."""
    xs = [True] * k + [False] * (n - k)
    random.Random(seed).shuffle(xs)
    return xs


# ------------------------------------------------------------------ autonomous


def test_autonomous_mostly_invalid():
    copy = bools(0, 100)
    assert autonomous_claim(bools(20, 100), copy, CFG.autonomous_rule).verdict == "reproduced"
    assert autonomous_claim(bools(90, 100), copy, CFG.autonomous_rule).verdict == \
        "not reproduced"
    assert autonomous_claim(bools(3, 10), copy[:10], CFG.autonomous_rule).verdict == \
        "inconclusive"  # too few problems
    learned_nothing = autonomous_claim(bools(0, 100), copy, CFG.autonomous_rule)
    assert learned_nothing.verdict == "inconclusive" and "learned" in learned_nothing.ours
    # no better than copying the example's plan: learned nothing about planning
    assert autonomous_claim(bools(10, 100), bools(10, 100, 1),
                            CFG.autonomous_rule).verdict == "inconclusive"


# ------------------------------------------------------------------ obfuscation


def obf(bw, mystery, random_, unwritable=None):
    return obfuscation_claim(bw, bools(0, len(bw)), {"mystery_blocksworld": mystery,
                                                     "random_blocksworld": random_},
                             unwritable or {}, CFG.obfuscation_retained, CFG.obfuscation_rule)


def test_obfuscation_collapse():
    bw = bools(60, 100)
    assert obf(bw, bools(2, 100), bools(0, 100)).verdict == "reproduced"
    assert obf(bw, list(bw), list(bw)).verdict == "not reproduced"  # nothing lost
    assert obf(bw, list(bw), bools(0, 100)).verdict == "mixed"  # one vocabulary only
    assert obf(bw[:10], bools(0, 10), bools(0, 10)).verdict == "inconclusive"  # too few
    assert obf(bools(0, 100), bools(0, 100), bools(0, 100)).verdict == "inconclusive"
    # zero by construction (the model cannot write the words) is not a finding
    c = obf(bw, bools(0, 100), bools(0, 100),
            {"mystery_blocksworld": ["attack", "feast"], "random_blocksworld": []})
    assert c.verdict == "inconclusive" and "not testable" in c.ours and "attack" in c.ours


# ------------------------------------------------------------------ back-prompting


def paired(n_both: int, n_fb: int, n_rs: int, n_none: int):
    fb = [True] * n_both + [True] * n_fb + [False] * n_rs + [False] * n_none
    rs = [True] * n_both + [False] * n_fb + [True] * n_rs + [False] * n_none
    return fb, rs


def test_backprompting_feedback_beats_resampling_at_equal_plans():
    rule = CFG.backprompt_rule
    fb, rs = paired(10, 25, 2, 13)
    c = backprompt_claim(fb, rs, 15, rule, first_round=bools(5, 50))
    assert c.verdict == "reproduced" and "McNemar" in c.ours
    fb, rs = paired(10, 2, 25, 13)
    assert backprompt_claim(fb, rs, 15, rule).verdict == "not reproduced"
    fb, rs = paired(3, 2, 1, 2)
    assert backprompt_claim(fb, rs, 15, rule).verdict == "inconclusive"  # 8 problems
    assert backprompt_claim([False] * 50, [False] * 50, 15, rule).verdict == "inconclusive"


def test_more_rounds_alone_is_not_evidence_for_feedback():
    """Success rising from round 1 to round 15 is what resampling gives too: feedback that
    adds nothing over resampling never reads "reproduced"."""
    fb, rs = paired(30, 0, 0, 20)
    c = backprompt_claim(fb, rs, 15, CFG.backprompt_rule, first_round=bools(2, 50))
    assert c.verdict != "reproduced"


# ------------------------------------------------------------------ heuristic mode


def efforts(n: int, model: float, empty: float, random_: float, seed: int = 0) -> dict:
    rng = random.Random(seed)
    return {k: [max(0.0, m + rng.gauss(0, 2)) for _ in range(n)]
            for k, m in (("model", model), ("empty", empty), ("random", random_))}


def test_heuristic_seed_cuts_search():
    rule, drop = CFG.heuristic_rule, CFG.heuristic_max_dropped
    assert heuristic_claim(efforts(60, 3, 12, 18), "lpg", rule, drop).verdict == "reproduced"
    assert heuristic_claim(efforts(60, 20, 12, 18), "lpg", rule, drop).verdict == \
        "not reproduced"
    assert heuristic_claim(efforts(60, 15, 12, 18), "lpg", rule, drop).verdict == "mixed"
    assert heuristic_claim(efforts(8, 3, 12, 18), "lpg", rule, drop).verdict == "inconclusive"


@pytest.mark.parametrize("failed_fraction", [0.3, 1.0])
def test_heuristic_planner_failures_are_inconclusive_never_refutations(failed_fraction):
    e = efforts(60, 3, 12, 18)
    for i in range(int(failed_fraction * 60)):
        e["model"][i] = float("nan")  # the planner crashed on these seeds
    c = heuristic_claim(e, "lpg", CFG.heuristic_rule, CFG.heuristic_max_dropped)
    assert c.verdict == "inconclusive" and "dropped" in c.ours
