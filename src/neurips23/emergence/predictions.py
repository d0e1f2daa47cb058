"""The statistics behind the paper's three predictions (§3) and its model (§2), computed on the
sweep's table: (1) the same outputs look sharp under exact match and smooth under token edit
distance; (2) a larger test set resolves small models' exact match above chance, where the
paper's model predicts it; (3) exact match falls geometrically and edit distance linearly with
target length L; the model: exact match ≈ exp(−L·CE_token), with per-token CE falling smoothly
with size. The verdicts on these statistics are in `reproduce.py`.
"""

from __future__ import annotations

import math

import numpy as np

from neurips23.core.stats import wilson_interval
from neurips23.emergence import metrics as M
from neurips23.emergence.arithmetic import get_task
from neurips23.emergence.mirage_model import fit_geometric, fit_linear, fit_power_law
from neurips23.emergence.sweep import SweepResult, curve, widths
from neurips23.errors import ConfigError


def emergence_index(score: float) -> float:
    """A bounded, order-keeping form of the emergence score s (Srivastava et al. Eq. 1):
    1 − 1/s for a rising curve (s ≥ 1 always holds there), 0 for a flat or falling one.

    1/s is the typical (median) step as a share of the whole rise, so a curve rising in k equal
    steps scores 1 − 1/k and a single jump among flat steps (s = ∞) scores 1. Unlike s, the
    index has a mean and an interval over seeds when some curve jumps from exact zeros.
    """
    return 0.0 if score < 1 else 1.0 - 1.0 / score


def claim_lengths(tasks: list[str], target_length: int) -> dict[str, int]:
    """The target length L each task's claims are tested at: `target_length`, or each task's
    full answer width when it is 0 (declared in the config, never chosen from the results)."""
    out = {}
    for task in tasks:
        width = get_task(task).answer_width
        if target_length > width:
            raise ConfigError(f"target_length {target_length} exceeds {task}'s answer width "
                              f"{width}; use 0 for each task's full width")
        out[task] = width if target_length <= 0 else target_length
    return out


def learned(res: SweepResult, task: str, seeds: list[int], member: str,
            confidence: float = 0.95) -> bool:
    """Whether `member` beats the best constant answer on the first answer token (L = 1, large
    test set, hits pooled over `seeds`) with its whole Wilson interval."""
    cells = [res.table[(task, s, member, 1, "large")] for s in seeds]
    lo, _ = wilson_interval(sum(c["hits"] for c in cells), sum(c["n"] for c in cells), confidence)
    return lo > res.chance[(task, 1, "large")]


# --------------------------------------------------------------------------- prediction 1
def metric_swap(res: SweepResult, task: str, L: int) -> dict:
    """Per seed: the emergence scores (and indices) of exact match and of token edit distance
    (negated, so better is up) across the family on the standard test set at target length L,
    and the largest member's exact match on the large test set."""
    seeds = res.cfg.seeds
    em = [M.emergence_score(curve(res, task, s, L, "exact_match", "standard")) for s in seeds]
    ted = [M.emergence_score(-np.asarray(curve(res, task, s, L, "token_edit_distance",
                                               "standard"))) for s in seeds]
    diff = [emergence_index(a) - emergence_index(b) for a, b in zip(em, ted, strict=True)]
    top = [res.table[(task, s, res.cfg.family[-1], L, "large")]["exact_match"] for s in seeds]
    return {"task": task, "L": L, "em_score": em, "ted_score": ted, "index_difference": diff,
            "largest_member_em": top}


def metric_swap_by_length(res: SweepResult) -> list[dict]:
    """`metric_swap` at every target length of every task (reported; the claim uses one L)."""
    return [metric_swap(res, task, L) for task, width in widths(res).items()
            for L in range(1, width + 1)]


