"""Edit metrics (identities of Hase et al. §3.4) and the regression against statsmodels."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.editing.analysis import compare_r2, layer_correlations
from neurips23.editing.metrics import (
    edit_scores,
    erasure_score,
    neighbourhood_score,
    rewrite_score,
)
from neurips23.editing.problems import PROBLEMS
from neurips23.errors import UserError

prob = st.floats(0.0, 1.0, allow_nan=False)


@given(prob, prob)
def test_metric_identities(p, q):
    if p < 1:  # Hase et al.'s evaluate.py:239-240: 1 - (1 - post)/(1 - pre), floored at 2e-8
        assert rewrite_score(p, p) == 2e-8
        assert rewrite_score(p, 1.0) == pytest.approx(1.0)
        assert rewrite_score(p, q) <= 1 + 1e-12
        assert rewrite_score(p, q) == pytest.approx(max(2e-8, 1 - (1 - q) / (1 - p)))
    else:
        assert math.isnan(rewrite_score(p, q))
    n = neighbourhood_score(p, q)
    assert -1e-12 <= n <= 1 + 1e-12  # |Δp| never exceeds the denominator
    assert neighbourhood_score(p, p) == 1.0
    worst = 0.0 if p >= 0.5 else 1.0  # the farthest p* can go
    assert neighbourhood_score(p, worst) == pytest.approx(0.0, abs=1e-12)
    if p > 0:
        assert 0 <= erasure_score(p, q) <= 1
        assert erasure_score(p, 0.0) == 1.0
        assert erasure_score(p, min(1.0, p + 0.1)) == 0.0  # an increase erases nothing


def test_edit_scores_by_hand():
    ei = edit_scores(PROBLEMS["error_injection"], (0.2, 0.6), [(0.1, 0.55), (0.5, 0.75)],
                     [(0.9, 0.8), (0.3, 0.3)])
    assert ei["rewrite"] == pytest.approx(0.4 / 0.8)
    assert ei["paraphrase"] == pytest.approx((0.45 / 0.9 + 0.25 / 0.5) / 2)
    assert ei["neighbourhood"] == pytest.approx((1 - 0.1 / 0.9 + 1.0) / 2)
    er = edit_scores(PROBLEMS["fact_erasure"], (0.8, 0.2), [], [])
    assert er["rewrite"] == pytest.approx(0.75)
    assert math.isnan(er["paraphrase"]) and math.isnan(er["neighbourhood"])


def _data(n_facts=30, layers=(0, 2, 4, 6), seed=0, trace_coef=0.0, noise=0.1):
    rng = np.random.default_rng(seed)
    layer = np.repeat(np.array(layers)[None], n_facts, 0).ravel()
    tracing = rng.uniform(0, 1, layer.shape)
    y = 0.5 + 0.05 * layer + trace_coef * tracing + noise * rng.normal(size=layer.shape)
    return y, tracing, layer


@pytest.mark.parametrize("trace_coef", [0.0, 0.3])
def test_compare_r2_matches_statsmodels(trace_coef):
    import pandas as pd
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    y, x, g = _data(trace_coef=trace_coef, seed=3)
    ours = compare_r2(y, x, g)
    df = pd.DataFrame({"score": y, "tracing": x, "layer": g})
    m_layer = smf.ols("score ~ C(layer)", df).fit()
    m_trace = smf.ols("score ~ tracing", df).fit()
    m_both = smf.ols("score ~ C(layer) * tracing", df).fit()
    assert ours["r2_layer"] == pytest.approx(m_layer.rsquared, abs=1e-10)
    assert ours["r2_trace"] == pytest.approx(m_trace.rsquared, abs=1e-10)
    assert ours["r2_both"] == pytest.approx(m_both.rsquared, abs=1e-10)
    table = anova_lm(m_layer, m_both)
    assert ours["f_stat"] == pytest.approx(table["F"].iloc[1], rel=1e-8)
    assert ours["p_value"] == pytest.approx(table["Pr(>F)"].iloc[1], rel=1e-6, abs=1e-300)
    assert ours["df_num"] == table["df_diff"].iloc[1]


def test_regression_sanity_on_synthetic_data():
    y, x, g = _data(noise=0.0)  # score a function of layer only
    r = compare_r2(y, x, g)
    assert r["r2_layer"] == pytest.approx(1.0) and abs(r["delta_r2"]) < 1e-9
    r = compare_r2(x, x, g)  # score = tracing
    assert r["r2_trace"] == pytest.approx(1.0) and r["r2_both"] == pytest.approx(1.0)
    y, x, g = _data(trace_coef=1.0, noise=0.05)
    r = compare_r2(y, x, g)
    assert r["delta_r2"] > 0.3 and r["p_value"] < 1e-10


def test_f_test_p_values_are_uniform_under_the_null():
    from scipy.stats import kstest

    ps = [compare_r2(*_data(n_facts=12, seed=s, noise=1.0))["p_value"] for s in range(300)]
    assert kstest(ps, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(np.array(ps) < 0.05) < 0.09


def test_compare_r2_bad_input_and_nan_rows():
    y, x, g = _data()
    y[0] = np.nan
    assert compare_r2(y, x, g)["dropped"] == 1
    with pytest.raises(UserError, match="length"):
        compare_r2(y[:5], x, g)
    with pytest.raises(UserError, match="usable rows"):
        compare_r2(y[:6], x[:6], g[:6])


def test_layer_correlations():
    y, x, g = _data(trace_coef=1.0, noise=0.0)
    assert all(v == pytest.approx(1.0) for v in layer_correlations(y, x, g).values())


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 1000))
def test_r2_ordering(seed):
    r = compare_r2(*_data(seed=seed, trace_coef=0.2, noise=0.3))
    assert r["r2_both"] >= r["r2_layer"] - 1e-12 and r["r2_both"] >= r["r2_trace"] - 1e-12
