"""Metrics of the mirage paper against hand-worked cases and independent references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.emergence.metrics import (
    brier_score,
    emergence_score,
    exact_match,
    multiple_choice_brier,
    multiple_choice_grade,
    per_token_accuracy,
    per_token_cross_entropy,
    resolution_limit,
    token_edit_distance,
    wilson_interval,
)
from neurips23.errors import DataError, UserError


def bfs_edit_distance(a: str, b: str) -> int:
    """Independent reference: breadth-first search over single-token edits of `a` until `b`
    is reached (inserted symbols drawn from b's alphabet, which suffices for a shortest path)."""
    alphabet = sorted(set(b)) or ["x"]
    frontier, seen, depth = {a}, {a}, 0
    while b not in frontier:
        nxt = set()
        for s in frontier:
            for i in range(len(s) + 1):
                for c in alphabet:
                    nxt.add(s[:i] + c + s[i:])
            for i in range(len(s)):
                nxt.add(s[:i] + s[i + 1:])
                for c in alphabet:
                    nxt.add(s[:i] + c + s[i + 1:])
        frontier = nxt - seen
        seen |= frontier
        depth += 1
    return depth


@pytest.mark.parametrize(
    "a,b,d",
    [
        ("", "", 0),
        ("1234", "1234", 0),
        ("", "123", 3),
        ("123", "", 3),
        ("1234", "1294", 1),  # one substitution
        ("134", "1234", 1),  # one insertion
        ("12345", "1245", 1),  # one deletion
        ("kitten", "sitting", 3),  # the textbook case
        ("4321", "1234", 4),
        ("9801", "981", 1),
    ],
)
def test_token_edit_distance_hand_cases(a, b, d):
    assert token_edit_distance(a, b) == d
    assert token_edit_distance(list(a), list(b)) == d  # tokens, not just characters


def test_token_edit_distance_matches_brute_force_on_all_short_strings():
    strings = ["".join(p) for n in range(4) for p in itertools.product("ab", repeat=n)]
    for a, b in itertools.product(strings, repeat=2):
        assert token_edit_distance(a, b) == bfs_edit_distance(a, b), (a, b)


@settings(max_examples=60, deadline=None)
@given(st.text("012", max_size=6), st.text("012", max_size=6), st.text("012", max_size=6))
def test_token_edit_distance_is_a_metric(a, b, c):
    assert token_edit_distance(a, b) == token_edit_distance(b, a)
    assert token_edit_distance(a, c) <= token_edit_distance(a, b) + token_edit_distance(b, c)
    assert abs(len(a) - len(b)) <= token_edit_distance(a, b) <= max(len(a), len(b))


def test_exact_match_and_per_token_accuracy():
    assert exact_match("3901", "3901") == 1.0
    assert exact_match(" 3901\n", "3901") == 1.0
    assert exact_match("3911", "3901") == 0.0
    assert exact_match(["3", "9"], ["3", "9", "0"]) == 0.0
    assert per_token_accuracy("3911", "3901") == 0.75
    assert per_token_accuracy("39", "3901") == 0.5  # missing positions are wrong
    assert per_token_accuracy("390199", "3901") == 1.0
    with pytest.raises(DataError, match="no tokens"):
        per_token_accuracy("1", "")


def test_per_token_cross_entropy_is_negative_mean_logprob():
    lps = [math.log(0.5), math.log(0.25)]
    assert per_token_cross_entropy(lps) == pytest.approx((math.log(2) + math.log(4)) / 2)
    with pytest.raises(DataError):
        per_token_cross_entropy([])


def test_brier_equals_squared_error_for_binary_outcomes():
    p = np.array([0.9, 0.2, 0.5, 1.0, 0.0])
    o = np.array([1, 0, 1, 0, 0])
    assert brier_score(p, o) == pytest.approx(np.mean((p - o) ** 2))
    # by hand: (0.01 + 0.04 + 0.25 + 1 + 0) / 5
    assert brier_score(p, o) == pytest.approx(1.30 / 5)


def test_brier_multiclass_indices_and_onehot_agree_and_binary_is_two_class_half():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    idx = np.array([0, 1])
    onehot = np.eye(3)[idx]
    expected = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.9**2 + 0.8**2)) / 2
    assert brier_score(p, idx) == pytest.approx(expected)
    assert brier_score(p, onehot) == pytest.approx(expected)
    # a binary forecast written as two classes counts each error twice
    q = np.array([0.9, 0.3])
    o = np.array([1, 0])
    two = np.stack([1 - q, q], axis=1)
    assert brier_score(two, o) == pytest.approx(2 * brier_score(q, o))


