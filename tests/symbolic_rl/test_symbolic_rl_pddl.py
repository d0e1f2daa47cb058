"""The learned model written as PDDL: read back by the PDDL layer's reader with the same
semantics, plans checked by its validator, and read by unified-planning."""

import random

import pytest

from neurips23.pddl.parser import parse_domain, parse_problem
from neurips23.pddl.task import ground
from neurips23.pddl.validate import validate_plan
from neurips23.symbolic_rl.domains import load_task, task_files
from neurips23.symbolic_rl.model import OptimisticModel
from neurips23.symbolic_rl.pddl_writer import (
    grounded_model_pddl,
    learned_domain_pddl,
    lifted_model_pddl,
)
from neurips23.symbolic_rl.planner import k_shortest_plans


def partly_learned(task: str, lifted: bool, steps: int = 80, seed: int = 0):
    sim = load_task(task)
    m = OptimisticModel(sim.spec, lifted=lifted)
    rng = random.Random(seed)
    s = sim.reset()
    for _ in range(steps):
        a = rng.randrange(len(sim.spec.actions))
        ok, t = sim.step(a)
        m.observe(a, s, ok, t if ok else None)
        s = t
    return sim, m


@pytest.mark.parametrize("task", ["blocksworld-4-1", "gripper-2"])
@pytest.mark.parametrize("lifted", [True, False])
def test_grounded_pddl_reads_back_with_the_same_semantics(task, lifted):
    sim, m = partly_learned(task, lifted)
    spec, view = sim.spec, m.planning_view()
    dom_text, prob_text, names = grounded_model_pddl(view, spec, spec.init, spec.goal)
    dom = parse_domain(dom_text, "learned")
    prob = parse_problem(prob_text, dom, "learned-problem")
    assert set(dom.actions) == set(names) and len(names) == sum(map(len, view.hyps))
    copies = {}
    for ga in ground(dom, prob).actions:
        i = names[ga.name]
        assert spec.mask(ga.add) == view.add[i] and spec.mask(ga.delete) == view.dele[i]
        copies.setdefault(i, set()).add(spec.mask(ga.pre))
    assert all(copies.get(i, set()) == set(view.hyps[i]) for i in range(len(view.hyps)))
    # every plan of our planner on the model is valid for the written PDDL (the validator)
    by_action = {}
    for name, i in names.items():
        by_action.setdefault(i, []).append(name)
    for plan in k_shortest_plans(view, spec.init, spec.goal, 3).plans:
        s, steps = spec.init, []
        for a in plan:
            name = next(n for n in by_action[a]
                        if spec.mask(dom.actions[n].precondition) & s == spec.mask(
                            dom.actions[n].precondition))
            steps.append(f"({name})")
            s = view.successor(a, s)
        assert validate_plan(dom, prob, steps).valid


def test_lifted_pddl_grounds_to_the_models_actions():
    sim, m = partly_learned("blocksworld-4-1", lifted=True, steps=200)
    spec = sim.spec
    d, p = task_files("blocksworld-4-1")
    dom = parse_domain(lifted_model_pddl(m), "lifted")
    prob = parse_problem(p.read_text().replace("blocksworld-4ops", dom.name), dom, "p")
    got = {}
    for ga in ground(dom, prob).actions:
        schema = ga.name.rsplit("_h", 1)[0]
        i = spec.actions.index((schema, tuple(ga.args)))
        got.setdefault(i, set()).add(spec.mask(ga.pre))
        if m.injective[i]:
            assert spec.mask(ga.add) == m.add(i) and spec.mask(ga.delete) == m.delete(i)
    for i in range(len(spec.actions)):
        assert got.get(i, set()) == set(m.hypotheses(i))


def test_learned_domain_pair_parses_for_both_variants():
    for lifted in (True, False):
        _, m = partly_learned("gripper-2", lifted)
        dom_text, prob_text = learned_domain_pddl(m)
        dom = parse_domain(dom_text, "d")
        parse_problem(prob_text, dom, "p")


@pytest.mark.parametrize("lifted", [True, False])
def test_unified_planning_reads_the_learned_model(tmp_path, lifted):
    pytest.importorskip("unified_planning")
    from unified_planning.io import PDDLReader

    _, m = partly_learned("gripper-2", lifted)
    dom_text, prob_text = learned_domain_pddl(m)
    (tmp_path / "d.pddl").write_text(dom_text)
    (tmp_path / "p.pddl").write_text(prob_text)
    problem = PDDLReader().parse_problem(str(tmp_path / "d.pddl"), str(tmp_path / "p.pddl"))
    n_written = dom_text.count("(:action ")
    assert len(problem.actions) == n_written and problem.goals
