"""Shared helpers for the symbolic_rl tests: small PDDL tasks worked by hand."""

import pytest

TWO_ACTIONS_DOMAIN = """(define (domain two)
  (:requirements :strips)
  (:predicates (p) (q))
  (:action a :parameters () :precondition (p) :effect (and (q) (not (p))))
  (:action b :parameters () :precondition (and) :effect (p)))
"""
TWO_ACTIONS_PROBLEM = "(define (problem two-1) (:domain two) (:init) (:goal (q)))\n"

PICK_PUT_DOMAIN = """(define (domain pickput)
  (:requirements :strips)
  (:predicates (free ?x) (held ?x))
  (:action pick :parameters (?x) :precondition (free ?x) :effect (and (held ?x) (not (free ?x))))
  (:action put :parameters (?x) :precondition (held ?x) :effect (and (free ?x) (not (held ?x)))))
"""
PICK_PUT_PROBLEM = """(define (problem pickput-1) (:domain pickput) (:objects a b)
  (:init (free a) (free b)) (:goal (and (held a) (held b))))
"""


@pytest.fixture
def two_actions():
    from neurips23.symbolic_rl.simulator import simulator_from_text

    return simulator_from_text(TWO_ACTIONS_DOMAIN, TWO_ACTIONS_PROBLEM)


@pytest.fixture
def pick_put():
    from neurips23.symbolic_rl.simulator import simulator_from_text

    return simulator_from_text(PICK_PUT_DOMAIN, PICK_PUT_PROBLEM)
