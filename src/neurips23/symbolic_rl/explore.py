"""Optimistic exploration (Sreedharan & Katz 2023, Algorithm 1): plan k diverse plans on the
optimistic model, execute each from a reset, update the model after every step, repeat until
a plan reaches the goal or the interaction budget is spent. After each plan that does not reach
the goal, every action is probed in every state the plan visited (the official
`test_all_actions`: reset, replay the plan's prefix, try the action), each step an interaction.

Every execution of a plan changes the model or reaches the goal: the optimistic model predicts
at least the true successor state, so a plan it says reaches the goal either fails at a step
(a refutation) or meets a step whose prediction was wrong (adds shrink or deletes grow). When
the planner finds nothing, capped failure bounds are raised; with none capped, the optimistic
model proves the goal unreachable (or the planner hit its node limit).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from neurips23.symbolic_rl.model import OptimisticModel, PlanningView
from neurips23.symbolic_rl.planner import PlannerResult, forbiditerative_plans, k_shortest_plans
from neurips23.symbolic_rl.simulator import Simulator

Planner = Callable[[PlanningView, int, int, int], PlannerResult]


@dataclass
class ExplorationResult:
    """Outcome of one exploration run: the first goal-reaching plan (grounded action indices)
    and what it cost."""

    found: bool
    plan: list[int]
    interactions: int
    iterations: int
    planner_calls: int
    status: str  # found | budget | unreachable | planner-limit
    seconds: float = 0.0
    plan_lengths: list[int] = field(default_factory=list)


def make_planner(name: str, spec, seed: int = 0, max_expansions: int = 20_000,
                 heuristic: str = "hadd", limits=None) -> Planner:
    """The planner `name` ('kshortest' or 'forbiditerative'); ties broken by a seeded action
    order (the runs of one problem differ only in this order)."""
    order = list(range(len(spec.actions)))
    random.Random(seed).shuffle(order)
    if name == "kshortest":
        return lambda view, init, goal, k: k_shortest_plans(view, init, goal, k, order,
                                                            max_expansions, heuristic, limits)
    if name == "forbiditerative":
        return lambda view, init, goal, k: forbiditerative_plans(view, init, goal, k, spec)
    from neurips23.errors import ConfigError
    raise ConfigError(f"planner {name!r}: choose kshortest or forbiditerative")


@dataclass
class Execution:
    """One plan run from a reset: the states it visited (the initial one first), whether it
    reached the goal, and whether the budget ran out."""

    states: list[int]
    reached: bool = False
    spent: bool = False


def execute(sim: Simulator, model: OptimisticModel, plan: list[int], budget: int) -> Execution:
    """Run `plan` from a reset, updating `model` after every step; stops at the first failure,
    at the goal, or when the budget is spent."""
    s = sim.reset()
    out = Execution([s], reached=sim.is_goal(s))
    for a in plan:
        if out.reached:
            break
        if sim.interactions >= budget:
            out.spent = True
            break
        ok, t = sim.step(a)
        model.observe(a, s, ok, t if ok else None)
        if not ok:
            break
        s = t
        out.states.append(s)
        out.reached = sim.is_goal(s)
    return out


def probe_all_actions(sim: Simulator, model: OptimisticModel, plan: list[int],
                      states: list[int], budget: int) -> bool:
    """The official learners' `test_all_actions`: for every state the plan visited, reset, replay
    the plan's prefix up to it and try each action there, updating the model; every step
    (replays included) is an interaction. Returns whether the budget ran out."""
    for depth, state in enumerate(states):
        for a in range(len(sim.spec.actions)):
            if sim.interactions + depth + 1 > budget:
                return True
            sim.reset()
            for b in plan[:depth]:
                sim.step(b)
            ok, t = sim.step(a)
            model.observe(a, state, ok, t if ok else None, probe=True)
    return False


def optimistic_exploration(sim: Simulator, model: OptimisticModel, planner: Planner,
                           k: int = 10, budget: int = 100_000,
                           log: Callable[[str], object] | None = None, limits=None,
                           progress: Callable[[int, int], object] | None = None,
                           probe: bool = True) -> ExplorationResult:
    """Algorithm 1: explore with k plans per round on the optimistic model until the goal,
    probing every action along each failed plan's states (`probe`, on as in the paper's runs).

    `limits` (pddl.limits.Limits) are checked every round (OutOfTime / OutOfMemory);
    `progress(round, interactions)` is called after every round."""
    t0 = time.perf_counter()
    spec = sim.spec
    res = ExplorationResult(False, [], 0, 0, 0, "budget")
    while sim.interactions < budget:
        if limits is not None:
            limits.check("exploration")
        out = planner(model.planning_view(), spec.init, spec.goal, k)
        res.planner_calls += 1
        if not out.plans:
            if model.raise_bounds():
                continue
            res.status = "planner-limit" if out.status == "limit" else "unreachable"
            break
        res.iterations += 1
        res.plan_lengths.append(len(out.plans[0]))
        for plan in out.plans:
            run = execute(sim, model, plan, budget)
            if run.reached:
                res.found, res.plan, res.status = True, plan[:len(run.states) - 1], "found"
                res.interactions = sim.interactions
                res.seconds = time.perf_counter() - t0
                return res
            if run.spent or (probe and probe_all_actions(sim, model, plan, run.states, budget)):
                break
        if progress is not None:
            progress(res.iterations, sim.interactions)
        if log and res.iterations % 10 == 0:
            log(f"round {res.iterations}: {sim.interactions} interactions")
    res.interactions = sim.interactions
    res.seconds = time.perf_counter() - t0
    return res
