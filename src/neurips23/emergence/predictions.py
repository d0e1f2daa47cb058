"""The paper's three predictions (§3) and its model (§2), computed on the sweep's table.

(1) the same outputs look sharp under exact match and smooth under token edit distance;
(2) a larger test set resolves small models' exact match above chance; (3) exact match falls
geometrically and edit distance linearly with target length L; the model: exact match
≈ exp(−L·CE_token), with per-token CE falling smoothly (a power law) with size.
"""

from __future__ import annotations

import math

import numpy as np

from neurips23.core.stats import wilson_interval
from neurips23.emergence import metrics as M
from neurips23.emergence.mirage_model import fit_geometric, fit_linear, fit_power_law
from neurips23.emergence.sweep import SweepResult, curve, widths


def prediction_1(res: SweepResult) -> dict:
    """Emergence scores of exact match vs token edit distance on the same outputs (standard
    test set), per task, seed and target length."""
    out: dict = {}
    for task, width in widths(res).items():
        per_L = {}
        for L in range(1, width + 1):
            em = [M.emergence_score(curve(res, task, s, L, "exact_match", "standard"))
                  for s in res.cfg.seeds]
            ted = [M.emergence_score(-np.asarray(curve(res, task, s, L, "token_edit_distance",
                                                       "standard"))) for s in res.cfg.seeds]
            per_L[L] = {"em_score": em, "ted_score": ted,
                        "em_sharper_fraction": float(np.mean([a > b for a, b in zip(em, ted,
                                                                                    strict=True)]))}
        out[task] = per_L
    return out


def prediction_2(res: SweepResult) -> dict:
    """Models with 0 exact matches on the standard test set: their exact match and Wilson CI
    on the larger test set, against chance 10^−L."""
    rows = []
    for task, width in widths(res).items():
        for L in range(1, width + 1):
            for s in res.cfg.seeds:
                for m in res.cfg.family:
                    std = res.table[(task, s, m, L, "standard")]
                    if std["hits"] > 0:
                        continue
                    big = res.table[(task, s, m, L, "large")]
                    lo, hi = wilson_interval(big["hits"], big["n"])
                    rows.append({"task": task, "L": L, "seed": s, "model": m,
                                 "params": res.params[m], "hits": big["hits"], "n": big["n"],
                                 "exact_match": big["exact_match"], "ci95": [lo, hi],
                                 "chance": 10.0**-L, "above_chance": lo > 10.0**-L})
    return {"zero_on_standard": len(rows),
            "above_chance_on_large": sum(r["above_chance"] for r in rows),
            "nonzero_on_large": sum(r["hits"] > 0 for r in rows), "rows": rows}


def prediction_3(res: SweepResult) -> dict:
    """Per model with 0.05 < EM(L=1) < 0.95: fit log EM and TED against L (large test set)."""
    fits = []
    for task, width in widths(res).items():
        lengths = list(range(1, width + 1))
        for s in res.cfg.seeds:
            for m in res.cfg.family:
                em = [res.table[(task, s, m, L, "large")]["exact_match"] for L in lengths]
                ted = [res.table[(task, s, m, L, "large")]["token_edit_distance"] for L in lengths]
                if not 0.05 < em[0] < 0.95 or min(em) <= 0:
                    continue
                g, lin = fit_geometric(lengths, em), fit_linear(lengths, ted)
                fits.append({"task": task, "seed": s, "model": m, "em": em, "ted": ted,
                             "log_em_r2": g.r2, "log_em_slope": g.slope, "ted_r2": lin.r2,
                             "ted_slope": lin.slope})
    return {
        "fits": fits,
        "median_log_em_r2": float(np.median([f["log_em_r2"] for f in fits])) if fits else math.nan,
        "median_ted_r2": float(np.median([f["ted_r2"] for f in fits])) if fits else math.nan,
    }


def model_check(res: SweepResult) -> dict:
    """Measured exact match vs exp(−L·CE_token); CE against size (power law? monotone? sharp?)."""
    from scipy.stats import spearmanr

    measured, predicted = [], []
    for key, v in res.table.items():
        if key[4] != "large":
            continue
        measured.append(v["exact_match"])
        predicted.append(math.exp(-key[3] * v["per_token_ce"]))
    measured_a, predicted_a = np.asarray(measured), np.asarray(predicted)
    out = {"n_points": len(measured),
           "pearson_r": float(np.corrcoef(measured_a, predicted_a)[0, 1]),
           "mean_abs_error": float(np.mean(np.abs(measured_a - predicted_a)))}
    per_task = {}
    for task, width in widths(res).items():
        ce = np.mean([curve(res, task, s, width, "per_token_ce", "large") for s in res.cfg.seeds],
                     axis=0)
        em = np.mean([curve(res, task, s, width, "exact_match", "large") for s in res.cfg.seeds],
                     axis=0)
        ted = np.mean([curve(res, task, s, width, "token_edit_distance", "large")
                       for s in res.cfg.seeds], axis=0)
        n = [res.params[m] for m in res.cfg.family]
        law = fit_power_law(n, ce)
        per_seed = []
        for s in res.cfg.seeds:
            c = np.asarray(curve(res, task, s, width, "per_token_ce", "large"))
            drops = -np.diff(c)
            span = float(c.max() - c.min())
            per_seed.append({
                "seed": s, "ce": c.tolist(),
                # share of the whole CE range covered by the largest step between adjacent sizes
                "largest_step_share": float(drops.max() / span) if span > 0 else 0.0,
                # CE rises by > 0.1 nats somewhere along the family (not monotone in size)
                "non_monotone": bool(np.any(np.diff(c) > 0.1)),
            })
        per_task[task] = {
            "ce": ce.tolist(), "spearman_rho": float(spearmanr(n, ce)[0]),
            "power_law_alpha": law.alpha, "power_law_log_c": law.log_c, "power_law_r2": law.r2,
            "ce_emergence_score": M.emergence_score(-ce),
            "em_emergence_score": M.emergence_score(em),
            "ted_emergence_score": M.emergence_score(-ted),
            "per_seed": per_seed,
        }
    out["per_task"] = per_task
    return out
