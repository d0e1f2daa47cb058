"""Every claim of the emergence reproduction fed synthetic sweeps where the paper's statement is
true (the paper's own model, §2), false, and underpowered; and a family that learned nothing,
which no claim may call reproduced."""

from __future__ import annotations

import math
import random

import pytest

from neurips23.emergence.config import EmergenceConfig
from neurips23.emergence.predictions import claim_lengths, emergence_index, model_check
from neurips23.emergence.reproduce import (
    claim_ce_smooth,
    claim_em_from_ce,
    claim_larger_test_set,
    claim_metric_swap,
    claim_target_length,
    make_claims,
)
from neurips23.emergence.sweep import SweepResult
from neurips23.errors import ConfigError

TASK, WIDTH = "mult_2x2", 4
# the paper's model: per-token CE falls smoothly with size; p = exp(−CE) per token
PAPER_CE = [3.0, 2.5, 2.0, 1.5, 0.6, 0.15]


def sweep(em, ted, ce, *, members: int = 6, seeds=(0, 1, 2), n_std: int = 100, factor: int = 20,
          chance=lambda L: 10.0**-L, **cfg) -> tuple[SweepResult, EmergenceConfig]:
    """A sweep table of one task from functions em/ted/ce(seed, member index, L); exact-match
    counts are the rounded expectations, so the standard test set rounds small rates to 0."""
    family = [f"d{16 * (i + 1)}l1" for i in range(members)]
    config = EmergenceConfig(tasks=[TASK], family=family, seeds=list(seeds), test_size=n_std,
                             large_test_factor=factor, **cfg)
    table = {}
    for s in seeds:
        for i, m in enumerate(family):
            for L in range(1, WIDTH + 1):
                for split, n in (("standard", n_std), ("large", n_std * factor)):
                    hits = round(n * em(s, i, L))
                    table[(TASK, s, m, L, split)] = {
                        "exact_match": hits / n, "hits": hits, "n": n,
                        "token_edit_distance": ted(s, i, L), "per_token_accuracy": 0.0,
                        "per_token_ce": ce(s, i, L)}
    res = SweepResult(config, {m: 10 ** (4 + i) for i, m in enumerate(family)}, table, [], 0.0,
                      0.0, chance={(TASK, L, sp): chance(L) for L in range(1, WIDTH + 1)
                                   for sp in ("standard", "large")})
    return res, config


def paper_model(ces=PAPER_CE, jitter: float = 0.02, **kw):
    """EM = p^L, TED = L(1 − p), CE per token as given (seed s scales it by 1 + jitter·s)."""
    def ce(s, i, L):
        return ces[i] * (1 + jitter * s)

    def em(s, i, L):
        return math.exp(-ce(s, i, L)) ** L

    def ted(s, i, L):
        return L * (1 - math.exp(-ce(s, i, L)))

    return sweep(em, ted, ce, members=len(ces), **kw)


def learned_nothing(**kw):
    """Uniform digits whatever the size: CE = ln 10 plus noise, EM = 10^-L, TED = 0.9 L."""
    rng = random.Random(0)
    noise = {(s, i): rng.uniform(-0.01, 0.01) for s in range(5) for i in range(6)}
    return sweep(lambda s, i, L: 10.0**-L, lambda s, i, L: 0.9 * L,
                 lambda s, i, L: math.log(10) + noise[(s, i)], **kw)


def test_emergence_index_is_a_bounded_monotone_form_of_the_score():
    assert emergence_index(math.inf) == 1.0
    assert emergence_index(5.0) == pytest.approx(0.8)  # five equal steps
    assert emergence_index(0.0) == 0.0 and emergence_index(-3.0) == 0.0
    assert emergence_index(2.0) < emergence_index(3.0) < emergence_index(math.inf)


def test_tested_length_is_declared_not_chosen():
    assert claim_lengths(["mult_2x2", "add_4x4"], 0) == {"mult_2x2": 4, "add_4x4": 5}
    assert claim_lengths(["mult_2x2", "add_4x4"], 3) == {"mult_2x2": 3, "add_4x4": 3}
    with pytest.raises(ConfigError, match="target_length 5 exceeds mult_2x2"):
        claim_lengths(["mult_2x2"], 5)


# --------------------------------------------------------------------------- P1
def test_metric_swap_true_false_underpowered():
    res, cfg = paper_model()
    assert claim_metric_swap(res, cfg, {TASK: 4}).verdict == "reproduced"
    # false: exact match rises in even steps while edit distance on the outputs jumps once
    res, cfg = sweep(lambda s, i, L: 0.1 * (i + 1) + 0.01 * s,
                     lambda s, i, L: 0.5 if i == 5 else 4.0 - 0.001 * i,
                     lambda s, i, L: 1.0)
    assert claim_metric_swap(res, cfg, {TASK: 4}).verdict == "not reproduced"
    res, cfg = paper_model(seeds=(0,))
    claim = claim_metric_swap(res, cfg, {TASK: 4})
    assert claim.verdict == "inconclusive" and "1 seeds" in claim.ours


def test_metric_swap_needs_exact_match_to_rise():
    res, cfg = paper_model(ces=[3.0, 2.8, 2.6, 2.4, 2.2, 2.0])  # largest EM at L=4 ≈ 3e-4
    claim = claim_metric_swap(res, cfg, {TASK: 4})
    assert claim.verdict == "inconclusive" and "precondition" in claim.ours


# --------------------------------------------------------------------------- P2
SMALL_OK = [1.2, 1.0, 0.9, 0.5, 0.3, 0.1]  # small members: p ≈ 0.30-0.41 per digit


