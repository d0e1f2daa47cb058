"""The k-plans planner: optimal first plans against the PDDL layer's A*, the k shortest
against brute-force enumeration, plan properties on partially learned models, and the optional
forbid-iterative planner."""

import random

import pytest

from neurips23.symbolic_rl.domains import load_task, task_files
from neurips23.symbolic_rl.model import OptimisticModel, PlanningView
from neurips23.symbolic_rl.planner import (
    forbiditerative_available,
    forbiditerative_plans,
    k_shortest_plans,
)

BW3 = """(define (problem bw3) (:domain blocksworld-4ops) (:objects a b c)
  (:init (ontable a) (ontable b) (ontable c) (clear a) (clear b) (clear c) (handempty))
  (:goal (and (on a b) (on b c))))
"""


def true_view(sim) -> PlanningView:
    pre, add, dele = sim.true_model()
    return PlanningView([[p] for p in pre], add, dele)


@pytest.mark.parametrize("task", ["blocksworld-4-1", "blocksworld-4-2", "gripper-2",
                                  "doorkey-5x5"])
def test_hmax_first_plan_is_optimal_like_the_planning_packages_astar(task):
    from neurips23.pddl.parser import load_domain, load_problem
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground

    sim = load_task(task)
    d, p = task_files(task)
    dom = load_domain(d)
    reference = search(ground(dom, load_problem(p, dom)), "astar")
    ours = k_shortest_plans(true_view(sim), sim.spec.init, sim.spec.goal, 1, heuristic="hmax")
    assert reference.solved and len(ours.plans[0]) == len(reference.plan)


def _brute_force_lengths(view, init, goal, depth):
    """Lengths of every loop-free plan up to `depth` steps that reaches the goal only at its
    end, one per action multiset."""
    found = {}

    def dfs(s, path, on_path):
        if s & goal == goal:
            found.setdefault(tuple(sorted(path)), len(path))
            return
        if len(path) == depth:
            return
        for i in range(len(view.hyps)):
            if view.applicable(i, s):
                t = view.successor(i, s)
                if t not in on_path:
                    dfs(t, path + [i], on_path | {t})

    dfs(init, [], {init})
    return sorted(found.values())


def test_k_shortest_match_brute_force_enumeration():
    from neurips23.symbolic_rl.simulator import simulator_from_text

    d, _ = task_files("blocksworld-4-1")
    sim = simulator_from_text(d.read_text(), BW3)
    view = true_view(sim)
    brute = _brute_force_lengths(view, sim.spec.init, sim.spec.goal, 8)
    ours = k_shortest_plans(view, sim.spec.init, sim.spec.goal, 6, heuristic="hmax")
    assert [len(p) for p in ours.plans] == brute[:6]


@pytest.mark.parametrize("heuristic", ["hadd", "hmax"])
@pytest.mark.parametrize("lifted", [True, False])
def test_plans_on_a_partly_learned_model_are_valid_distinct_and_loop_free(heuristic, lifted):
    sim = load_task("gripper-2")
    m = OptimisticModel(sim.spec, lifted=lifted)
    rng = random.Random(1)
    s = sim.reset()
    for _ in range(60):
        a = rng.randrange(len(sim.spec.actions))
        ok, t = sim.step(a)
        m.observe(a, s, ok, t if ok else None)
        s = t
    view = m.planning_view()
    out = k_shortest_plans(view, sim.spec.init, sim.spec.goal, 5, heuristic=heuristic)
    assert out.plans and len({tuple(sorted(p)) for p in out.plans}) == len(out.plans)
    for plan in out.plans:
        s, seen = sim.spec.init, {sim.spec.init}
        for i, a in enumerate(plan):
            assert view.applicable(a, s)
            s = view.successor(a, s)
            assert s not in seen and (i == len(plan) - 1 or s & sim.spec.goal != sim.spec.goal)
            seen.add(s)
        assert s & sim.spec.goal == sim.spec.goal


def test_unreachable_goal_and_goal_at_init():
    sim = load_task("gripper-2")
    view = true_view(sim)
    nothing = PlanningView([[] for _ in view.hyps], view.add, view.dele)
    assert k_shortest_plans(nothing, sim.spec.init, sim.spec.goal, 3).status == "unsolvable"
    out = k_shortest_plans(view, sim.spec.init, sim.spec.init, 3)
    assert out.plans == [[]] and out.status == "solved"


@pytest.mark.skipif(not forbiditerative_available(), reason="forbiditerative not installed")
def test_forbiditerative_plans_are_valid_in_the_model():
    sim = load_task("gripper-2")
    view = true_view(sim)
    out = forbiditerative_plans(view, sim.spec.init, sim.spec.goal, 2, sim.spec)
    assert out.plans
    for plan in out.plans:
        s = sim.spec.init
        for a in plan:
            assert view.applicable(a, s)
            s = view.successor(a, s)
        assert s & sim.spec.goal == sim.spec.goal
