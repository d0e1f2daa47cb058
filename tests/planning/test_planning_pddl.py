"""PDDL reading: typed STRIPS parsed and grounded correctly, round trips, and malformed files
rejected with file:line:column."""

import pytest

from neurips23.errors import DataError
from neurips23.pddl.parser import (
    domain_to_pddl,
    parse_domain,
    parse_problem,
    problem_to_pddl,
)
from neurips23.pddl.task import ground
from neurips23.planning.domains import blocksworld, logistics


def test_blocksworld_grounding_by_hand():
    dom = parse_domain(blocksworld.DOMAIN_PDDL)
    assert list(dom.actions) == ["pick-up", "put-down", "stack", "unstack"]
    st = dom.actions["stack"]
    assert st.precondition == (("clear", "?underob"), ("holding", "?ob"))
    assert ("clear", "?underob") in st.delete and ("on", "?ob", "?underob") in st.add
    prob = parse_problem("(define (problem p) (:domain blocksworld-4ops) (:objects a b c) "
                         "(:init (handempty) (ontable a) (ontable b) (ontable c) (clear a) "
                         "(clear b) (clear c)) (:goal (and (on a b))))", dom)
    task = ground(dom, prob)
    assert len(task.actions) == 3 + 3 + 9 + 9  # no static predicates: every binding
    assert sorted(str(task.actions[i]) for i in task.applicable(task.init)) == [
        "(pick-up a)", "(pick-up b)", "(pick-up c)"]


def test_types_and_static_pruning_in_logistics():
    dom = parse_domain(logistics.TYPED_DOMAIN_PDDL)
    assert dom.is_subtype("airport", "place") and dom.is_subtype("truck", "physobj")
    assert not dom.is_subtype("package", "vehicle")
    prob = parse_problem("""(define (problem l) (:domain logistics)
      (:objects c0 c1 - city l0 l1 - airport m0 - location t0 - truck a0 - airplane p0 - package)
      (:init (in-city l0 c0) (in-city m0 c0) (in-city l1 c1) (at t0 l0) (at a0 l0) (at p0 m0))
      (:goal (at p0 l1)))""", dom)
    task = ground(dom, prob)
    drives = sorted(str(a) for a in task.actions if a.name == "drive-truck")
    # in-city is static: only drives between places of one city survive
    assert drives == ["(drive-truck t0 l0 l0 c0)", "(drive-truck t0 l0 m0 c0)",
                      "(drive-truck t0 l1 l1 c1)", "(drive-truck t0 m0 l0 c0)",
                      "(drive-truck t0 m0 m0 c0)"]
    flies = [a for a in task.actions if a.name == "fly-airplane"]
    assert len(flies) == 4  # airports only


def test_round_trip():
    for text in (blocksworld.DOMAIN_PDDL, logistics.DOMAIN_PDDL, logistics.TYPED_DOMAIN_PDDL):
        dom = parse_domain(text)
        again = parse_domain(domain_to_pddl(dom))
        assert again.actions == dom.actions and again.predicates == dom.predicates
    dom = parse_domain(blocksworld.DOMAIN_PDDL)
    prob = blocksworld.make_problem("x", (("a", "b"), ("c",)), (("c", "b", "a"),))
    again = parse_problem(problem_to_pddl(prob, dom), dom)
    assert again.init == prob.init and again.goal == prob.goal


@pytest.mark.parametrize("text,match", [
    ("(define (domain d)\n  (:predicates (p))\n  (:action a :parameters ()", r"d.pddl:3:3: '\(' is "
     "never closed"),
    ("(define (domain d))\n)", r"d.pddl:2:1: unmatched '\)'"),
    ("(define (domain d)\n (:predicates (p ?x))\n (:action a :parameters (?x)\n"
     "   :precondition (q ?x)))", r"d.pddl:4:18: action 'a': undeclared predicate 'q'"),
    ("(define (domain d) (:predicates (p ?x))\n (:action a :parameters (?x)\n"
     "   :precondition (or (p ?x) (p ?x))))", r"d.pddl:3:18: 'or' is not STRIPS"),
    ("(define (domain d) (:requirements :strips :fluents))", "requirement ':fluents' is not"),
    ("(define (domain d) (:predicates (p ?x))\n (:action a :parameters (?x - thing)))",
     "d.pddl:2:26: action 'a': parameter '\\?x' has undeclared type 'thing'"),
    ("", "d.pddl: empty PDDL file"),
])
def test_malformed_domains_name_line_and_column(text, match):
    with pytest.raises(DataError, match=match):
        parse_domain(text, "d.pddl")


def test_malformed_problems_name_line_and_column():
    dom = parse_domain(blocksworld.DOMAIN_PDDL)
    with pytest.raises(DataError, match=r"p.pddl:2:18: unknown object 'z'"):
        parse_problem("(define (problem p) (:domain blocksworld-4ops) (:objects a)\n"
                      "(:init (clear a) (on a z)) (:goal (clear a)))", dom, "p.pddl")
    with pytest.raises(DataError, match=r"p.pddl:1:30: problem is for domain 'other'"):
        parse_problem("(define (problem p) (:domain other))", dom, "p.pddl")
    with pytest.raises(DataError, match=r"predicate 'on' takes 2 arguments, got 1"):
        parse_problem("(define (problem p) (:domain blocksworld-4ops) (:objects a)"
                      "(:init (on a)) (:goal (clear a)))", dom, "p.pddl")


def test_unused_equality_and_empty_functions_are_accepted_with_a_note():
    """As PlanBench's obfuscated Logistics (written by tarski) declares them."""
    text = ("(define (domain d)\n (:requirements :equality)\n (:types )\n (:constants )\n"
            " (:predicates (p ?x - object))\n (:functions\n )\n"
            " (:action a :parameters (?x - object) :precondition (p ?x) :effect (not (p ?x))))")
    dom = parse_domain(text, "d.pddl")
    assert list(dom.actions) == ["a"] and len(dom.notes) == 2
    assert dom.notes[0].startswith("d.pddl:2:17: requirement ':equality'")
    assert "d.pddl:6:2: empty ':functions'" in dom.notes[1]
    assert ":equality" not in domain_to_pddl(dom)  # nothing we write depends on it
    used = text.replace(":precondition (p ?x)", ":precondition (and (p ?x) (= ?x ?x))")
    with pytest.raises(DataError, match=r"d.pddl:8:65: '=' is not STRIPS"):
        parse_domain(used, "d.pddl")
    with pytest.raises(DataError, match="':functions' \\(numeric fluents\\) is not supported"):
        parse_domain(text.replace("(:functions\n", "(:functions (cost)\n"), "d.pddl")


def test_either_types_reach_their_own_message():
    with pytest.raises(DataError, match=r"d.pddl:2:23: 'either' types are not supported"):
        parse_domain("(define (domain d) (:types a b)\n (:predicates (p ?x - (either a b))))",
                     "d.pddl")
