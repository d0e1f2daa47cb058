"""The validator: VAL's semantics worked by hand, and verdicts cross-checked against
unified-planning's plan validator on generated valid and mutated plans."""

import random
from pathlib import Path

import pytest

from neurips23.errors import DataError
from neurips23.pddl.parser import parse_domain, parse_problem
from neurips23.pddl.task import ground
from neurips23.pddl.validate import parse_plan, validate_plan
from neurips23.planning.domains.registry import generate_instances, get_domain

TOGGLE = """
(define (domain toggle)
  (:requirements :strips)
  (:predicates (p) (q ?x))
  (:action flip :parameters (?x) :precondition (q ?x) :effect (and (not (p)) (p)))
  (:action drop :parameters (?x) :precondition (p) :effect (not (p))))
"""
TOGGLE_PROB = "(define (problem t) (:domain toggle) (:objects o) (:init (q o)) (:goal (p)))"


def bw():
    return get_domain("blocksworld").domain


def bw_problem(text_init: str, goal: str):
    objs = "a b c"
    return parse_problem(f"(define (problem x) (:domain blocksworld-4ops) (:objects {objs}) "
                         f"(:init {text_init}) (:goal (and {goal})))", bw())


INIT = "(handempty) (ontable a) (on b a) (clear b) (ontable c) (clear c)"


def test_add_wins_over_delete_like_val():
    dom = parse_domain(TOGGLE)
    prob = parse_problem(TOGGLE_PROB, dom)
    assert validate_plan(dom, prob, ["(flip o)"]).valid  # (not p) and (p): p ends true
    r = validate_plan(dom, prob, ["(flip o)", "(drop o)"])
    assert not r.valid and r.reason == "goal" and r.unmet_goals == (("p",),)


def test_empty_plan_valid_iff_goal_holds_initially():
    assert validate_plan(bw(), bw_problem(INIT, "(on b a)"), []).valid
    r = validate_plan(bw(), bw_problem(INIT, "(on a b)"), [])
    assert not r.valid and r.unmet_goals == (("on", "a", "b"),)


def test_extra_actions_after_goal_are_allowed():
    p = bw_problem(INIT, "(on b a)")
    assert validate_plan(bw(), p, ["(pick-up c)", "(put-down c)"]).valid


def test_first_failing_step_and_all_its_unmet_preconditions():
    p = bw_problem(INIT, "(on a b)")
    r = validate_plan(bw(), p, ["(unstack b a)", "(pick-up a)"])
    assert not r.valid and r.failed_step == 2 and r.failed_action == "(pick-up a)"
    assert set(r.unmet_preconditions) == {("handempty",)}  # a is clear now, on the table
    r = validate_plan(bw(), p, ["(pick-up a)"])
    assert set(r.unmet_preconditions) == {("clear", "a")}
    assert "(Set (clear a) to true)" in r.val_output()


def test_plan_text_case_comments_timestamps():
    text = "; a comment\n0: (UNSTACK B A) [1]\n\n1.0:(Put-Down b)  ; done\n(stack c a)\n"
    steps = parse_plan(text)
    assert [str(s) for s in steps] == ["(unstack b a)", "(put-down b)", "(stack c a)"]
    assert [s.line for s in steps] == [2, 4, 5]


def test_unknown_action_is_an_error_naming_the_line():
    steps = parse_plan("(unstack b a)\n(fly b a)\n", "plan.txt")
    with pytest.raises(DataError, match=r"plan.txt:2: no matching action defined for 'fly'"):
        validate_plan(bw(), bw_problem(INIT, "(on a b)"), steps, "plan.txt")
    with pytest.raises(DataError, match="plan.txt:1: action 'stack' takes 2 arguments, got 1"):
        validate_plan(bw(), bw_problem(INIT, "(on a b)"), parse_plan("(stack a)"), "plan.txt")
    with pytest.raises(DataError, match=r"plan.txt:3: expected a plan step"):
        parse_plan("(a b)\n\nunstack b from a\n", "plan.txt")


def test_unknown_object_makes_preconditions_unmet():
    r = validate_plan(bw(), bw_problem(INIT, "(on a b)"), ["(unstack zz a)"])
    assert not r.valid and r.failed_step == 1
    assert set(r.unmet_preconditions) == {("on", "zz", "a"), ("clear", "zz")}


def test_wrong_type_argument_is_invalid():
    from neurips23.planning.domains.logistics import TYPED_DOMAIN_PDDL

    dom = parse_domain(TYPED_DOMAIN_PDDL)
    prob = parse_problem("(define (problem l) (:domain logistics) (:objects c0 c1 - city "
                         "l0-0 l1-0 - airport t0 - truck a0 - airplane p0 - package) (:init "
                         "(in-city l0-0 c0) (in-city l1-0 c1) (at t0 l0-0) (at a0 l0-0) "
                         "(at p0 l0-0)) (:goal (at p0 l1-0)))", dom)
    r = validate_plan(dom, prob, ["(fly-airplane t0 l0-0 l1-0)"])
    assert not r.valid and r.reason == "type" and "not of type airplane" in r.bad_arguments[0]


