"""Bayes nets: construction as the paper's code does it, sampling, and exact inference checked
against brute-force enumeration, Monte Carlo and pgmpy's variable elimination."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import DataError, UserError
from neurips23.locality.bayesnet import (
    BayesNet,
    brute_force_conditional,
    exact_conditional,
    exact_joint,
    load_net,
    marginals,
    mutual_information,
    net_from_dict,
    net_to_dict,
    random_net,
    sample,
    save_net,
)

small_nets = st.builds(lambda n, e, s: random_net(n, min(e, n * (n - 1) // 2), s),
                       st.integers(2, 9), st.integers(0, 14), st.integers(0, 10_000))


def test_random_net_shape_and_priors():
    net = random_net(30, 30, seed=1)
    assert net.n_vars == 30 and len(net.edges) == 30
    assert len(set(map(frozenset, net.edges))) == 30  # distinct unordered pairs
    order = net.topological_order()
    pos = {v: i for i, v in enumerate(order)}
    assert all(pos[p] < pos[c] for p, c in net.edges)
    rows = np.concatenate([t.reshape(-1) for t, ps in zip(net.cpts, net.parents, strict=True) if ps])
    # Beta(0.2, 0.2) puts most mass near 0 and 1: about 2/3 of rows lie outside [0.1, 0.9]
    assert np.mean((rows < 0.1) | (rows > 0.9)) > 0.5
    assert random_net(30, 30, seed=1).edges == net.edges  # same seed, same net


def test_random_net_bad_sizes():
    with pytest.raises(UserError, match="n_edges"):
        random_net(4, 7, 0)
    with pytest.raises(UserError, match="n_vars"):
        random_net(0, 0, 0)


@settings(max_examples=25, deadline=None)
@given(small_nets, st.data())
def test_exact_conditional_matches_brute_force(net, data):
    n = net.n_vars
    target = data.draw(st.integers(0, n - 1))
    others = [v for v in range(n) if v != target]
    given_vars = data.draw(st.lists(st.sampled_from(others), unique=True, max_size=3)) if others else []
    evidence = {v: data.draw(st.integers(0, 1)) for v in given_vars}
    try:
        expected = brute_force_conditional(net, target, evidence)
    except ZeroDivisionError:
        return
    if not np.isfinite(expected):  # evidence of probability 0 (underflowed Beta draws)
        return
    assert exact_conditional(net, target, evidence) == pytest.approx(expected, abs=1e-9)


def test_exact_joint_sums_to_one_and_names_work():
    net = random_net(10, 12, 5)
    joint = exact_joint(net, ["X1", 4], {"X7": 1})
    assert joint.shape == (2, 2) and joint.sum() == pytest.approx(1)
    assert joint[1].sum() == pytest.approx(exact_conditional(net, "X1", {7: 1}))


def test_sampling_matches_exact_conditionals():
    net = random_net(12, 14, 3)
    x = sample(net, 200_000, seed=0)
    assert x.shape == (200_000, 12) and set(np.unique(x)) <= {0, 1}
    np.testing.assert_allclose(x.mean(axis=0), marginals(net), atol=0.01)
    for t, c in [(0, 5), (3, 1), (8, 10)]:
        for v in (0, 1):
            rows = x[:, c] == v
            if rows.sum() > 2000:
                assert x[rows, t].mean() == pytest.approx(exact_conditional(net, t, {c: v}), abs=0.02)


def test_mutual_information_against_definition():
    net = random_net(8, 9, 11)
    x = sample(net, 100_000, 1)
    a, b = 2, 5
    counts = np.zeros((2, 2))
    np.add.at(counts, (x[:, a], x[:, b]), 1)
    pj = counts / counts.sum()
    px, py = pj.sum(1), pj.sum(0)
    m = pj > 0
    empirical = float((pj[m] * np.log(pj[m] / np.outer(px, py)[m])).sum())
    assert mutual_information(net, a, b) == pytest.approx(empirical, abs=0.01)


def test_bad_queries_are_user_errors():
    net = random_net(5, 4, 0)
    with pytest.raises(UserError, match="X9"):
        exact_conditional(net, "X9", {})
    with pytest.raises(UserError, match="values are 0 or 1"):
        exact_conditional(net, 0, {1: 2})
    with pytest.raises(UserError, match="both queried and given"):
        exact_conditional(net, 0, {0: 1})
    with pytest.raises(UserError, match="name"):
        exact_conditional(net, "Y1", {})


def test_zero_probability_evidence():
    net = BayesNet(((), (0,)), (np.array(1.0), np.array([0.3, 0.6])))
    with pytest.raises(UserError, match="probability 0"):
        exact_conditional(net, 1, {0: 0})


def test_json_round_trip_and_bad_files(tmp_path):
    net = random_net(9, 10, 2)
    path = save_net(net, tmp_path / "net.json")
    back = load_net(path)
    assert back.parents == net.parents
    for a, b in zip(back.cpts, net.cpts, strict=True):
        np.testing.assert_array_equal(a, b)
    d = net_to_dict(net)
    d["nodes"][3]["p1"] = [0.5]
    with pytest.raises(DataError, match=r"nodes\[3\]"):
        net_from_dict(d, "x.json")
    d = net_to_dict(net)
    d["nodes"][0]["parents"] = [0]
    d["nodes"][0]["p1"] = [0.1, 0.2]
    with pytest.raises(DataError, match="X0: bad parents"):
        net_from_dict(d, "x.json")
    cyc = {"format": d["format"], "nodes": [{"parents": [1], "p1": [0.1, 0.2]},
                                            {"parents": [0], "p1": [0.3, 0.4]}]}
    with pytest.raises(DataError, match="cycle"):
        net_from_dict(cyc, "c.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match="bad.json:1"):
        load_net(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"nodes": []}))
    with pytest.raises(DataError, match="not a neurips23.locality.bayesnet file"):
        load_net(tmp_path / "other.json")
    d = net_to_dict(net)
    d["nodes"][1]["p1"] = [1.5] * len(d["nodes"][1]["p1"])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        net_from_dict(d, "p.json")
