"""k plans on the optimistic model (the paper's exploration step uses Katz & Sohrabi's diverse
planner). Two planners with one interface, `plans(view, init, goal, k) -> PlannerResult`:

- `k_shortest_plans`: our pure-Python fallback and the default. A* with the admissible h_max,
  each state expanded up to k times (the k-shortest-walks scheme), paths that revisit a state
  cut, and plans kept only if they differ as action multisets (the "forbid multisets" notion
  of difference of the forbid-iterative planners). Deterministic: ties follow `order`.
- `forbiditerative_plans`: the `forbiditerative` package's diverse planner (GPL; called as an
  installed dependency through its Python API, never copied), on the model written as PDDL.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from neurips23.errors import UserError
from neurips23.symbolic_rl.model import PlanningView
from neurips23.symbolic_rl.simulator import bits

INF = math.inf


@dataclass
class PlannerResult:
    """Up to k plans (lists of grounded action indices); status solved | unsolvable | limit."""

    plans: list[list[int]] = field(default_factory=list)
    status: str = "unsolvable"
    expanded: int = 0


def action_copies(view: PlanningView, order: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """The paper's action copies: one (precondition, add, delete, action) per hypothesis, in
    `order`; actions without hypotheses (left out) have none."""
    return [(h, view.add[i], view.dele[i], i) for i in order for h in view.hyps[i]]


def h_max(copies: Sequence[tuple[int, int, int, int]], state: int, goal: int) -> float:
    """h_max with unit costs (Bonet & Geffner 2001): the first relaxed layer that contains the
    goal; an action enters a layer when one of its copies' preconditions holds. Admissible."""
    reached, layer = state, 0
    pending = copies
    while reached & goal != goal:
        new, rest = reached, []
        for c in pending:
            pre = c[0]
            if pre & reached == pre:
                new |= c[1]
            else:
                rest.append(c)
        if new == reached:
            return INF
        reached, pending, layer = new, rest, layer + 1
    return layer


class HAdd:
    """h_add with unit costs (Bonet & Geffner 2001): the sum over goal propositions of their
    relaxed cost, computed by Dijkstra over propositions (a copy fires when its last
    precondition is settled). Not admissible, far better informed than h_max."""

    def __init__(self, copies: Sequence[tuple[int, int, int, int]], goal: int):
        self.pre_bits = [list(bits(c[0])) for c in copies]
        self.add_bits = [list(bits(c[1])) for c in copies]
        self.pre_of: dict[int, list[int]] = {}
        for j, pb in enumerate(self.pre_bits):
            for p in pb:
                self.pre_of.setdefault(p, []).append(j)
        self.free = [j for j, pb in enumerate(self.pre_bits) if not pb]
        self.goal = goal
        self.goal_bits = list(bits(goal))

    def __call__(self, state: int) -> float:
        best = dict.fromkeys(bits(state), 0)
        heap = [(0, b) for b in best]
        unsat = [len(pb) for pb in self.pre_bits]
        acc = [0] * len(unsat)
        add_bits, pre_of = self.add_bits, self.pre_of

        def fire(j: int, c: int) -> None:
            for a in add_bits[j]:
                if c < best.get(a, INF):
                    best[a] = c
                    heapq.heappush(heap, (c, a))

        for j in self.free:
            fire(j, 1)
        settled: set[int] = set()
        left = self.goal & ~state
        while heap and left:
            c, a = heapq.heappop(heap)
            if a in settled or c > best[a]:
                continue
            settled.add(a)
            left &= ~(1 << a)
            for j in pre_of.get(a, ()):
                acc[j] += c
                unsat[j] -= 1
                if unsat[j] == 0:
                    fire(j, 1 + acc[j])
        if left:
            return INF
        return sum(best[g] for g in self.goal_bits)


HEURISTICS = ("hadd", "hmax")