def mutants(task, plan: list[str], rng: random.Random, objects: dict[str, str]):
    """Valid plan plus mutations: deletion, swap, argument replacement (type-preserving),
    insertion, truncation, a random action appended, and a random walk."""
    names = [str(a) for a in task.actions]
    out = [plan]
    if plan:
        i = rng.randrange(len(plan))
        out.append(plan[:i] + plan[i + 1:])
        out.append(plan[:-1])
    if len(plan) > 1:
        i = rng.randrange(len(plan) - 1)
        out.append(plan[:i] + [plan[i + 1], plan[i]] + plan[i + 2:])
    if plan:
        i = rng.randrange(len(plan))
        name, *args = plan[i].strip("()").split()
        if args:
            j = rng.randrange(len(args))
            same = [o for o, t in objects.items() if t == objects[args[j]]]
            args[j] = rng.choice(same)
            out.append(plan[:i] + ["(" + " ".join([name, *args]) + ")"] + plan[i + 1:])
    i = rng.randrange(len(plan) + 1)
    out.append(plan[:i] + [rng.choice(names)] + plan[i:])
    out.append(plan + [rng.choice(names)])
    out.append([rng.choice(names) for _ in range(rng.randrange(1, 6))])
    return out


def test_verdicts_match_unified_planning_on_1000_plans():
    pytest.importorskip("unified_planning")
    from neurips23.planning.refs import UPValidator, up_plan, up_problem

    rng = random.Random(0)
    upv = UPValidator()
    n = agree = valid_count = 0
    cases = [("blocksworld", i) for i in generate_instances("blocksworld", 45, seed=5)]
    cases += [("logistics", i) for i in generate_instances("logistics", 15, seed=5)]
    for name, inst in cases:
        dom = get_domain(name).domain
        task = ground(dom, inst.problem)
        upp = up_problem(dom, inst.problem)
        plans = {tuple(p) for _ in range(3) for p in mutants(task, inst.plan, rng,
                                                              inst.problem.objects)}
        for plan in sorted(plans):
            plan = list(plan)
            ours = validate_plan(dom, inst.problem, plan).valid
            theirs = upv.is_valid(upp, up_plan(upp, plan))
            n += 1
            agree += ours == theirs
            valid_count += ours
            assert ours == theirs, (inst.problem.name, plan)
    assert n >= 1000 and agree == n, (n, valid_count)
    assert valid_count >= 60 and n - valid_count >= 500  # both verdicts well represented


def test_plan_given_as_strings_must_be_single_steps():
    with pytest.raises(DataError, match="expected one plan step, got ''"):
        validate_plan(bw(), bw_problem(INIT, "(on a b)"), [""])


PLANBENCH = Path(__file__).parent / "data" / "planbench" / "instances"


def planbench(domain: str, k: int):
    """PlanBench's own domain file and its instance-k."""
    from neurips23.pddl.parser import load_domain, load_problem

    dom = load_domain(PLANBENCH / domain / "generated_domain.pddl")
    return dom, load_problem(PLANBENCH / domain / "generated_basic" / f"instance-{k}.pddl", dom)


# blocksworld instance-1: b on c, a c d on the table, goal (on c b); logistics instance-1: p0 at
# airport l1-0, both planes at l0-0, goal p0 at l0-0
@pytest.mark.parametrize("domain, plan, failure", [
    ("blocksworld", "(unstack b c)\n(put-down b)\n(pick-up e)\n",
     "step 3 (pick-up e): unknown object e"),
    ("blocksworld", "(pick-up c)\n", "step 1 (pick-up c): unsatisfied precondition (clear c)"),
    ("blocksworld", "; c is under b\n(unstack c d)\n",
     "step 1 (unstack c d): unsatisfied preconditions (clear c), (on c d)"),
    ("blocksworld", "(unstack b c)\n(put-down b)\n(pick-up c)\n(stack c a)\n",
     "unsatisfied goal (on c b) after the last step"),
    ("logistics", "(LOAD-AIRPLANE p0 a0 l1-0)\n",
     "step 1 (load-airplane p0 a0 l1-0): unsatisfied precondition (at a0 l1-0)"),
    ("logistics", "(fly-airplane a2 l0-0 l1-0)\n(fly-airplane a9 l0-0 l1-0)\n",
     "step 1 (fly-airplane a2 l0-0 l1-0): unknown object a2"),
])
def test_failure_names_the_step_and_why_on_planbench_plans(domain, plan, failure):
    dom, prob = planbench(domain, 1)
    r = validate_plan(dom, prob, parse_plan(plan))
    assert not r.valid and r.failure() == failure
    assert failure in r.summary() and r.summary().endswith("Plan invalid\n")
    assert r.reason == ("goal" if failure.startswith("unsatisfied goal") else "precondition")


def test_unknown_objects_are_named_once_each_and_in_val_output():
    dom, prob = planbench("blocksworld", 1)
    r = validate_plan(dom, prob, ["(stack e f)"])  # VAL: unmet preconditions, not an error
    assert r.unmet_preconditions == (("clear", "f"), ("holding", "e"))
    assert r.failure() == "step 1 (stack e f): unknown objects e, f"
    assert "\nunknown objects e, f\n" in r.val_output()
    r = validate_plan(dom, prob, ["(stack e e)"])
    assert r.unknown_objects == ("e",)


def test_planbench_plans_valid():
    dom, prob = planbench("logistics", 1)
    plan = ["(fly-airplane a0 l0-0 l1-0)", "(load-airplane p0 a0 l1-0)",
            "(fly-airplane a0 l1-0 l0-0)", "(unload-airplane p0 a0 l0-0)"]
    r = validate_plan(dom, prob, plan)
    assert r.valid and r.failure() == "" and "Plan valid\nFinal value: 4" in r.summary()
