"""Hase et al. §4's question as a regression: does the tracing effect at the edit layer predict
edit success beyond what the edit layer alone predicts?

Rows are (fact, edit layer). Three OLS fits of the edit score:
`score ~ C(layer)` (a mean per layer), `score ~ tracing`, and `score ~ C(layer) * tracing`
(a line per layer); ΔR² = R²_both − R²_layer, and the nested F-test of both against layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurips23.errors import UserError


def _design(layer: np.ndarray, tracing: np.ndarray, model: str) -> np.ndarray:
    ones = np.ones((len(layer), 1))
    if model == "trace":
        return np.hstack([ones, tracing[:, None]])
    levels = np.unique(layer)
    dummies = (layer[:, None] == levels[None, 1:]).astype(float)
    if model == "layer":
        return np.hstack([ones, dummies])
    return np.hstack([ones, dummies, tracing[:, None], dummies * tracing[:, None]])


def ols_fit(X: np.ndarray, y: np.ndarray) -> tuple[float, float, int]:
    """(R², residual sum of squares, rank of X) of the least-squares fit of y on X."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    rss = float(((y - X @ beta) ** 2).sum())
    tss = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - rss / tss if tss > 0 else float("nan")
    return r2, rss, int(np.linalg.matrix_rank(X))


def nested_f_test(rss_small: float, rank_small: int, rss_big: float, rank_big: int,
                  n: int) -> tuple[float, float]:
    """(F, p) of a big model against a nested small one (R's `anova(small, big)`)."""
    from scipy.stats import f as f_dist

    df_num, df_den = rank_big - rank_small, n - rank_big
    if df_num <= 0 or df_den <= 0:
        return float("nan"), float("nan")
    gain = max(rss_small - rss_big, 0.0)
    if rss_big <= 1e-14 * max(rss_small, 1e-300):
        return (float("inf"), 0.0) if gain > 0 else (float("nan"), 1.0)
    F = (gain / df_num) / (rss_big / df_den)
    return float(F), float(f_dist.sf(F, df_num, df_den))


def compare_r2(score: Sequence[float], tracing: Sequence[float], layer: Sequence[int]) -> dict:
    """R² of score ~ layer, score ~ tracing and score ~ layer * tracing, ΔR² = R²_both −
    R²_layer, and the nested F-test of both vs layer (Hase et al. Table 1). Rows with a NaN
    score or tracing value are dropped (counted in `dropped`)."""
    y, x, g = (np.asarray(a, dtype=float) for a in (score, tracing, layer))
    if not (len(y) == len(x) == len(g)):
        raise UserError(f"compare_r2: score, tracing and layer differ in length "
                        f"({len(y)}, {len(x)}, {len(g)})")
    keep = np.isfinite(y) & np.isfinite(x) & np.isfinite(g)
    y, x, g = y[keep], x[keep], g[keep]
    n = len(y)
    levels = len(np.unique(g))
    if n < 2 * levels + 2:
        raise UserError(f"compare_r2: {n} usable rows for {levels} layers; need at least "
                        f"{2 * levels + 2} to fit a line per layer and test it")
    r2_layer, rss_l, k_l = ols_fit(_design(g, x, "layer"), y)
    r2_trace, _, _ = ols_fit(_design(g, x, "trace"), y)
    r2_both, rss_b, k_b = ols_fit(_design(g, x, "both"), y)
    F, p = nested_f_test(rss_l, k_l, rss_b, k_b, n)
    return {"r2_layer": r2_layer, "r2_trace": r2_trace, "r2_both": r2_both,
            "delta_r2": r2_both - r2_layer, "p_value": p, "f_stat": F,
            "df_num": k_b - k_l, "df_den": n - k_b, "n": n, "dropped": int((~keep).sum())}


def layer_correlations(score: Sequence[float], tracing: Sequence[float],
                       layer: Sequence[int]) -> dict[int, float]:
    """Pearson correlation of score and tracing within each edit layer (Hase et al. Fig. 4)."""
    y, x, g = (np.asarray(a, dtype=float) for a in (score, tracing, layer))
    out = {}
    for lv in np.unique(g[np.isfinite(g)]):
        m = (g == lv) & np.isfinite(y) & np.isfinite(x)
        ok = m.sum() > 2 and np.std(x[m]) > 0 and np.std(y[m]) > 0
        out[int(lv)] = float(np.corrcoef(x[m], y[m])[0, 1]) if ok else float("nan")
    return out
