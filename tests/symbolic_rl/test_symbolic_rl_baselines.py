"""The RL baselines and the exploration loop: same seed same numbers, valid first plans, and
R-MAX's systematic exploration bound."""

import pytest

from neurips23.symbolic_rl.baselines import BASELINES, q_learning, r_max, run_baseline
from neurips23.symbolic_rl.config import LearnerSettings
from neurips23.symbolic_rl.domains import load_task, task_files
from neurips23.symbolic_rl.experiment import learn


def _valid(task, sim, plan):
    from neurips23.pddl.parser import load_domain, load_problem
    from neurips23.pddl.validate import validate_plan

    d, p = task_files(task)
    dom = load_domain(d)
    return validate_plan(dom, load_problem(p, dom), [sim.spec.action_str(a) for a in plan]).valid


@pytest.mark.parametrize("name", BASELINES)
def test_baselines_are_seeded_and_their_first_plans_valid(name):
    runs = []
    for _ in range(2):
        sim = load_task("gripper-2")
        runs.append((run_baseline(name, sim, 20_000, seed=3), sim))
    (a, sim), (b, _) = runs
    assert (a.found, a.interactions, a.plan) == (b.found, b.interactions, b.plan)
    assert a.found and a.interactions == sim.interactions and _valid("gripper-2", sim, a.plan)


def test_rmax_never_needs_more_than_every_state_action_pair_plus_walks():
    """With m = 1 each step either tries an untried pair or walks toward one: on a task with S
    reachable states and A actions it reaches the goal within S*A tries plus S walks of at most
    S steps each."""
    sim = load_task("doorkey-5x5")
    res = r_max(sim, 10**6, seed=0)
    s, a = 7 * 2 * 2, len(sim.spec.actions)  # cells x key held or not x door locked or not
    assert res.found and res.interactions <= s * a + s * s


def test_optimistic_q_learning_beats_plain_q_learning_on_a_sparse_task():
    plain = q_learning(load_task("doorkey-5x5"), 50_000, seed=0)
    optimistic = q_learning(load_task("doorkey-5x5"), 50_000, seed=0, optimistic=True)
    assert optimistic.found and optimistic.interactions < plain.interactions


def test_exploration_rows_are_seeded_and_plans_valid():
    a, _, _ = learn("gripper-2", "lifted", 1, 5_000, LearnerSettings())
    b, model, sim = learn("gripper-2", "lifted", 1, 5_000, LearnerSettings())
    assert a == {**b, "seconds": a["seconds"]}
    assert a["found"] and a["plan_valid"] and a["sound"]
    small, _, _ = learn("gripper-2", "lifted", 1, 5, LearnerSettings())
    assert not small["found"] and small["interactions"] == 5 and small["status"] == "budget"
