"""LLM planning (Valmeekam et al., NeurIPS 2023 / PlanBench): PDDL, validator, planners, modes."""

from neurips23.planning.pddl import Action, Domain, Problem, parse_domain, parse_problem
from neurips23.planning.task import GroundAction, GroundTask, ground
from neurips23.planning.validate import PlanStep, ValidationResult, parse_plan, validate_plan

__all__ = [
    "Action",
    "Domain",
    "Problem",
    "parse_domain",
    "parse_problem",
    "GroundAction",
    "GroundTask",
    "ground",
    "PlanStep",
    "ValidationResult",
    "parse_plan",
    "validate_plan",
]
