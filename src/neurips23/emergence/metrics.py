"""Per-sample metrics and across-scale statistics of Schaeffer et al. (2023), "Are Emergent
Abilities of Large Language Models a Mirage?".

The paper's point is that the *same* model outputs look "emergent" under a discontinuous
metric (exact match, multiple-choice grade) and smooth under a continuous one (token edit
distance, per-token accuracy, Brier score). Every function here is pure Python/NumPy so the
metrics can be applied to outputs from any evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neurips23.core.stats import wilson_interval  # Fig. 4's error bars; re-exported here
from neurips23.errors import DataError

__all__ = [
    "exact_match",
    "token_edit_distance",
    "per_token_accuracy",
    "per_token_cross_entropy",
    "brier_score",
    "multiple_choice_grade",
    "multiple_choice_brier",
    "option_probabilities",
    "emergence_score",
    "wilson_interval",
    "resolution_limit",
]


# --------------------------------------------------------------------------- per sample
def exact_match(pred: str | Sequence, target: str | Sequence) -> float:
    """Exact string match (§2, "Accuracy"): 1.0 iff every target token is reproduced.

    Strings are compared after stripping surrounding whitespace; token sequences exactly.
    """
    if isinstance(pred, str) and isinstance(target, str):
        return float(pred.strip() == target.strip())
    return float(list(pred) == list(target))


def token_edit_distance(pred_tokens: Sequence, target_tokens: Sequence) -> int:
    """Token Edit Distance (§2, Eq. 3): Levenshtein distance over tokens (unit-cost
    insertion, deletion and substitution)."""
    a, b = list(pred_tokens), list(target_tokens)
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            current[j] = min(
                previous[j] + 1,  # delete x
                current[j - 1] + 1,  # insert y
                previous[j - 1] + (x != y),  # substitute (free if equal)
            )
        previous = current
    return previous[-1]


def per_token_accuracy(pred_tokens: Sequence, target_tokens: Sequence) -> float:
    """Per-token (per-digit) accuracy: fraction of target positions whose token the
    prediction reproduces at the same position (a missing position counts as wrong)."""
    target = list(target_tokens)
    if not target:
        raise DataError("per_token_accuracy: the target has no tokens")
    pred = list(pred_tokens)
    return sum(p == t for p, t in zip(pred, target, strict=False)) / len(target)


def per_token_cross_entropy(token_logprobs: Sequence[float]) -> float:
    """Teacher-forced per-token cross-entropy (§2, Eq. 1 L_CE): −mean log p(target token)."""
    if len(token_logprobs) == 0:
        raise DataError("per_token_cross_entropy: no token log-probabilities")
    return -float(np.mean(np.asarray(token_logprobs, dtype=float)))


def brier_score(probs: Sequence, outcomes: Sequence) -> float:
    """Brier score (Brier 1950; §4, Fig. 6): mean over samples of Σ_k (p_k − o_k)².

    `probs` of shape (n,) with binary `outcomes` of shape (n,) gives the binary Brier
    score mean (p − o)² (the squared error); `probs` of shape (n, k) takes `outcomes` as
    class indices (n,) or one-hot rows (n, k).
    """
    p = np.asarray(probs, dtype=float)
    o = np.asarray(outcomes)
    if p.size == 0:
        raise DataError("brier_score: no samples")
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        raise DataError("brier_score: probabilities must lie in [0, 1]")
    if p.ndim == 1:
        if o.shape != p.shape:
            raise DataError(f"brier_score: {p.shape[0]} probabilities but {o.size} outcomes")
        if not np.all(np.isin(o, (0, 1))):
            raise DataError("brier_score: binary outcomes must be 0 or 1")
        return float(np.mean((p - o.astype(float)) ** 2))
    if p.ndim != 2:
        raise DataError(f"brier_score: probs must be 1-D or 2-D, got shape {p.shape}")
    if o.ndim == 1:
        if o.shape[0] != p.shape[0]:
            raise DataError(f"brier_score: {p.shape[0]} rows but {o.shape[0]} outcomes")
        if not np.issubdtype(o.dtype, np.integer) or np.any(o < 0) or np.any(o >= p.shape[1]):
            raise DataError(f"brier_score: outcome indices must be integers in [0, {p.shape[1]})")
        onehot = np.zeros_like(p)
        onehot[np.arange(p.shape[0]), o] = 1.0
    else:
        if o.shape != p.shape:
            raise DataError(f"brier_score: probs {p.shape} and outcomes {o.shape} differ")
        onehot = o.astype(float)
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def option_probabilities(option_logprobs: Sequence[float]) -> np.ndarray:
    """Renormalise option log-likelihoods to a distribution over the options (softmax)."""
    lp = np.asarray(option_logprobs, dtype=float)
    if lp.ndim != 1 or lp.size == 0 or not np.all(np.isfinite(lp)):
        raise DataError("option log-probabilities must be a non-empty list of finite numbers")
    z = np.exp(lp - lp.max())
    return z / z.sum()


def multiple_choice_grade(option_logprobs: Sequence[float], correct: int) -> float:
    """Multiple Choice Grade (§4): 1.0 iff the most likely option is the correct one."""
    lp = np.asarray(option_logprobs, dtype=float)
    if not 0 <= correct < lp.size:
        raise DataError(f"multiple_choice_grade: correct index {correct} outside {lp.size} options")
    return float(int(np.argmax(lp)) == correct)


def multiple_choice_brier(option_logprobs: Sequence[float], correct: int) -> float:
    """Brier counterpart of the Multiple Choice Grade (§4, Fig. 6): Σ_k (p_k − 1[k=correct])²
    over the renormalised option likelihoods (0 is perfect, 2 is worst)."""
    probs = option_probabilities(option_logprobs)
    if not 0 <= correct < probs.size:
        raise DataError(f"multiple_choice_brier: correct index {correct} outside {probs.size} options")
    return brier_score(probs[None, :], np.asarray([correct]))


# --------------------------------------------------------------------------- across scale
def emergence_score(values: Sequence[float]) -> float:
    """Emergence score (Srivastava et al. 2022, Eq. 1, as used in §4):
    sign(argmax y − argmin y) · (max y − min y) / sqrt(median_i (y_i − y_{i−1})²).

    `values` are ordered by increasing scale. A curve whose steps are mostly zero and one
    jump has a zero median step and scores ±inf; a flat curve scores 0.
    """
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or y.size < 2:
        raise DataError(f"emergence_score needs at least 2 values, got {y.size}")
    if not np.all(np.isfinite(y)):
        raise DataError("emergence_score: values must be finite")
    spread = float(y.max() - y.min())
    if spread == 0.0:
        return 0.0
    sign = float(np.sign(int(np.argmax(y)) - int(np.argmin(y))))
    denom = math.sqrt(float(np.median(np.diff(y) ** 2)))
    if denom == 0.0:
        return sign * math.inf
    return sign * spread / denom


def resolution_limit(n: int) -> float:
    """Smallest nonzero accuracy a test set of n samples can show (§2, cause 2): 1/n."""
    if n <= 0:
        raise DataError(f"resolution_limit: test-set size must be positive, got {n}")
    return 1.0 / n
