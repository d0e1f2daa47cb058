"""Held-out pair selection (against brute-force mutual information and networkx distances),
d-separation (against networkx) and scaffolds (d-separating and minimal, by brute force)."""

from itertools import combinations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import UserError
from neurips23.locality.bayesnet import brute_force_conditional, random_net
from neurips23.locality.heldout import pair_table, select_held_out_pairs
from neurips23.locality.scaffold import d_separated, negative_scaffold, scaffold


def _brute_mi(net, a, b):
    pa = brute_force_conditional(net, a, {})
    mi = 0.0
    for x in (0, 1):
        px = pa if x else 1 - pa
        pb_given = brute_force_conditional(net, b, {a: x})
        pb = brute_force_conditional(net, b, {})
        for y in (0, 1):
            pxy = px * (pb_given if y else 1 - pb_given)
            py = pb if y else 1 - pb
            if pxy > 0:
                mi += pxy * np.log(pxy / (px * py))
    return mi


def _dag(net):
    g = nx.DiGraph()
    g.add_nodes_from(range(net.n_vars))
    g.add_edges_from(net.edges)
    return g


def test_pairs_are_distant_and_among_the_most_dependent():
    net = random_net(13, 15, 8)
    n_pairs = 3
    picked = select_held_out_pairs(net, n_pairs, seed=0)
    und = nx.Graph(_dag(net))
    brute = {}
    for a, b in combinations(range(13), 2):
        if nx.has_path(und, a, b) and nx.shortest_path_length(und, a, b) >= 2:
            brute[(a, b)] = _brute_mi(net, a, b)
    for row in pair_table(net):
        assert row.mi == pytest.approx(brute[(row.a, row.b)], abs=1e-9)
        assert row.distance == nx.shortest_path_length(und, row.a, row.b)
    top = sorted(brute.values(), reverse=True)
    assert len(picked) == n_pairs
    for p in picked:
        assert p.distance >= 2
        assert p.mi >= top[2 * n_pairs - 1] - 1e-12
    assert select_held_out_pairs(net, n_pairs, seed=0) == picked


def test_pair_selection_errors():
    net = random_net(6, 2, 0)
    with pytest.raises(UserError, match="dependent pairs"):
        select_held_out_pairs(net, 5, 0)
    with pytest.raises(UserError, match="adjacent"):
        select_held_out_pairs(net, 1, 0, min_distance=1)


small = st.builds(lambda n, e, s: random_net(n, min(e, n * (n - 1) // 2), s),
                  st.integers(3, 10), st.integers(1, 14), st.integers(0, 10_000))


@settings(max_examples=40, deadline=None)
@given(small, st.data())
def test_d_separation_agrees_with_networkx(net, data):
    x, y = data.draw(st.lists(st.integers(0, net.n_vars - 1), min_size=2, max_size=2, unique=True))
    others = [v for v in range(net.n_vars) if v not in (x, y)]
    z = data.draw(st.lists(st.sampled_from(others), unique=True, max_size=3)) if others else []
    assert d_separated(net, x, y, z) == nx.is_d_separator(_dag(net), {x}, {y}, set(z))


@settings(max_examples=30, deadline=None)
@given(small, st.data())
def test_scaffold_is_a_minimum_d_separator(net, data):
    g = _dag(net)
    t, c = data.draw(st.lists(st.integers(0, net.n_vars - 1), min_size=2, max_size=2, unique=True))
    if t in g[c] or c in g[t]:
        assert scaffold(net, t, c) == []  # nothing separates adjacent variables
        return
    s = scaffold(net, t, c)
    assert nx.is_d_separator(g, {t}, {c}, set(s))
    others = [v for v in range(net.n_vars) if v not in (t, c)]
    for k in range(len(s)):
        assert not any(nx.is_d_separator(g, {t}, {c}, set(z)) for z in combinations(others, k))
    dist = net.distances()[c]
    assert [dist[v] for v in s] == sorted(dist[v] for v in s)  # nearest the condition first


def test_negative_scaffold():
    net = random_net(30, 30, 2)
    pairs = select_held_out_pairs(net, 5, 0)
    rng = np.random.default_rng(0)
    for p in pairs:
        pos = scaffold(net, p.a, p.b)
        neg = negative_scaffold(net, p.a, p.b, rng)
        assert len(neg) == len(pos) and len(set(neg)) == len(neg)
        assert not set(neg) & (set(pos) | {p.a, p.b})
