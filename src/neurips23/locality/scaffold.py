"""d-separation and reasoning scaffolds (Prystawski et al. §3.3; the paper's `generate_scaffolds.py`).

A scaffold for estimating P(target | condition) is a minimal set of variables that d-separates
the two: a minimum node cut between them in the moralised ancestral graph, ordered by distance
from the condition, so that generating those variables' values walks from the condition to the
target. A negative scaffold has as many variables, drawn from those that are neither the pair
nor in the scaffold.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from neurips23.locality.bayesnet import BayesNet, Var


def moral_ancestral_graph(net: BayesNet, nodes: Iterable[int]):
    """The moralised, undirected graph of `nodes` and their ancestors (networkx Graph)."""
    import networkx as nx

    keep = net.ancestors(nodes)
    g = nx.Graph()
    g.add_nodes_from(sorted(keep))
    for v in sorted(keep):
        ps = net.parents[v]  # every parent of an ancestral node is ancestral too
        g.add_edges_from((p, v) for p in ps)
        g.add_edges_from((a, b) for i, a in enumerate(ps) for b in ps[i + 1:])  # marry parents
    return g


def d_separated(net: BayesNet, x: Var, y: Var, given: Iterable[Var] = ()) -> bool:
    """Whether x and y are d-separated by `given` (moralised ancestral graph criterion)."""
    import networkx as nx

    a, b = net.index(x), net.index(y)
    z = {net.index(v) for v in given}
    if a in z or b in z:
        return True
    g = moral_ancestral_graph(net, {a, b} | z)
    g.remove_nodes_from(z)
    return not nx.has_path(g, a, b)


def scaffold(net: BayesNet, target: Var, condition: Var) -> list[int]:
    """A minimal set of variables d-separating target from condition, nearest the condition first.

    Empty when the two are already d-separated (independent); for adjacent variables no set
    separates them and the scaffold is empty as well.
    """
    import networkx as nx

    t, c = net.index(target), net.index(condition)
    g = moral_ancestral_graph(net, {t, c})
    if t == c or not nx.has_path(g, t, c) or g.has_edge(t, c):
        return []
    cut = nx.minimum_node_cut(g, s=t, t=c)
    dist = net.distances()[c]
    return sorted(cut, key=lambda v: (dist[v], v))


def negative_scaffold(net: BayesNet, target: Var, condition: Var, rng: np.random.Generator,
                      size: int | None = None) -> list[int]:
    """As many random variables as the scaffold has, none of them the pair or a scaffold variable.

    Drawn without replacement (the paper's code draws with replacement, which can repeat a
    variable; a repeat adds nothing, so we leave it out)."""
    t, c = net.index(target), net.index(condition)
    pos = scaffold(net, t, c)
    k = len(pos) if size is None else size
    pool = sorted(set(range(net.n_vars)) - {t, c} - set(pos))
    k = min(k, len(pool))
    return [int(v) for v in rng.choice(pool, k, replace=False)] if k else []
