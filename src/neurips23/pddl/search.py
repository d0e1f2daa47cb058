"""Sound planners in pure Python: A* with the admissible h_max (optimal) and greedy best-first
search with h_FF (Hoffmann & Nebel 2001), both over bit-mask states with a time limit."""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field

from neurips23.pddl.limits import Limits, OutOfTime
from neurips23.pddl.task import GroundTask

INF = math.inf


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def relaxed_layers(task: GroundTask, state: int, goal: int | None = None
                   ) -> tuple[list[int], list[list[int]]] | None:
    """Delete-relaxed planning graph from `state`: atom masks per layer and the actions first
    applicable in each layer; None if the goal (default: the task's) is relaxed-unreachable."""
    goal = task.goal if goal is None else goal
    reached = state
    layers = [reached]
    acts: list[list[int]] = []
    pending = list(range(len(task.actions)))
    pre, add = task.pre, task.add
    while reached & goal != goal:
        now, rest = [], []
        new = reached
        for i in pending:
            p = pre[i]
            if reached & p == p:
                now.append(i)
                new |= add[i]
            else:
                rest.append(i)
        if new == reached:
            return None
        acts.append(now)
        pending = rest
        reached = new
        layers.append(reached)
    return layers, acts


def h_max(task: GroundTask, state: int) -> float:
    """h_max with unit costs: the first layer where all goals are reached (admissible)."""
    res = relaxed_layers(task, state)
    return INF if res is None else len(res[0]) - 1


def h_ff(task: GroundTask, state: int, goal: int | None = None) -> float:
    """h_FF: the size of a relaxed plan extracted backwards from the planning graph."""
    goal = task.goal if goal is None else goal
    res = relaxed_layers(task, state, goal)
    if res is None:
        return INF
    layers, acts = res
    first = {}
    prev = 0
    for k, m in enumerate(layers):
        for b in _bits(m & ~prev):
            first[b] = k
        prev = m
    goals_at: dict[int, set[int]] = {}
    for b in _bits(goal):
        goals_at.setdefault(first[b], set()).add(b)
    chosen: set[int] = set()
    for k in range(len(layers) - 1, 0, -1):
        for g in goals_at.get(k, ()):
            bit = 1 << g
            for i in acts[k - 1]:
                if task.add[i] & bit:
                    break
            else:  # pragma: no cover - layer construction guarantees an achiever
                raise AssertionError("no achiever")
            if i in chosen:
                continue
            chosen.add(i)
            for b in _bits(task.pre[i]):
                if first[b] > 0:
                    goals_at.setdefault(first[b], set()).add(b)
    return len(chosen)


def h_blind(task: GroundTask, state: int) -> float:
    """0 at goal states, 1 elsewhere (admissible for unit costs)."""
    return 0 if task.is_goal(state) else 1


HEURISTICS = {"hmax": h_max, "hff": h_ff, "blind": h_blind}


@dataclass
class SearchResult:
    """A planner's answer: status solved | unsolvable | timeout | node_limit."""

    status: str
    plan: list[str] = field(default_factory=list)
    expanded: int = 0
    generated: int = 0
    seconds: float = 0.0
    initial_h: float = 0.0

    @property
    def solved(self) -> bool:
        return self.status == "solved"


def _extract(task: GroundTask, parent: dict[int, tuple[int, int]], s: int) -> list[str]:
    plan = []
    while parent[s][0] != -1:
        prev, a = parent[s]
        plan.append(str(task.actions[a]))
        s = prev
    return plan[::-1]


def search(task: GroundTask, algorithm: str = "astar", heuristic: str | None = None,
           time_limit: float = 60.0, max_expansions: int | None = None,
           limits: Limits | None = None) -> SearchResult:
    """A* (f = g + h, optimal with an admissible h; default h_max) or GBFS (h only; default
    h_FF). Exhausting the reachable space proves the task unsolvable.

    The clock is read after every heuristic evaluation, so the search stops within one
    evaluation of its limit; `limits` (a deadline shared with grounding, and a memory bound)
    replaces `time_limit` when given."""
    if algorithm not in {"astar", "gbfs"}:
        raise ValueError(f"unknown algorithm {algorithm!r} (astar, gbfs)")
    hname = heuristic or ("hmax" if algorithm == "astar" else "hff")
    h = HEURISTICS[hname]
    t0 = time.perf_counter()
    limits = limits or Limits.start(time_limit)
    try:
        return _search(task, algorithm, h, max_expansions, limits, t0)
    except OutOfTime:
        return SearchResult("timeout", seconds=time.perf_counter() - t0)


def _search(task: GroundTask, algorithm: str, h, max_expansions: int | None, limits: Limits,
            t0: float) -> SearchResult:
    s0 = task.init
    h0 = h(task, s0)
    res = SearchResult("unsolvable", initial_h=h0)
    if h0 == INF:
        res.seconds = time.perf_counter() - t0
        return res
    g = {s0: 0}
    parent: dict[int, tuple[int, int]] = {s0: (-1, -1)}
    counter = 0
    heap = [((h0, h0) if algorithm == "astar" else (h0, 0), counter, s0)]
    closed: set[int] = set()
    pre, add, dele = task.pre, task.add, task.dele
    nact = len(pre)
    deadline = math.inf if limits.deadline is None else limits.deadline
    while heap and res.status != "timeout":
        _, _, s = heapq.heappop(heap)
        if s in closed:
            continue
        if task.is_goal(s):
            res.status, res.plan = "solved", _extract(task, parent, s)
            break
        closed.add(s)
        res.expanded += 1
        if time.perf_counter() > deadline:
            res.status = "timeout"
            break
        limits.check("search")  # the memory bound (read at most every 0.1 s)
        if max_expansions is not None and res.expanded > max_expansions:
            res.status = "node_limit"
            break
        gs = g[s] + 1
        for i in range(nact):
            p = pre[i]
            if s & p != p:
                continue
            t = (s & ~dele[i]) | add[i]
            if t in closed or g.get(t, INF) <= gs:
                continue
            ht = h(task, t)
            res.generated += 1
            if time.perf_counter() > deadline:
                res.status = "timeout"
                break
            if ht == INF:
                closed.add(t)
                continue
            g[t] = gs
            parent[t] = (s, i)
            counter += 1
            key = (gs + ht, ht) if algorithm == "astar" else (ht, gs)
            heapq.heappush(heap, (key, counter, t))
    res.seconds = time.perf_counter() - t0
    return res
