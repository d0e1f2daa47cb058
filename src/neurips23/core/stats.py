"""The statistics verdicts rest on: t and bootstrap intervals, paired differences, Wilson
intervals for proportions, AUROC and McNemar's exact test."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import numpy as np

NAN3 = (float("nan"), float("nan"), float("nan"))


def t_interval(xs: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval over independent units (seeds); nan bounds for n < 2."""
    from scipy.stats import t as student_t

    x = np.asarray([v for v in xs if v is not None], dtype=float)
    if len(x) == 0:
        return NAN3
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    half = float(student_t.ppf(0.5 + confidence / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def welch_interval(a: Sequence[float], b: Sequence[float],
                   confidence: float = 0.95) -> tuple[float, float, float]:
    """mean(a) − mean(b) and its Welch t interval, the units of each group independent (e.g.
    languages of two tiers); nan bounds when a group has fewer than 2 units."""
    from scipy.stats import t as student_t

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return NAN3
    d = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return d, float("nan"), float("nan")
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(vx + vy)
    if se == 0:
        return d, d, d
    df = (vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    half = float(student_t.ppf(0.5 + confidence / 2, df) * se)
    return d, d - half, d + half


def mean_ci(xs: Sequence[float], n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and a percentile-bootstrap 95% interval (resampling items)."""
    if not xs:
        return NAN3
    rng = random.Random(seed)
    n = len(xs)
    boots = sorted(sum(xs[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return sum(xs) / n, boots[int(0.025 * n_boot)], boots[int(0.975 * n_boot) - 1]


def paired_diff_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000,
                   seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over paired items with a paired-bootstrap 95% interval."""
    return mean_ci([x - y for x, y in zip(a, b, strict=True)], n_boot, seed)


def bootstrap_ci(data: Sequence, statistic: Callable[[Sequence], float], n_boot: int = 2000,
                 seed: int = 0, confidence: float = 0.95) -> tuple[float, float, float]:
    """statistic(data) and a percentile-bootstrap interval resampling the units of `data`."""
    if len(data) == 0:
        return NAN3
    rng = np.random.default_rng(seed)
    n = len(data)
    est = float(statistic(data))
    boots = np.sort([statistic([data[i] for i in rng.integers(0, n, n)]) for _ in range(n_boot)])
    lo = float(np.quantile(boots, (1 - confidence) / 2))
    hi = float(np.quantile(boots, 1 - (1 - confidence) / 2))
    return est, lo, hi


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (exact 0 / 1 at the ends)."""
    from scipy.stats import norm

    from neurips23.errors import DataError

    if n <= 0:
        raise DataError(f"wilson_interval: n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise DataError(f"wilson_interval: successes {successes} outside [0, {n}]")
    if not 0 < confidence < 1:
        raise DataError(f"wilson_interval: confidence {confidence} outside (0, 1)")
    z = float(norm.ppf(0.5 + confidence / 2))
    phat = successes / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n))
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def mover_difference(k1: int, n1: int, k2: int, n2: int, scale: float = 1.0,
                     confidence: float = 0.95) -> tuple[float, float, float]:
    """p1 - scale * p2 and its interval built from the two Wilson intervals (Newcombe 1998,
    method 10, for scale 1; Zou & Donner's MOVER for a scaled difference). For independent
    samples; conservative for positively correlated pairs."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - scale * p2
    return (d, d - math.hypot(p1 - l1, scale * (u2 - p2)),
            d + math.hypot(u1 - p1, scale * (p2 - l2)))


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """P(score of a random positive > score of a random negative), ties counted half."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: t[0])
    n_pos = sum(bool(x) for x in labels)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):  # average ranks over ties (Mann-Whitney U)
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2
        rank_sum += avg_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def mcnemar_p(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Exact two-sided McNemar p-value for paired successes a vs b."""
    from scipy.stats import binomtest

    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
