"""The paper's toy model (§2, Eqs. 1–4): power-law CE → geometric accuracy, linear TED."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurips23.emergence.mirage_model import (
    fit_geometric,
    fit_linear,
    fit_power_law,
    predict_curves,
    predicted_accuracy,
    predicted_edit_distance,
    token_probability,
)
from neurips23.errors import DataError


def test_fit_power_law_recovers_exact_parameters():
    n = np.array([5e3, 2e4, 1e5, 4e5, 1e6])
    c, alpha = 50.0, -0.3
    law = fit_power_law(n, (n / c) ** alpha)
    assert law.c == pytest.approx(c, rel=1e-9)
    assert law.alpha == pytest.approx(alpha, rel=1e-9)
    assert law.r2 == pytest.approx(1.0)
    assert law(1e4) == pytest.approx((1e4 / c) ** alpha)


def test_predicted_accuracy_is_p_to_the_L_and_ted_is_L_times_error():
    ce = 0.2
    p = math.exp(-0.2)
    assert token_probability(ce) == pytest.approx(p)
    assert predicted_accuracy(ce, 4) == pytest.approx(p**4)
    assert predicted_accuracy(ce, 4) == pytest.approx(math.exp(-4 * ce))
    assert predicted_edit_distance(ce, 4) == pytest.approx(4 * (1 - p))


def test_predict_curves_fit_measured_ce_and_scale_geometrically_vs_linearly_in_L():
    n = np.array([1e4, 1e5, 1e6, 1e7])
    ce = (n / 10.0) ** -0.35
    out = predict_curves(n, ce, lengths=[1, 2, 5], num=12)
    assert out["params"][0] == pytest.approx(1e4) and out["params"][-1] == pytest.approx(1e7)
    assert out["power_law"].alpha == pytest.approx(-0.35)
    assert np.allclose(out["ce"], (out["params"] / 10.0) ** -0.35)
    # accuracy(L) = accuracy(1)^L (geometric in L); TED(L) = L·TED(1) (linear in L)
    assert np.allclose(out["accuracy"][5], out["accuracy"][1] ** 5)
    assert np.allclose(out["edit_distance"][5], 5 * out["edit_distance"][1])
    assert np.all(np.diff(out["accuracy"][5]) > 0) and np.all(np.diff(out["edit_distance"][2]) < 0)


def test_geometric_and_linear_fits():
    L = np.arange(1, 6)
    g = fit_geometric(L, 0.8**L)
    assert g.slope == pytest.approx(math.log(0.8)) and g.r2 == pytest.approx(1.0)
    lin = fit_linear(L, 0.3 * L + 0.1)
    assert lin.slope == pytest.approx(0.3) and lin.intercept == pytest.approx(0.1)
    with pytest.raises(DataError, match="> 0"):
        fit_geometric(L, [0.5, 0.2, 0.0, 0.0, 0.0])


def test_fit_power_law_bad_input():
    with pytest.raises(DataError, match="positive"):
        fit_power_law([1e4, 0], [1.0, 0.5])
    with pytest.raises(DataError, match="≥ 2"):
        fit_power_law([1e4], [1.0])
