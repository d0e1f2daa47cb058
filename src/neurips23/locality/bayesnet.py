"""Random Bayes nets of binary variables and exact inference on them (Prystawski et al. §3).

A net is a DAG over variables X0 … X{n-1}. Its edges are `n_edges` random pairs with random
directions, redrawn until acyclic; a root's prior P(X=1) is U(0, 1) and each row of a
conditional table is Beta(0.2, 0.2), so most dependencies are strong. Exact conditionals come
from our own variable elimination over the ancestors of the variables involved (barren nodes
contribute nothing), checked in the tests against pgmpy and brute-force enumeration.

Conditional tables are stored as arrays `cpt[i]` of shape (2,) * len(parents[i]):
`cpt[i][a, b, ...]` is P(X_i = 1 | first parent = a, second parent = b, ...), the layout pgmpy
uses for its evidence columns (first parent slowest).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.errors import DataError, UserError

FORMAT = "neurips23.locality.bayesnet"
ROOT_PRIOR = "U(0, 1)"
CPT_ROW_PRIOR = (0.2, 0.2)
"""Beta(a, b) of each conditional-table row (the paper's code, `get_conditional_probability`)."""

Var = int | str


@dataclass(frozen=True, eq=False)
class BayesNet:
    """A Bayes net of binary variables: parents of each variable and its conditional table."""

    parents: tuple[tuple[int, ...], ...]
    cpts: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        _validate(self.parents, self.cpts)

    @property
    def n_vars(self) -> int:
        return len(self.parents)

    @property
    def names(self) -> list[str]:
        return [f"X{i}" for i in range(self.n_vars)]

    @property
    def edges(self) -> list[tuple[int, int]]:
        return [(p, i) for i, ps in enumerate(self.parents) for p in ps]

    def index(self, var: Var) -> int:
        """The index of a variable given as an int or a name 'X<i>'."""
        return var_index(var, self.n_vars)

    def topological_order(self) -> list[int]:
        return topological_order(self.parents)

    def neighbours(self) -> list[set[int]]:
        """Undirected adjacency."""
        adj: list[set[int]] = [set() for _ in range(self.n_vars)]
        for p, c in self.edges:
            adj[p].add(c)
            adj[c].add(p)
        return adj

    def ancestors(self, nodes: Iterable[int]) -> set[int]:
        """The nodes and all their ancestors."""
        seen, stack = set(), list(nodes)
        while stack:
            v = stack.pop()
            if v not in seen:
                seen.add(v)
                stack.extend(self.parents[v])
        return seen

    def distances(self) -> np.ndarray:
        """Undirected shortest-path lengths between all variables (inf where disconnected)."""
        out = np.full((self.n_vars, self.n_vars), np.inf)
        adj = self.neighbours()
        for s in range(self.n_vars):
            out[s, s] = 0
            frontier, d = [s], 0
            while frontier:
                d += 1
                nxt = []
                for v in frontier:
                    for w in adj[v]:
                        if out[s, w] == np.inf:
                            out[s, w] = d
                            nxt.append(w)
                frontier = nxt
        return out


def var_index(var: Var, n_vars: int) -> int:
    """An int index or a name 'X<i>' as an index in range; UserError otherwise."""
    given = var
    if isinstance(var, str):
        if not (var.startswith("X") and var[1:].isdigit()):
            raise UserError(f"variable {var!r}: expected a name X0 … X{n_vars - 1} or an index")
        var = int(var[1:])
    if isinstance(var, bool) or not isinstance(var, int | np.integer) or not 0 <= var < n_vars:
        raise UserError(f"variable {given!r}: not in this net of {n_vars} variables (X0 … X{n_vars - 1})")
    return int(var)


def topological_order(parents: Sequence[Sequence[int]]) -> list[int]:
    """Kahn's algorithm (smallest index first among ready nodes); DataError on a cycle."""
    import heapq

    n = len(parents)
    children: list[list[int]] = [[] for _ in range(n)]
    indeg = [len(ps) for ps in parents]
    for c, ps in enumerate(parents):
        for p in ps:
            children[p].append(c)
    ready = [i for i in range(n) if indeg[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for c in children[v]:
            indeg[c] -= 1
            if indeg[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != n:
        raise DataError(f"the graph has a cycle through X{next(i for i in range(n) if indeg[i] > 0)}")
    return order


def _validate(parents: Sequence[Sequence[int]], cpts: Sequence[np.ndarray]) -> None:
    n = len(parents)
    if n == 0:
        raise DataError("a Bayes net needs at least one variable")
    if len(cpts) != n:
        raise DataError(f"{n} variables but {len(cpts)} conditional tables")
    for i, (ps, t) in enumerate(zip(parents, cpts, strict=True)):
        if len(set(ps)) != len(ps) or any(not 0 <= p < n or p == i for p in ps):
            raise DataError(f"X{i}: bad parents {list(ps)} (each a distinct other variable "
                            f"in 0 … {n - 1})")
        if t.shape != (2,) * len(ps):
            raise DataError(f"X{i}: conditional table of shape {t.shape}, expected "
                            f"{(2,) * len(ps)} for {len(ps)} parents")
        if not np.all(np.isfinite(t)) or t.min(initial=0) < 0 or t.max(initial=0) > 1:
            raise DataError(f"X{i}: conditional probabilities must lie in [0, 1]")
    topological_order(parents)


def random_edges(n_vars: int, n_edges: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """`n_edges` distinct random pairs, each pointed either way with probability 1/2."""
    pairs = [(i, j) for i in range(n_vars) for j in range(i + 1, n_vars)]
    chosen = rng.choice(len(pairs), n_edges, replace=False)
    flips = rng.integers(0, 2, n_edges)
    return [(pairs[k][1], pairs[k][0]) if f else pairs[k] for k, f in zip(chosen, flips, strict=True)]


def random_net(n_vars: int, n_edges: int, seed: int, max_tries: int = 100_000) -> BayesNet:
    """A random DAG (edge sets redrawn until acyclic, as the paper's code does) with U(0,1)
    root priors and Beta(0.2, 0.2) conditional-table rows."""
    if n_vars < 1:
        raise UserError(f"n_vars = {n_vars}: a net needs at least one variable")
    if not 0 <= n_edges <= n_vars * (n_vars - 1) // 2:
        raise UserError(f"n_edges = {n_edges}: must lie in 0 … {n_vars * (n_vars - 1) // 2} "
                        f"for {n_vars} variables")
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        edges = random_edges(n_vars, n_edges, rng)
        parents: list[list[int]] = [[] for _ in range(n_vars)]
        for p, c in edges:
            parents[c].append(p)
        try:
            order = topological_order(parents)
            break
        except DataError:
            continue
    else:
        raise UserError(f"no acyclic graph with {n_edges} edges on {n_vars} variables in "
                        f"{max_tries} draws; use fewer edges")
    cpts: list[np.ndarray | None] = [None] * n_vars
    for v in order:  # tables drawn in topological order, as the paper's code builds them
        ps = sorted(parents[v])
        parents[v] = ps
        if ps:
            cpts[v] = rng.beta(*CPT_ROW_PRIOR, size=(2,) * len(ps))
        else:
            cpts[v] = np.array(rng.random())
    return BayesNet(tuple(tuple(ps) for ps in parents), tuple(cpts))  # type: ignore[arg-type]


def sample(net: BayesNet, n: int, seed: int) -> np.ndarray:
    """n joint samples by ancestral sampling: an (n, n_vars) array of 0/1 (uint8)."""
    if n < 0:
        raise UserError(f"n = {n}: the number of samples cannot be negative")
    rng = np.random.default_rng(seed)
    out = np.zeros((n, net.n_vars), dtype=np.uint8)
    for v in net.topological_order():
        ps = net.parents[v]
        idx = np.zeros(n, dtype=np.int64)
        for p in ps:  # parent configuration as a binary number, first parent most significant
            idx = idx * 2 + out[:, p]
        prob = net.cpts[v].reshape(-1)[idx]
        out[:, v] = rng.random(n) < prob
    return out


# ---- exact inference by variable elimination -------------------------------------------------

@dataclass
class Factor:
    """A table over binary variables: `table[x_vars[0], x_vars[1], ...]`."""

    vars: tuple[int, ...]
    table: np.ndarray


def cpt_factor(net: BayesNet, v: int) -> Factor:
    """P(X_v | parents) as a factor over (parents..., v)."""
    p1 = net.cpts[v]
    return Factor(net.parents[v] + (v,), np.stack([1 - p1, p1], axis=-1))


def _aligned(f: Factor, order: tuple[int, ...]) -> np.ndarray:
    perm = sorted(range(len(f.vars)), key=lambda k: order.index(f.vars[k]))
    shape = [2 if v in f.vars else 1 for v in order]
    return f.table.transpose(perm).reshape(shape)


def factor_product(factors: Sequence[Factor]) -> Factor:
    """The pointwise product of factors over the union of their variables."""
    order = tuple(dict.fromkeys(v for f in factors for v in f.vars))
    table = np.ones((2,) * len(order))
    for f in factors:
        table = table * _aligned(f, order)
    return Factor(order, table)


def sum_out(f: Factor, v: int) -> Factor:
    """Marginalise variable v out of factor f."""
    k = f.vars.index(v)
    return Factor(f.vars[:k] + f.vars[k + 1:], f.table.sum(axis=k))


def reduce(f: Factor, evidence: Mapping[int, int]) -> Factor:
    """Fix the evidence variables of f to their observed values."""
    idx = tuple(evidence[v] if v in evidence else slice(None) for v in f.vars)
    return Factor(tuple(v for v in f.vars if v not in evidence), f.table[idx])


def eliminate(factors: list[Factor], hidden: set[int]) -> list[Factor]:
    """Sum out the hidden variables one at a time, smallest resulting factor first (min-neighbours)."""
    factors = list(factors)
    hidden = set(hidden)
    while hidden:
        v = min(hidden, key=lambda h, fs=factors: (len({u for f in fs if h in f.vars for u in f.vars}), h))
        hidden.discard(v)
        touching = [f for f in factors if v in f.vars]
        factors = [f for f in factors if v not in f.vars]
        if touching:
            factors.append(sum_out(factor_product(touching), v))
    return factors


def exact_joint(net: BayesNet, query: Sequence[Var], given: Mapping[Var, int] | None = None) -> np.ndarray:
    """P(query | given) as a table of shape (2,) * len(query), by variable elimination over
    the ancestors of the query and evidence variables."""
    q = [net.index(v) for v in query]
    if len(set(q)) != len(q):
        raise UserError(f"query variables {list(query)} repeat a variable")
    ev = _evidence(net, given)
    clash = [f"X{v}" for v in q if v in ev]
    if clash:
        raise UserError(f"{', '.join(clash)} is both queried and given")
    relevant = net.ancestors(q + list(ev))
    factors = [reduce(cpt_factor(net, v), ev) for v in sorted(relevant)]
    factors = eliminate(factors, relevant - set(q) - set(ev))
    joint = factor_product(factors) if factors else Factor((), np.array(1.0))
    table = _aligned(joint, tuple(q)).reshape((2,) * len(q)) if q else joint.table
    total = float(table.sum())
    if not total > 0:
        raise UserError(f"the evidence {_show(ev)} has probability 0 in this net")
    return table / total


def exact_conditional(net: BayesNet, target: Var, given: Mapping[Var, int]) -> float:
    """P(target = 1 | given) exactly (variable elimination); `given` maps variables to 0/1."""
    return float(exact_joint(net, [target], given)[1])


def marginals(net: BayesNet) -> np.ndarray:
    """P(X_i = 1) for every variable."""
    return np.array([exact_conditional(net, v, {}) for v in range(net.n_vars)])


def mutual_information(net: BayesNet, x: Var, y: Var) -> float:
    """I(X; Y) in nats from the exact pairwise joint (the paper's code uses natural logs)."""
    joint = exact_joint(net, [x, y])
    px, py = joint.sum(axis=1), joint.sum(axis=0)
    mask = joint > 0
    return float((joint[mask] * np.log(joint[mask] / np.outer(px, py)[mask])).sum())


def brute_force_conditional(net: BayesNet, target: Var, given: Mapping[Var, int]) -> float:
    """P(target = 1 | given) by summing the full joint over all 2^n states (small nets only)."""
    n = net.n_vars
    if n > 20:
        raise UserError(f"brute force over {n} variables (2^{n} states) is too large; use "
                        "exact_conditional")
    t, ev = net.index(target), _evidence(net, given)
    states = ((np.arange(2 ** n)[:, None] >> np.arange(n)[::-1]) & 1).astype(np.int64)
    logp = np.zeros(2 ** n)
    for v in range(n):
        idx = np.zeros(2 ** n, dtype=np.int64)
        for p in net.parents[v]:
            idx = idx * 2 + states[:, p]
        p1 = net.cpts[v].reshape(-1)[idx]
        with np.errstate(divide="ignore"):
            logp += np.log(np.where(states[:, v] == 1, p1, 1 - p1))
    keep = np.all([states[:, v] == x for v, x in ev.items()], axis=0) if ev else np.ones(2 ** n, bool)
    w = np.exp(logp) * keep
    return float(w[states[:, t] == 1].sum() / w.sum())


def _evidence(net: BayesNet, given: Mapping[Var, int] | None) -> dict[int, int]:
    ev: dict[int, int] = {}
    for var, val in (given or {}).items():
        i = net.index(var)
        if isinstance(val, bool) or val not in (0, 1):
            raise UserError(f"X{i} = {val!r}: values are 0 or 1")
        if i in ev and ev[i] != int(val):
            raise UserError(f"X{i} given twice with different values")
        ev[i] = int(val)
    return ev


def _show(ev: Mapping[int, int]) -> str:
    return "{" + ", ".join(f"X{v}={x}" for v, x in ev.items()) + "}"


# ---- interop: pgmpy and JSON ------------------------------------------------------------------

def to_pgmpy(net: BayesNet):
    """The net as a pgmpy DiscreteBayesianNetwork with nodes X0 … X{n-1} (state 1 = index 1)."""
    try:
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.models import DiscreteBayesianNetwork
    except ImportError:  # pragma: no cover - depends on the environment
        raise UserError("to_pgmpy needs pgmpy: pip install 'neurips23[ref]'") from None
    names = net.names
    model = DiscreteBayesianNetwork()
    model.add_nodes_from(names)
    model.add_edges_from([(names[p], names[c]) for p, c in net.edges])
    cpds = []
    for v in range(net.n_vars):
        p1 = net.cpts[v].reshape(-1)
        ps = [names[p] for p in net.parents[v]]
        cpds.append(TabularCPD(names[v], 2, np.stack([1 - p1, p1]).reshape(2, -1),
                               evidence=ps or None, evidence_card=[2] * len(ps) or None))
    model.add_cpds(*cpds)
    model.check_model()
    return model


def net_to_dict(net: BayesNet) -> dict[str, Any]:
    """A JSON-able description: parents and flattened P(X=1 | parents) (first parent slowest)."""
    return {"format": FORMAT, "version": 1, "n_vars": net.n_vars,
            "nodes": [{"name": f"X{i}", "parents": list(ps), "p1": net.cpts[i].reshape(-1).tolist()}
                      for i, ps in enumerate(net.parents)]}


def net_from_dict(data: Mapping[str, Any], source: str = "net") -> BayesNet:
    """The inverse of net_to_dict; DataError naming the source and the bad node."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise DataError(f"{source}: not a {FORMAT} file (missing \"format\": \"{FORMAT}\")")
    nodes = data.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise DataError(f"{source}: \"nodes\" must be a non-empty list")
    parents, cpts = [], []
    for i, node in enumerate(nodes):
        where = f"{source}: nodes[{i}]"
        if not isinstance(node, Mapping) or not {"parents", "p1"} <= set(node):
            raise DataError(f"{where}: expected an object with \"parents\" and \"p1\"")
        ps, p1 = node["parents"], node["p1"]
        if not isinstance(ps, list) or not all(isinstance(p, int) and not isinstance(p, bool) for p in ps):
            raise DataError(f"{where}: \"parents\" must be a list of variable indices")
        if not isinstance(p1, list) or len(p1) != 2 ** len(ps) or not all(
                isinstance(x, int | float) and not isinstance(x, bool) for x in p1):
            raise DataError(f"{where}: \"p1\" must list {2 ** len(ps)} probabilities (one per "
                            "parent configuration)")
        parents.append(tuple(ps))
        cpts.append(np.asarray(p1, dtype=float).reshape((2,) * len(ps)))
    try:
        return BayesNet(tuple(parents), tuple(cpts))
    except DataError as e:
        raise DataError(f"{source}: {e}") from None


def save_net(net: BayesNet, path: str | Path) -> Path:
    """Write the net as JSON (atomically)."""
    from neurips23.utils import atomic_write_text

    atomic_write_text(path, json.dumps(net_to_dict(net), indent=1))
    return Path(path)


def read_json(path: str | Path, what: str) -> Any:
    """The JSON in `path` (a `what` file); DataError naming the file and line when it is not."""
    from neurips23.lm.data import read_json as read

    return read(path, f"{what} file")


def load_net(path: str | Path) -> BayesNet:
    """Read a net written by save_net; DataError on a bad file."""
    return net_from_dict(read_json(path, "Bayes net"), str(path))