def test_larger_test_set_true_false_underpowered():
    res, cfg = paper_model(ces=SMALL_OK, jitter=0.0)
    claim, rows = claim_larger_test_set(res, cfg, {TASK: 4})
    assert claim.verdict == "reproduced", claim.ours
    assert [r["standard_hits"] for r in rows][0] < [r["hits"] for r in rows][0]
    # false: the best constant answer gets 10% right at every L, the small members far less
    res, cfg = paper_model(ces=SMALL_OK, jitter=0.0, chance=lambda L: 0.1)
    assert claim_larger_test_set(res, cfg, {TASK: 4})[0].verdict in ("not reproduced", "mixed")
    # false: exact match ten times what exp(−L·CE) predicts
    res, cfg = sweep(lambda s, i, L: min(1.0, 10 * math.exp(-SMALL_OK[i]) ** L),
                     lambda s, i, L: L * 0.5, lambda s, i, L: SMALL_OK[i])
    claim, _ = claim_larger_test_set(res, cfg, {TASK: 4})
    assert claim.verdict in ("not reproduced", "mixed")
    assert "vs exp(−L·CE): " in claim.ours and "→ not reproduced" in claim.ours
    # underpowered: 2 seeds × 20 problems per member
    res, cfg = paper_model(ces=SMALL_OK, jitter=0.0, seeds=(0, 1), n_std=10, factor=2)
    assert claim_larger_test_set(res, cfg, {TASK: 4})[0].verdict == "inconclusive"


def test_larger_test_set_bonferroni_widens_the_intervals():
    res, cfg = paper_model(ces=SMALL_OK, jitter=0.0)
    plain = EmergenceConfig(**{**cfg.__dict__, "correction": "none"})
    _, corrected = claim_larger_test_set(res, cfg, {TASK: 4})
    _, uncorrected = claim_larger_test_set(res, plain, {TASK: 4})
    for a, b in zip(corrected, uncorrected, strict=True):
        assert a["ci"][0] < b["ci"][0] and a["ci"][1] > b["ci"][1]


# --------------------------------------------------------------------------- P3
def test_target_length_true_false_underpowered():
    res, cfg = paper_model()
    claim, fits = claim_target_length(res, cfg)
    assert claim.verdict == "reproduced", claim.ours
    # members that beat chance at L=1 and have ≥ 5 hits at every L (d64l1: only in seed 0)
    assert sorted((f["model"], f["seed"]) for f in fits) == [
        ("d64l1", 0), ("d80l1", 0), ("d80l1", 1), ("d80l1", 2), ("d96l1", 0), ("d96l1", 1),
        ("d96l1", 2)]
    # false: exact match falls linearly in L and edit distance grows geometrically
    res, cfg = sweep(lambda s, i, L: 0.9 - 0.2 * L + 0.01 * i, lambda s, i, L: 0.05 * 3.0**L,
                     lambda s, i, L: 0.3)
    assert claim_target_length(res, cfg)[0].verdict == "not reproduced"
    # underpowered: one seed, one member fits
    res, cfg = paper_model(ces=[3.0, 3.0, 3.0, 3.0, 3.0, 0.15], seeds=(0,))
    claim, fits = claim_target_length(res, cfg)
    assert len(fits) == 1 and claim.verdict == "inconclusive"


# --------------------------------------------------------------------------- the model
def test_em_from_ce_true_false_underpowered():
    res, cfg = paper_model()
    assert claim_em_from_ce(res, cfg, model_check(res)).verdict == "reproduced"
    # false: exact match falls where exp(−L·CE) rises
    res, cfg = sweep(lambda s, i, L: 0.9 ** (L + 5 - i) * (0.4 if i == 5 else 1.0),
                     lambda s, i, L: 0.5 * L, lambda s, i, L: PAPER_CE[5 - i])
    assert claim_em_from_ce(res, cfg, model_check(res)).verdict == "not reproduced"
    res, cfg = paper_model(ces=PAPER_CE[3:], seeds=(0,))  # 3 models < min_n
    assert claim_em_from_ce(res, cfg, model_check(res)).verdict == "inconclusive"


def test_ce_smooth_true_false_underpowered():
    res, cfg = paper_model()
    assert claim_ce_smooth(res, cfg, model_check(res)).verdict == "reproduced"
    # false: CE is flat and then jumps (a grokking-like transition in the model itself)
    res, cfg = paper_model(ces=[2.0, 1.98, 1.96, 1.94, 0.3, 0.28])
    claim = claim_ce_smooth(res, cfg, model_check(res))
    assert claim.verdict in ("not reproduced", "mixed") and "largest step: " in claim.ours
    # false: CE rises with size
    res, cfg = paper_model(ces=PAPER_CE[::-1])
    assert claim_ce_smooth(res, cfg, model_check(res)).verdict == "not reproduced"
    res, cfg = paper_model(seeds=(0,))
    assert claim_ce_smooth(res, cfg, model_check(res)).verdict == "inconclusive"


def test_a_family_that_learned_nothing_reproduces_nothing():
    for chance in (lambda L: 10.0**-L, lambda L: 1.2 * 10.0**-L):
        res, cfg = learned_nothing(chance=chance)
        claims, _ = make_claims(res, cfg)
        assert len(claims) == 5
        assert all(c.verdict != "reproduced" for c in claims), [(c.paper, c.verdict) for c in claims]


def test_the_papers_model_reproduces_every_claim_it_can():
    res, cfg = paper_model(ces=SMALL_OK)
    verdicts = [c.verdict for c in make_claims(res, cfg)[0]]
    assert verdicts[2:] == ["reproduced"] * 3  # P3 and the model