@pytest.mark.parametrize(
    "probs,outcomes,msg",
    [
        ([1.2], [1], r"\[0, 1\]"),
        ([0.5, 0.5], [1], "2 probabilities but 1 outcomes"),
        ([0.5], [2], "0 or 1"),
        ([[0.5, 0.5]], [3], "indices"),
        ([], [], "no samples"),
    ],
)
def test_brier_bad_input(probs, outcomes, msg):
    with pytest.raises(DataError, match=msg):
        brier_score(probs, outcomes)


def test_multiple_choice_grade_and_brier_over_renormalised_likelihoods():
    lps = [math.log(0.2), math.log(0.1), math.log(0.1)]  # renormalises to 0.5, 0.25, 0.25
    assert multiple_choice_grade(lps, 0) == 1.0
    assert multiple_choice_grade(lps, 2) == 0.0
    assert multiple_choice_brier(lps, 0) == pytest.approx(0.25 + 0.0625 + 0.0625)
    assert multiple_choice_brier(lps, 1) == pytest.approx(0.25 + 0.5625 + 0.0625)
    with pytest.raises(DataError, match="correct index 3"):
        multiple_choice_grade(lps, 3)


def test_emergence_score_hand_examples():
    # y = [0, 0.1, 0.2, 0.3]: diffs² all 0.01 → median 0.01; (0.3 − 0)/0.1 = 3
    assert emergence_score([0, 0.1, 0.2, 0.3]) == pytest.approx(3.0)
    # a sharp jump: [0, 0.01, 0.02, 0.9]: diffs² [1e-4, 1e-4, 0.7744] → median 1e-4
    assert emergence_score([0, 0.01, 0.02, 0.9]) == pytest.approx(0.9 / 0.01)
    # decreasing curve: argmax before argmin → negative sign
    assert emergence_score([0.3, 0.2, 0.1, 0.0]) == pytest.approx(-3.0)
    # flat
    assert emergence_score([0.5, 0.5, 0.5]) == 0.0
    # one jump among exact zeros: median step 0 → infinitely sharp
    assert emergence_score([0, 0, 0, 1]) == math.inf
    # even number of diffs: median averages the middle two: diffs² [0.01, 0.04, 0.09, 0.16]
    assert emergence_score([0, 0.1, 0.3, 0.6, 1.0]) == pytest.approx(1.0 / math.sqrt(0.065))


def test_emergence_score_flags_accuracy_at_the_resolution_limit_but_not_edit_distance():
    # the paper's model (§2) measured on a 100-item test set: small models' accuracy p^L is
    # below the resolution limit 1/100 and reads exactly 0, then rises; TED falls smoothly.
    n = np.geomspace(1e4, 1e7, 8)
    ce = (n / 3e5) ** -0.5  # per-token CE from 2.3 nats down to 0.17
    p = np.exp(-ce)
    measured_accuracy = np.floor(100 * p**5) / 100
    ted = 5 * (1 - p)
    assert measured_accuracy[0] == 0.0 and measured_accuracy[-1] > 0.4
    assert emergence_score(measured_accuracy) > 2 * emergence_score(-ted)


def test_emergence_score_bad_input():
    with pytest.raises(DataError, match="at least 2"):
        emergence_score([1.0])
    with pytest.raises(DataError, match="finite"):
        emergence_score([0.0, float("nan")])


def _wilson_by_score_test_inversion(k: int, n: int, z: float) -> tuple[float, float]:
    """Reference: the Wilson bounds are the p with |p̂ − p| = z·sqrt(p(1−p)/n)."""
    from scipy.optimize import brentq

    phat = k / n

    def f(p):
        return (phat - p) ** 2 - z * z * p * (1 - p) / n

    eps = 1e-12
    lo = 0.0 if k == 0 else brentq(f, eps, phat if k < n else 1 - eps)
    hi = 1.0 if k == n else brentq(f, phat if k > 0 else eps, 1 - eps)
    return lo, hi


@pytest.mark.parametrize("k,n", [(0, 100), (1, 100), (7, 20), (50, 50), (3, 2000)])
def test_wilson_interval_matches_score_test_inversion(k, n):
    lo, hi = wilson_interval(k, n)
    rlo, rhi = _wilson_by_score_test_inversion(k, n, 1.959963984540054)
    assert lo == pytest.approx(rlo, abs=1e-9)
    assert hi == pytest.approx(rhi, abs=1e-9)


def test_wilson_zero_successes_has_positive_upper_bound_that_shrinks_with_n():
    lo100, hi100 = wilson_interval(0, 100)
    lo5k, hi5k = wilson_interval(0, 5000)
    assert lo100 == 0.0 and lo5k == 0.0
    assert hi5k < hi100 < 0.05


def test_resolution_limit_and_bad_input():
    assert resolution_limit(100) == 0.01
    with pytest.raises(UserError, match="positive"):
        resolution_limit(0)
    with pytest.raises(DataError, match="successes 5"):
        wilson_interval(5, 3)