# --------------------------------------------------------------------------- prediction 2
def larger_test_set(res: SweepResult, task: str, L: int, members: list[str]) -> list[dict]:
    """For each of `members`: exact matches at L pooled over seeds on the standard and on the
    large test set, the two chance levels, and the paper's prediction exp(−L·CE_token)."""
    rows = []
    for m in members:
        std = [res.table[(task, s, m, L, "standard")] for s in res.cfg.seeds]
        big = [res.table[(task, s, m, L, "large")] for s in res.cfg.seeds]
        rows.append({
            "task": task, "L": L, "model": m, "params": res.params[m],
            "standard_hits": sum(c["hits"] for c in std), "standard_n": sum(c["n"] for c in std),
            "hits": sum(c["hits"] for c in big), "n": sum(c["n"] for c in big),
            "chance_best_constant": res.chance[(task, L, "large")], "chance_uniform": 10.0**-L,
            "predicted": float(np.mean([math.exp(-L * c["per_token_ce"]) for c in big])),
        })
    return rows


# --------------------------------------------------------------------------- prediction 3
def length_fits(res: SweepResult, min_hits: int, confidence: float = 0.95) -> list[dict]:
    """Fits of log exact match and of token edit distance against L (large test set), one per
    (task, seed, member) that learned the task (beats the best constant answer at L = 1) and
    has at least `min_hits` exact matches at every L (so log exact match is measured)."""
    fits = []
    for task, width in widths(res).items():
        lengths = list(range(1, width + 1))
        for s in res.cfg.seeds:
            for m in res.cfg.family:
                cells = [res.table[(task, s, m, L, "large")] for L in lengths]
                if min(c["hits"] for c in cells) < max(min_hits, 1):
                    continue
                if not learned(res, task, [s], m, confidence):
                    continue
                em = [c["exact_match"] for c in cells]
                ted = [c["token_edit_distance"] for c in cells]
                g, lin = fit_geometric(lengths, em), fit_linear(lengths, ted)
                fits.append({"task": task, "seed": s, "model": m, "em": em, "ted": ted,
                             "log_em_r2": g.r2, "log_em_slope": g.slope, "ted_r2": lin.r2,
                             "ted_slope": lin.slope})
    return fits


# --------------------------------------------------------------------------- the model
def model_check(res: SweepResult) -> dict:
    """Measured exact match vs exp(−L·CE_token) at every (task, seed, member, L) on the large
    test set; per task and seed, per-token CE (full answer) against size: Spearman ρ, the share
    of CE's whole drop taken by its largest step between adjacent sizes, and a power-law fit."""
    from scipy.stats import spearmanr

    points = [{"task": k[0], "seed": k[1], "model": k[2], "L": k[3],
               "measured": v["exact_match"], "predicted": math.exp(-k[3] * v["per_token_ce"])}
              for k, v in res.table.items() if k[4] == "large"]
    measured = np.asarray([p["measured"] for p in points])
    predicted = np.asarray([p["predicted"] for p in points])
    out = {"points": points, "n_points": len(points),
           "pearson_r": pearson(measured, predicted),
           "mean_abs_error": float(np.mean(np.abs(measured - predicted)))}
    n = [res.params[m] for m in res.cfg.family]
    per_task = {}
    for task, width in widths(res).items():
        per_seed = []
        for s in res.cfg.seeds:
            c = np.asarray(curve(res, task, s, width, "per_token_ce", "large"))
            drop = float(c[0] - c.min())
            per_seed.append({
                "seed": s, "ce": c.tolist(), "spearman_rho": _spearman(spearmanr, n, c),
                "ce_drop": drop,
                # share of CE's drop (smallest member to its minimum) taken by the largest step
                "largest_step_share": float(max(-np.diff(c)) / drop) if drop > 0 else math.nan,
            })
        ce = np.mean([p["ce"] for p in per_seed], axis=0)
        em = np.mean([curve(res, task, s, width, "exact_match", "large") for s in res.cfg.seeds],
                     axis=0)
        law = fit_power_law(n, ce)
        per_task[task] = {
            "ce": ce.tolist(), "power_law_alpha": law.alpha, "power_law_log_c": law.log_c,
            "power_law_r2": law.r2, "ce_emergence_score": M.emergence_score(-ce),
            "em_emergence_score": M.emergence_score(em), "per_seed": per_seed,
        }
    out["per_task"] = per_task
    return out


def pearson(x, y) -> float:
    """Pearson correlation; nan when either side is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _spearman(spearmanr, x, y) -> float:
    if np.ptp(np.asarray(y, dtype=float)) == 0:
        return math.nan
    return float(spearmanr(x, y)[0])
