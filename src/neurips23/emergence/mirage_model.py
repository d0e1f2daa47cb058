"""The paper's toy model of the mirage (Schaeffer et al. 2023, §2 and App. A).

Per-token cross-entropy falls as a power law in parameters N, L_CE(N) = (N/c)^α with α < 0,
so a token is right with probability p(N) = exp(−L_CE(N)). A metric that needs all L target
tokens right then scores ≈ p^L = exp(−L·L_CE) (sharp on a log-x axis), while token edit
distance scores ≈ L(1 − p) (smooth).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurips23.errors import DataError


@dataclass(frozen=True)
class PowerLaw:
    """L_CE(N) = (N / c)^alpha (§2, Eq. 1), with c kept as log c (c can be astronomically
    large when the fitted alpha is close to 0)."""

    log_c: float
    alpha: float
    r2: float

    @property
    def c(self) -> float:
        return math.exp(self.log_c) if self.log_c < 700 else math.inf

    def __call__(self, n_params: Sequence[float] | float) -> np.ndarray:
        return np.exp(self.alpha * (np.log(np.asarray(n_params, dtype=float)) - self.log_c))


@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope · x, with its coefficient of determination."""

    slope: float
    intercept: float
    r2: float


def _line_fit(x: np.ndarray, y: np.ndarray) -> LineFit:
    slope, intercept = np.polyfit(x, y, 1)
    resid = y - (intercept + slope * x)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return LineFit(float(slope), float(intercept), r2)


def fit_power_law(n_params: Sequence[float], ce: Sequence[float]) -> PowerLaw:
    """Fit L_CE(N) = (N/c)^α by least squares on log L_CE = α log N − α log c (§2, Eq. 1)."""
    n = np.asarray(n_params, dtype=float)
    y = np.asarray(ce, dtype=float)
    if n.shape != y.shape or n.size < 2:
        raise DataError("fit_power_law needs ≥ 2 (params, cross-entropy) pairs of equal length")
    if np.any(n <= 0) or np.any(y <= 0):
        raise DataError("fit_power_law needs positive parameter counts and cross-entropies")
    fit = _line_fit(np.log(n), np.log(y))
    alpha = fit.slope
    if alpha == 0:
        raise DataError("fit_power_law: cross-entropy does not change with size")
    return PowerLaw(log_c=-fit.intercept / alpha, alpha=alpha, r2=fit.r2)


def token_probability(ce: Sequence[float] | float) -> np.ndarray:
    """p(single token correct) = exp(−L_CE) (§2, Eq. 2)."""
    return np.exp(-np.asarray(ce, dtype=float))


def predicted_accuracy(ce: Sequence[float] | float, length: int) -> np.ndarray:
    """Accuracy(N) ≈ p^L = exp(−L · L_CE(N)) (§2, Eq. 3)."""
    return token_probability(ce) ** length


def predicted_edit_distance(ce: Sequence[float] | float, length: int) -> np.ndarray:
    """Token Edit Distance(N) ≈ L(1 − p) (§2, Eq. 4; App. A: E[TED] ≈ Lε with ε = 1 − p)."""
    return length * (1.0 - token_probability(ce))


def predict_curves(
    n_params: Sequence[float], ce: Sequence[float], lengths: Sequence[int], num: int = 50
) -> dict:
    """Fit the power law to measured CE and predict accuracy and edit distance on a grid of
    sizes for each target length L (the curves of Fig. 2)."""
    law = fit_power_law(n_params, ce)
    n = np.asarray(n_params, dtype=float)
    grid = np.geomspace(n.min(), n.max(), num)
    ce_grid = law(grid)
    return {
        "power_law": law,
        "params": grid,
        "ce": ce_grid,
        "accuracy": {L: predicted_accuracy(ce_grid, L) for L in lengths},
        "edit_distance": {L: predicted_edit_distance(ce_grid, L) for L in lengths},
    }


def fit_geometric(lengths: Sequence[int], accuracy: Sequence[float]) -> LineFit:
    """Prediction 3 (§3.3): log Accuracy linear in L (Accuracy ≈ q^L); slope = log q."""
    x = np.asarray(lengths, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise DataError("fit_geometric needs ≥ 2 (length, accuracy) pairs")
    if np.any(y <= 0):
        raise DataError("fit_geometric needs accuracies > 0 (log of 0 is undefined)")
    return _line_fit(x, np.log(y))


def fit_linear(lengths: Sequence[int], values: Sequence[float]) -> LineFit:
    """Prediction 3 (§3.3): Token Edit Distance quasi-linear in L."""
    x = np.asarray(lengths, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise DataError("fit_linear needs ≥ 2 (length, value) pairs")
    return _line_fit(x, y)
