"""The simulator (counting, failure semantics, agreement with the PDDL layer's validator), the
Gymnasium wrapper (gymnasium's own checker) and the shipped tasks."""

import random

import pytest

from neurips23.errors import DataError
from neurips23.pddl.parser import load_domain, load_problem
from neurips23.pddl.validate import validate_plan
from neurips23.symbolic_rl.domains import (
    TASKS,
    doorkey_problem,
    family,
    load_task,
    pddl_dir,
    sample_goals,
    task_files,
)
from neurips23.symbolic_rl.simulator import simulator_from_text


def test_every_step_counts_and_failure_leaves_the_state(two_actions):
    sim = two_actions
    a = sim.spec.actions.index(("a", ()))
    b = sim.spec.actions.index(("b", ()))
    s0 = sim.reset()
    assert sim.step(a) == (False, s0) and sim.state == s0
    sim.step(b)
    sim.reset()
    sim.reset()
    sim.step(b)
    assert sim.interactions == 3


@pytest.mark.parametrize("task", ["blocksworld-4-1", "gripper-2", "doorkey-5x5"])
def test_steps_agree_with_the_planning_validator(task):
    """Random walks: each step's success and successor match VAL semantics on the same plan."""
    sim = load_task(task)
    d, p = task_files(task)
    dom = load_domain(d)
    prob = load_problem(p, dom)
    rng = random.Random(3)
    plan = []
    s = sim.reset()
    for _ in range(30):
        a = rng.randrange(len(sim.spec.actions))
        ok, t = sim.step(a)
        res = validate_plan(dom, prob, plan + [sim.spec.action_str(a)])
        assert ok == (res.failed_step is None)
        if ok:
            plan.append(sim.spec.action_str(a))
            assert sim.spec.mask(res.final_state) == t
        else:
            assert t == s
        s = t


def test_propositions_are_every_typed_grounding():
    sim = load_task("blocksworld-4-1")  # 4 blocks: 4 clear, 4 ontable, 1 handempty, 4 holding, 16 on
    assert len(sim.spec.props) == 29
    grip = load_task("gripper-2")  # 2 rooms, 2 balls, 2 grippers
    assert len(grip.spec.props) == 2 + 4 + 2 + 4


def test_bad_pddl_names_the_line():
    with pytest.raises(DataError, match=r"<pddl>:domain:3:\d+"):
        simulator_from_text("(define (domain x)\n (:predicates (p))\n (:action a :parameters ()\n",
                            "(define (problem y) (:domain x) (:init) (:goal (p)))")


def test_gymnasium_checker_accepts_the_wrapper():
    pytest.importorskip("gymnasium")
    from gymnasium.utils.env_checker import check_env

    from neurips23.symbolic_rl.gym_env import make_env

    env = make_env(load_task("gripper-2"), max_episode_steps=20)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    before = env.unwrapped.interactions
    obs, reward, terminated, truncated, info = env.step(0)
    assert env.unwrapped.interactions == before + 1 and obs.shape == (12,)
    assert reward == 0.0 and not terminated and "applied" in info


@pytest.mark.parametrize("size", [5, 6, 8])
def test_shipped_doorkey_files_are_the_generators_output(size):
    assert (pddl_dir() / "doorkey" / f"doorkey-{size}x{size}.pddl").read_text() == \
        doorkey_problem(size)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_shipped_task_is_solvable(task):
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground

    d, p = task_files(task)
    dom = load_domain(d)
    assert search(ground(dom, load_problem(p, dom)), "gbfs").solved


@pytest.mark.parametrize("task", ["blocksworld-4-1", "gripper-4", "doorkey-6x6"])
def test_held_out_goals_are_new_distinct_and_reachable(task):
    from neurips23.pddl.parser import parse_problem
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground
    from neurips23.symbolic_rl.pddl_writer import problem_pddl

    sim = load_task(task)
    spec = sim.spec
    goals = sample_goals(spec, 5, random.Random(0), family(task))
    assert len(goals) == 5 and len(set(goals)) == 5
    dom = load_domain(task_files(task)[0])
    for g in goals:
        assert spec.mask(g) & spec.init != spec.mask(g) and g != tuple(spec.atoms(spec.goal))
        prob = parse_problem(problem_pddl(spec.with_goal(g)), dom, "held-out")
        assert search(ground(dom, prob), "gbfs").solved


@pytest.mark.parametrize("k", range(3, 11))
def test_shipped_gripper_x_files_are_the_generators_output(k):
    """IPC gripper-x-k has 2k+2 balls: the official Domains/grounded_gripper/prob_k (ModelLearner
    a0d0f5f) grounds 8 balls for k=3 and 22 for k=10."""
    from neurips23.symbolic_rl.domains import gripper_problem

    text = (pddl_dir() / "gripper" / f"gripper-x-{k}.pddl").read_text()
    assert text == gripper_problem(k)
    sim = load_task(f"gripper-x-{k}")
    assert sum(t == "ball" for t in sim.spec.objects.values()) == 2 * k + 2


@pytest.mark.parametrize("n,floors,passengers", [(21, 10, 5), (24, 10, 5), (26, 12, 6)])
def test_elevator_tasks_ground_to_the_official_action_sets(n, floors, passengers):
    """The official grounded Miconic files (Domains/grounded_elevator/prob_n) hold one UP and one
    DOWN action per ordered pair of floors and one BOARD and one DEPART per passenger; our
    grounding of the lifted domain with its static facts gives the same action set."""
    sim = load_task(f"elevator-{n}")
    names = [name for name, _ in sim.spec.actions]
    pairs = floors * (floors - 1) // 2
    assert names.count("up") == names.count("down") == pairs
    assert names.count("board") == names.count("depart") == passengers
