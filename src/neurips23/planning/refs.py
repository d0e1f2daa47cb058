"""Bridges to reference tools used by tests and benchmarks (optional extras): unified-planning's
plan validator, Fast Downward (up-fast-downward) and LPG-td's binary (up-lpg)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from neurips23.pddl.parser import Domain, Problem, domain_to_pddl, problem_to_pddl


def _quiet_up():
    import unified_planning.shortcuts as sc

    sc.get_environment().credits_stream = None
    return sc


def up_problem(domain: Domain, problem: Problem):
    """The task as a unified-planning Problem (through its PDDL reader)."""
    from unified_planning.io import PDDLReader

    _quiet_up()
    return PDDLReader().parse_problem_string(domain_to_pddl(domain),
                                             problem_to_pddl(problem, domain))


def up_plan(up_prob, steps):
    """A SequentialPlan from '(name a b)' steps (objects must exist in the problem)."""
    from unified_planning.plans import ActionInstance, SequentialPlan

    acts = []
    for s in steps:
        name, *args = str(s).strip("()").split()
        acts.append(ActionInstance(up_prob.action(name), [up_prob.object(a) for a in args]))
    return SequentialPlan(acts)


class UPValidator:
    """unified-planning's sequential plan validator, reused across calls."""

    def __init__(self):
        sc = _quiet_up()
        self.v = sc.PlanValidator(name="sequential_plan_validator")

    def is_valid(self, up_prob, plan) -> bool:
        from unified_planning.engines import ValidationResultStatus

        return self.v.validate(up_prob, plan).status == ValidationResultStatus.VALID


def fast_downward_plan(domain: Domain, problem: Problem, optimal: bool = True,
                       timeout: float = 60.0) -> list[str] | None:
    """Fast Downward's plan via unified-planning ('fast-downward-opt' = A* + LM-cut)."""
    sc = _quiet_up()
    from unified_planning.engines import PlanGenerationResultStatus as S

    p = up_problem(domain, problem)
    with sc.OneshotPlanner(name="fast-downward-opt" if optimal else "fast-downward") as pl:
        out = pl.solve(p, timeout=timeout)
    if out.status not in (S.SOLVED_SATISFICING, S.SOLVED_OPTIMALLY):
        return None
    return ["(" + " ".join([a.action.name, *(str(x) for x in a.actual_parameters)]) + ")"
            for a in out.plan.actions]


def fast_downward_script() -> Path | None:
    """The `fast-downward.py` driver shipped inside the up-fast-downward wheel."""
    spec = importlib.util.find_spec("up_fast_downward")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "downward" / "fast-downward.py"
    return p if p.exists() else None


def lpg_binary() -> Path | None:
    """The LPG-td binary shipped by up-lpg, located without importing the wrapper (whose
    import needs pkg_resources)."""
    spec = importlib.util.find_spec("up_lpg")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "lpg"
    return p if p.exists() else None
