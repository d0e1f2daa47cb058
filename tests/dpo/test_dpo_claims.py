"""Each DPO claim fed synthetic frontiers where the paper's statement is false, true and
underpowered; DPO's best checkpoint is chosen on validation prompts, from DPO points only."""

import random

import pytest

from neurips23.dpo.config import DPOConfig
from neurips23.dpo.frontier import frontier_by_seed, select_point
from neurips23.dpo.reproduce import dominance_claim, kl_order_claim, summarize

KLS = (0.3, 0.8, 1.5, 3.5)


def _pt(method, setting, seed, step, reward, kl, val_reward=None, val_kl=None):
    return {"method": method, "setting": setting, "seed": seed, "step": step, "reward": reward,
            "kl": kl, "val_reward": reward if val_reward is None else val_reward,
            "val_kl": kl if val_kl is None else val_kl, "reward_se": 0.01, "kl_se": 0.01}


def _points(n_seeds, dpo, base, noise=0.002, seed=0):
    """SFT at 0.5; DPO and both baselines with rewards dpo(kl), base(kl) plus seed noise."""
    rng = random.Random(seed)
    out = []
    for s in range(n_seeds):
        out.append(_pt("SFT", "-", s, 0, 0.5, 0.0))
        for i, kl in enumerate(KLS):
            out.append(_pt("DPO", "beta=0.1", s, 40 * (i + 1), dpo(kl) + rng.gauss(0, noise), kl))
            for m in ("Preferred-FT", "Unlikelihood"):
                out.append(_pt(m, "lr=0.001", s, 40 * (i + 1), base(kl) + rng.gauss(0, noise), kl))
    return out


RULE = DPOConfig().dominance
GRID = [0.5, 1.0, 2.0, 4.0]


def verdict(points, base="Preferred-FT"):
    return dominance_claim(points, base, GRID, RULE)[0].verdict


def test_dominance_true_false_underpowered():
    def dpo(kl):
        return 0.5 + 0.1 * kl

    def base(kl):
        return 0.5 + 0.05 * min(kl, 0.8)

    assert verdict(_points(3, dpo, base)) == "reproduced"
    assert verdict(_points(3, lambda kl: 0.5 + 0.02 * kl, lambda kl: 0.7)) == "not reproduced"
    assert verdict(_points(2, dpo, base)) == "inconclusive"  # fewer seeds than the rule's min_n
    assert verdict(_points(3, dpo, base, noise=0.3)) != "reproduced"  # seeds disagree wildly
    # better at small KL only: dominance fails somewhere on the grid
    mixed = _points(3, lambda kl: 0.7 if kl < 1 else 0.55, lambda kl: 0.5 + 0.1 * kl)
    assert verdict(mixed) == "mixed"


def test_a_dpo_that_learned_nothing_never_reads_reproduced():
    """DPO sits on π_SFT while the baseline fell below it: a difference > 0 at no KL budget."""
    flat = _points(3, lambda kl: 0.5, lambda kl: 0.35)
    claim, rows = dominance_claim(flat, "Preferred-FT", GRID, RULE)
    assert claim.verdict != "reproduced"
    # the baseline may stop at π_SFT; DPO may not count π_SFT as its own point
    assert all(abs(r["diff"]) < 0.02 for r in rows)
    noisy = _points(3, lambda kl: 0.5, lambda kl: 0.3, noise=0.02)  # DPO within noise of SFT
    assert dominance_claim(noisy, "Preferred-FT", GRID, RULE)[0].verdict != "reproduced"


def test_selection_uses_validation_not_test():
    pts = [_pt("SFT", "-", 0, 0, 0.5, 0.0),
           _pt("DPO", "a", 0, 40, reward=0.9, kl=0.5, val_reward=0.6),   # lucky on test
           _pt("DPO", "b", 0, 80, reward=0.7, kl=0.6, val_reward=0.75),
           _pt("DPO", "c", 0, 120, reward=0.95, kl=3.0, val_reward=0.9, val_kl=3.0)]
    assert select_point(pts, "DPO", 1.0)["setting"] == "b"
    assert frontier_by_seed(pts, "DPO", 1.0) == {0: 0.7}
    assert select_point(pts, "DPO", 0.1) is None  # no DPO point; π_SFT is not DPO's
    assert select_point(pts, "DPO", 0.1, include_sft=True)["method"] == "SFT"


def _kl_points(n_seeds, kls_by_beta, noise=0.01):
    rng = random.Random(1)
    return [_pt("DPO", f"beta={b:g}", s, 160, 0.8, kl + rng.gauss(0, noise))
            for s in range(n_seeds) for b, kl in kls_by_beta.items()]


def test_kl_order_true_false_underpowered():
    rule = DPOConfig().kl_order
    falls = {0.1: 18.0, 0.5: 6.0, 2.0: 1.5, 5.0: 0.5}
    assert kl_order_claim(_kl_points(3, falls), list(falls), 160, rule).verdict == "reproduced"
    rises = {0.1: 0.5, 0.5: 1.5, 2.0: 6.0, 5.0: 18.0}
    assert kl_order_claim(_kl_points(3, rises), list(rises), 160, rule).verdict == "not reproduced"
    assert kl_order_claim(_kl_points(2, falls), list(falls), 160, rule).verdict == "inconclusive"
    flat = {0.1: 1.0, 0.5: 1.0}
    assert kl_order_claim(_kl_points(3, flat, noise=0.3), list(flat), 160, rule).verdict \
        == "inconclusive"


def test_summary_says_ppo_is_not_run_and_fills_tables():
    pts = _points(3, lambda kl: 0.5 + 0.1 * kl, lambda kl: 0.51)
    pts += [_pt("Best-of-N", "N=4", s, 0, 0.7, 0.64) for s in range(3)]
    cfg = DPOConfig(betas=[0.1], kl_grid=GRID)  # 160 training steps, the default
    metrics, claims, tables = summarize(cfg, pts)
    ppo = [c for c in claims if "PPO" in c.paper]
    assert len(ppo) == 1 and ppo[0].verdict == "inconclusive" and "not run" in ppo[0].ours
    assert [c.verdict for c in claims[:2]] == ["reproduced", "reproduced"]
    frontier = next(iter(tables.values()))
    assert [r["KL ≤"] for r in frontier] == GRID and "DPO" in frontier[0]
    assert metrics["sft_reward"] == pytest.approx(0.5)
