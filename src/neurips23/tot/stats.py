"""Small statistics for the reproduction: AUROC, paired bootstrap, exact McNemar."""

from __future__ import annotations

import random
from collections.abc import Sequence


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """P(score of a random positive > score of a random negative), ties counted half."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: t[0])
    n_pos = sum(labels)
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


def mean_ci(xs: Sequence[float], n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean and a percentile-bootstrap 95% interval."""
    if not xs:
        return (float("nan"),) * 3
    rng = random.Random(seed)
    n = len(xs)
    boots = sorted(sum(xs[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return sum(xs) / n, boots[int(0.025 * n_boot)], boots[int(0.975 * n_boot) - 1]


def paired_diff_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000,
                   seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over paired items with a paired-bootstrap 95% interval."""
    return mean_ci([x - y for x, y in zip(a, b, strict=True)], n_boot, seed)


def mcnemar_p(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Exact two-sided McNemar p-value for paired successes a vs b."""
    from scipy.stats import binomtest

    only_a = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    only_b = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