def k_shortest_plans(view: PlanningView, init: int, goal: int, k: int = 10,
                     order: Sequence[int] | None = None, max_expansions: int = 20_000,
                     heuristic: str = "hadd", limits=None) -> PlannerResult:
    """Up to k loop-free plans, distinct as action multisets, by A* (f = g + h) with each state
    expanded up to k times. With h_max they are the k shortest; with h_add (default) a search
    that is far cheaper on the optimistic model and finds near-shortest plans. `limits`
    (pddl.limits.Limits) are checked as it expands: OutOfTime / OutOfMemory past them."""
    order = list(range(len(view.hyps))) if order is None else list(order)
    copies = action_copies(view, order)
    res = PlannerResult()
    if init & goal == goal:
        res.plans, res.status = [[]], "solved"
        return res
    h = _cached_heuristic(heuristic, copies, goal)
    h0 = h(init)
    if h0 == INF:
        return res
    nodes: list[tuple[int, int, int, int]] = [(init, -1, -1, 0)]  # state, parent, action, g
    heap = [(h0, h0, 0, 0)]
    pops: dict[int, int] = {}
    done: set[tuple[int, tuple[int, ...]]] = set()  # (state, action multiset) expanded
    counter = 0
    while heap and len(res.plans) < k:
        n = heapq.heappop(heap)[3]
        s, g = nodes[n][0], nodes[n][3]
        if pops.get(s, 0) >= k:
            continue
        plan = _path(nodes, n)
        key = (s, tuple(sorted(plan)))  # paths that permute the same actions are one plan
        if key in done:
            continue
        done.add(key)
        pops[s] = pops.get(s, 0) + 1
        if s & goal == goal:
            res.plans.append(plan)
            continue
        res.expanded += 1
        if limits is not None and res.expanded % 64 == 0:
            limits.check("planning on the optimistic model")
        if res.expanded > max_expansions:
            res.status = "limit"
            return res
        on_path = _path_states(nodes, n)
        fired = -1
        for pre, add, dele, i in copies:
            if i == fired or pre & s != pre:
                continue
            fired = i  # copies of one action are adjacent; one successor per action
            t = (s & ~dele) | add
            if t in on_path:
                continue
            ht = h(t)
            if ht == INF:
                continue
            nodes.append((t, n, i, g + 1))
            counter += 1
            heapq.heappush(heap, (g + 1 + ht, ht, counter, len(nodes) - 1))
    res.status = "solved" if res.plans else "unsolvable"
    return res


def _cached_heuristic(name: str, copies: list[tuple[int, int, int, int]], goal: int
                      ) -> Callable[[int], float]:
    """h_max or h_add of a state, computed once per state."""
    if name == "hmax":
        def raw(s: int) -> float:
            return h_max(copies, s, goal)
    elif name == "hadd":
        raw = HAdd(copies, goal)
    else:
        raise ValueError(f"unknown heuristic {name!r} ({', '.join(HEURISTICS)})")
    cache: dict[int, float] = {}

    def h(s: int) -> float:
        v = cache.get(s)
        if v is None:
            v = cache[s] = raw(s)
        return v

    return h


def _path(nodes: list[tuple[int, int, int, int]], n: int) -> list[int]:
    plan = []
    while nodes[n][1] != -1:
        plan.append(nodes[n][2])
        n = nodes[n][1]
    return plan[::-1]


def _path_states(nodes: list[tuple[int, int, int, int]], n: int) -> set[int]:
    out = set()
    while n != -1:
        out.add(nodes[n][0])
        n = nodes[n][1]
    return out


def forbiditerative_available() -> bool:
    """True if the optional `forbiditerative` planner is installed."""
    try:
        import forbiditerative.planners  # noqa: F401
    except ImportError:
        return False
    return True


def forbiditerative_plans(view: PlanningView, init: int, goal: int, k: int, spec,
                          timeout: int = 120) -> PlannerResult:
    """k diverse plans from the forbid-iterative diverse planner (`plan_diverse_agl`) on the
    model written as grounded PDDL."""
    if not forbiditerative_available():
        raise UserError("planner 'forbiditerative' is not installed: pip install "
                        "'forbiditerative>=1.1,<1.2' (or use the built-in planner 'kshortest')")
    from forbiditerative import planners

    from neurips23.symbolic_rl.pddl_writer import grounded_model_pddl

    res = PlannerResult()
    if init & goal == goal:
        res.plans, res.status = [[]], "solved"
        return res
    domain_text, problem_text, names = grounded_model_pddl(view, spec, init, goal)
    with tempfile.TemporaryDirectory(prefix="symrl-fi-") as d:
        dp, pp = Path(d, "domain.pddl"), Path(d, "problem.pddl")
        dp.write_text(domain_text, encoding="utf-8")
        pp.write_text(problem_text, encoding="utf-8")
        with contextlib.chdir(d):  # the planner leaves a found_plans/ folder in its cwd
            out = planners.plan_diverse_agl(dp, pp, k, timeout=timeout)
    seen = set()
    for p in (out or {}).get("plans", []):
        plan = [names[a.strip().strip("()").split()[0].lower()] for a in p["actions"]]
        key = tuple(sorted(plan))
        if key not in seen:
            seen.add(key)
            res.plans.append(plan)
    res.status = "solved" if res.plans else "unsolvable"
    return res
