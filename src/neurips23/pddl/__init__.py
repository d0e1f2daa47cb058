"""The domain-independent PDDL layer that methods share: a typed-STRIPS reader and writer
(`parser`), grounding to bit-mask states (`task`), a validator with VAL's semantics
(`validate`), sound planners (`search`: A* with h_max, greedy best-first with h_FF) and the time
and memory limits that hold across grounding and search (`limits`).

It knows no paper and imports no method package: planning (PlanBench) and symbolic_rl build on
it, each with its own domains and wording."""

from neurips23.pddl.parser import Action, Domain, Problem, parse_domain, parse_problem
from neurips23.pddl.task import GroundAction, GroundTask, ground
from neurips23.pddl.validate import PlanStep, ValidationResult, parse_plan, validate_plan

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
