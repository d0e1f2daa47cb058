"""Every claim's rule on synthetic results where the paper's statement is true, false, and
underpowered; and the precondition that direct prediction beats the marginal predictor."""

import numpy as np
import pytest

from neurips23.locality.config import LocalityConfig
from neurips23.locality.reproduce import make_claims

PAPER = {"direct": 0.164, "scaffolded": 0.126, "free": 0.118, "marginal": 0.35}
"""Error sizes (sd) whose squares are about the paper's MSEs: 0.027, 0.016, 0.014, ~0.1."""


def synth(n_pairs=200, local=None, wrong=None, seed=0):
    """Rows for a local_geom and a wrong_local_geom model: estimate = truth + N(0, sd), with
    `same_as` entries copying another estimator's error plus a little noise."""
    rng = np.random.default_rng(seed)
    local = {**PAPER, "negative": ("same_as", "direct"), **(local or {})}
    wrong = {"direct": 0.27, "scaffolded": ("same_as", "direct"), "free": ("same_as", "direct"),
             "negative": ("same_as", "direct"), "marginal": 0.35, **(wrong or {})}
    rows = []
    for cond, spec in (("local_geom", local), ("wrong_local_geom", wrong)):
        for pair in range(n_pairs):
            seed_, p = divmod(pair, 10)
            for _ in range(4):
                truth = rng.uniform(0.05, 0.95)
                row = {"condition": cond, "seed": seed_, "pair": p, "truth": truth}
                errs = {}
                for e in ("direct", "scaffolded", "free", "marginal", "negative"):
                    sd = spec[e]
                    errs[e] = (errs[sd[1]] + rng.normal(0, 0.005) if isinstance(sd, tuple)
                               else rng.normal(0, sd))
                    row[e] = truth + errs[e]
                rows.append(row)
    return rows


def adjacent(learned=True):
    """Direct prediction on trained-on pairs per condition: learned (error sd 0.1 against the
    marginal's 0.35) or not (direct no better than the marginal)."""
    rng = np.random.default_rng(7)
    out = {}
    for cond in ("local_geom", "wrong_local_geom"):
        rows = [{"truth": t, "marginal": t + rng.normal(0, 0.35), "direct": t + rng.normal(0, 0.1)}
                for t in rng.uniform(0.05, 0.95, 40)]
        if not learned and cond == "wrong_local_geom":
            for r in rows:  # direct prediction is the marginal: nothing learned
                r["direct"] = r["marginal"]
        out[cond] = rows
    return out


def verdict(claims, statistic, condition="local_geom"):
    [c] = [c for c in claims if c.statistic == f"{statistic}, {condition}"]
    return c.verdict


CLAIMS = {
    "scaffold_beats_direct": ("MSE(direct) - MSE(scaffolded)", "local_geom",
                              {"local": {"scaffolded": 0.25}}),
    "free_beats_direct": ("MSE(direct) - MSE(free)", "local_geom", {"local": {"free": 0.25}}),
    "free_matches_scaffold": ("MSE(free) - MSE(scaffolded)", "local_geom", {"local": {"free": 0.25}}),
    "negative_does_not_help": ("MSE(direct) - MSE(negative)", "local_geom",
                               {"local": {"negative": 0.08}}),
    "negative_hurts": ("MSE(direct) - MSE(negative)", "local_geom",
                       {"local": {"negative": 0.3}}),
    "wrong_local_smaller_gap": ("local gap - wrong-local gap", "wrong_local_geom",
                                {"wrong": {"scaffolded": 0.08}}),
}


@pytest.fixture(scope="module")
def paper_true():
    return make_claims(LocalityConfig(), synth(), adjacent())


@pytest.mark.parametrize("name", CLAIMS)
def test_claim_reproduced_when_the_paper_is_right(paper_true, name):
    stat, cond, _ = CLAIMS[name]
    assert verdict(paper_true, stat, cond) == "reproduced"


@pytest.mark.parametrize("name", CLAIMS)
def test_claim_not_reproduced_when_the_paper_is_wrong(name):
    stat, cond, change = CLAIMS[name]
    claims = make_claims(LocalityConfig(), synth(**change), adjacent())
    assert verdict(claims, stat, cond) == "not reproduced"


@pytest.mark.parametrize("name", CLAIMS)
def test_claim_inconclusive_when_underpowered(name):
    stat, cond, _ = CLAIMS[name]
    # 20 pairs, but in 2 worlds: fewer than min_n = 3 independent worlds
    claims = make_claims(LocalityConfig(), synth(n_pairs=20), adjacent())
    assert verdict(claims, stat, cond) == "inconclusive"


def test_a_constant_estimator_does_not_pass_as_an_unhelpful_negative_scaffold():
    # the negative scaffold returns 0.5 whatever the truth: much worse than direct, which the
    # one-sided rule (gap < 0.005) read as "does not help"
    rows = synth()
    for r in rows:
        if r["condition"] == "local_geom":
            r["negative"] = 0.5
    assert verdict(make_claims(LocalityConfig(), rows, adjacent()),
                   "MSE(direct) - MSE(negative)") == "not reproduced"


def test_a_wrong_local_model_that_learned_nothing_is_not_evidence():
    # wrong-local direct, scaffolded and free all at the marginal: no gap, because no learning
    rows = synth(wrong={"direct": 0.35, "scaffolded": ("same_as", "direct")})
    claims = make_claims(LocalityConfig(), rows, adjacent(learned=False))
    [c] = [c for c in claims if c.statistic == "local gap - wrong-local gap, wrong_local_geom"]
    assert c.verdict == "inconclusive" and "learned its adjacent pairs" in c.ours
    # the same rows with a model that did learn its pairs: the claim is decided
    assert verdict(make_claims(LocalityConfig(), rows, adjacent()), "local gap - wrong-local gap",
                   "wrong_local_geom") == "reproduced"


def test_everything_inconclusive_when_the_marginal_is_as_good_as_direct():
    rows = synth(local={"marginal": 0.15})  # MSE 0.023 vs direct 0.027: ratio < 1.25
    claims = make_claims(LocalityConfig(), rows)
    assert claims and all(c.verdict == "inconclusive" for c in claims)
    assert all("precondition not met" in c.ours for c in claims)


def test_rules_are_config_fields_with_reasons():
    cfg = LocalityConfig()
    for name in CLAIMS:
        if name == "negative_hurts":
            continue
        rule = getattr(cfg, name)
        assert rule.reason and rule.min_n == 3
    assert cfg.free_matches_scaffold.direction == "within" and cfg.free_matches_scaffold.margin == 0.005
    assert cfg.negative_does_not_help.direction == "within"


def test_bootstrap_mean_agrees_with_the_core():
    from neurips23.core.stats import bootstrap_ci
    from neurips23.locality.reproduce import bootstrap_mean

    xs = list(np.random.default_rng(1).normal(0.01, 0.03, 60))
    est, lo, hi = bootstrap_mean(xs)
    ref = bootstrap_ci(xs, lambda d: float(np.mean(d)), n_boot=4000)
    assert est == pytest.approx(ref[0])
    assert lo == pytest.approx(ref[1], abs=0.001) and hi == pytest.approx(ref[2], abs=0.001)
