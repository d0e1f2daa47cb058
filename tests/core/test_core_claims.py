"""The verdict mechanism: rules decide on intervals, parts combine, preconditions gate."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurips23.core.claims import Claim, Rule, combine, computed_claim, decide, measured_claim
from neurips23.core.stats import bootstrap_ci, t_interval, wilson_interval


@pytest.mark.parametrize("low,high,expected", [
    (0.1, 0.3, "reproduced"), (-0.3, -0.1, "not reproduced"), (-0.1, 0.2, "inconclusive"),
    (0.0, 0.2, "inconclusive"),  # touching the threshold is not "above"
])
def test_above(low, high, expected):
    assert decide(Rule("above", 0.0), low, high, n=5) == expected


def test_below_and_within():
    assert decide(Rule("below", 1.0), 0.2, 0.9, n=3) == "reproduced"
    assert decide(Rule("below", 1.0), 1.1, 2.0, n=3) == "not reproduced"
    eq = Rule("within", 0.0, margin=0.05)
    assert decide(eq, -0.02, 0.03, n=10) == "reproduced"
    assert decide(eq, 0.1, 0.2, n=10) == "not reproduced"
    assert decide(eq, -0.02, 0.2, n=10) == "inconclusive"  # too wide to tell


def test_underpowered_and_nan_are_inconclusive():
    assert decide(Rule("above", 0.0, min_n=3), 0.5, 0.9, n=2) == "inconclusive"
    assert decide(Rule("above", 0.0), math.nan, math.nan, n=10) == "inconclusive"


@given(st.floats(-10, 10), st.floats(0, 5), st.floats(-10, 10))
def test_a_verdict_never_contradicts_its_interval(low, width, t):
    high = low + width
    v = decide(Rule("above", t), low, high, n=10)
    if v == "reproduced":
        assert low > t
    if v == "not reproduced":
        assert high < t


def test_combine():
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "not reproduced"]) == "mixed"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert combine(["not reproduced", "inconclusive"]) == "not reproduced"
    assert combine([]) == "inconclusive"
    assert combine(["computed", "reproduced"]) == "reproduced"


def test_failed_precondition_makes_inconclusive_and_says_why():
    c = measured_claim("A beats B", "A - B", 0.3, (0.2, 0.4), Rule("above", 0.0), n=5,
                       preconditions=[("B learned the task", False)])
    assert c.verdict == "inconclusive" and "B learned the task" in c.ours
    assert c.rule["direction"] == "above" and c.interval == [0.2, 0.4]


def test_computed_claims_never_read_reproduced():
    assert computed_claim("4.127 bits", "4.127", True).verdict == "computed"
    assert computed_claim("4.127 bits", "5.0", False).verdict == "not reproduced"
    with pytest.raises(ValueError):
        Claim("p", "o", "maybe")


def test_intervals_against_scipy_and_by_hand():
    from scipy import stats

    xs = [0.2, 0.5, 0.4, 0.3]
    m, lo, hi = t_interval(xs)
    ref = stats.t.interval(0.95, len(xs) - 1, loc=sum(xs) / 4, scale=stats.sem(xs))
    assert m == pytest.approx(0.35) and (lo, hi) == pytest.approx(ref)
    assert math.isnan(t_interval([0.3])[1])
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)  # (z^2/n)/(1+z^2/n), z=1.96
    est, blo, bhi = bootstrap_ci(list(range(100)), lambda d: sum(d) / len(d), n_boot=500)
    assert est == 49.5 and blo < est < bhi


def test_welch_interval_against_scipy():
    from scipy import stats

    from neurips23.core.stats import welch_interval

    a, b = [1.0, 1.4, 0.9, 1.3], [0.2, 0.6, 0.1]
    d, lo, hi = welch_interval(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d == pytest.approx(sum(a) / 4 - sum(b) / 3)
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    assert math.isnan(welch_interval([1.0], b)[1])
