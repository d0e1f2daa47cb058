"""A plan validator with VAL's semantics for sequential STRIPS plans, and its diagnostics.

Semantics (as VAL, KCL-Planning): execute step by step; a step's preconditions must hold in
the current state; deletes are applied before adds (an atom both deleted and added ends
true); the goal is checked after the last step (extra steps after the goal is reached are
allowed; an empty plan is valid iff the goal holds initially). An object the problem does
not declare makes the preconditions that mention it unmet (VAL reports an unsatisfied
precondition, not an error; our report names the unknown object); an unknown action name is an
error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from neurips23.errors import DataError
from neurips23.pddl.parser import Atom, Domain, Problem
from neurips23.pddl.task import instantiate


@dataclass(frozen=True)
class PlanStep:
    """One plan line: `(name arg ...)`, with the line it came from (1-based, 0 if none)."""

    name: str
    args: tuple[str, ...]
    line: int = 0

    def __str__(self) -> str:
        return "(" + " ".join((self.name, *self.args)) + ")"


_STEP = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*:\s*)?\(\s*([^()\s]+)((?:\s+[^()\s]+)*)\s*\)"
                   r"\s*(?:\[\s*\d+(?:\.\d+)?\s*\])?\s*$")


def parse_plan(text: str, source: str = "<plan>") -> list[PlanStep]:
    """Read a plan file: one `(action args)` per line, case-insensitive, `;` comments and
    `0: (a b) [1]` timestamps/durations accepted; a line that is none of these is an error."""
    steps: list[PlanStep] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        m = _STEP.match(line.lower())
        if not m:
            raise DataError(f"{source}:{lineno}: expected a plan step like '(stack a b)', "
                            f"found '{raw.strip()}'")
        steps.append(PlanStep(m.group(1), tuple(m.group(2).split()), lineno))
    return steps


def format_plan(steps) -> str:
    """Plan file text, one step per line (the format `parse_plan` and VAL read)."""
    return "".join(f"{s}\n" for s in steps)


@dataclass
class ValidationResult:
    """The verdict and VAL-style diagnostics of one plan."""

    valid: bool
    steps_executed: int  # steps applied before a failure (all of them if none failed)
    failed_step: int | None = None  # 1-based index of the first inapplicable step
    failed_action: str | None = None
    unmet_preconditions: tuple[Atom, ...] = ()
    bad_arguments: tuple[str, ...] = ()  # "x is not of type truck"
    unmet_goals: tuple[Atom, ...] = ()
    unknown_objects: tuple[str, ...] = ()  # arguments of the failed step the problem lacks
    plan_length: int = 0
    final_state: frozenset[Atom] = field(default_factory=frozenset)

    @property
    def reason(self) -> str:
        """'valid', 'precondition', 'type' or 'goal'."""
        if self.valid:
            return "valid"
        if self.bad_arguments:
            return "type"
        return "precondition" if self.failed_step is not None else "goal"

    def step_problem(self) -> str:
        """What is wrong with the failing step ("" if none failed): its unknown objects,
        else its wrongly typed arguments, else its unsatisfied preconditions."""
        if self.failed_step is None:
            return ""
        if self.unknown_objects:
            return _listing("unknown object", self.unknown_objects)
        if self.bad_arguments:
            return "; ".join(self.bad_arguments)
        return _listing("unsatisfied precondition", [_atom(a) for a in self.unmet_preconditions])

    def failure(self) -> str:
        """Why the plan is invalid, in one line ("" if valid): the failing step's number,
        action and `step_problem`, or the goals unmet after the last step."""
        if self.valid:
            return ""
        if self.failed_step is None:
            return _listing("unsatisfied goal", [_atom(a) for a in self.unmet_goals]) + \
                " after the last step"
        return f"step {self.failed_step} {self.failed_action}: {self.step_problem()}"

    def summary(self) -> str:
        """The verdict without VAL's repair advice: VAL's first and last lines with
        `failure()` between them."""
        if self.valid:
            return ("Plan executed successfully - checking goal\nPlan valid\n"
                    f"Final value: {self.plan_length}\n")
        if self.bad_arguments:
            head = "Bad plan description!"
        elif self.failed_step is not None:
            head = "Plan failed to execute"
        else:
            head = "Plan executed successfully - checking goal\nGoal not satisfied"
        return f"{head}\n{self.failure()}\nPlan invalid\n"

    def val_output(self) -> str:
        """A VAL-like report (`validate -v` wording)."""
        def advice(atoms: tuple[Atom, ...]) -> list[str]:
            sets = [f"(Set {_atom(a)} to true)" for a in atoms]
            if len(sets) == 1:
                return sets
            return ["(Follow each of:", "    " + sets[0]] + ["    and " + s for s in sets[1:]] + [
                ")"]

        if self.valid:
            return ("Plan executed successfully - checking goal\nPlan valid\n"
                    f"Final value: {self.plan_length}\n")
        if self.bad_arguments:
            return ("Bad plan description!\n" + "\n".join(self.bad_arguments) +
                    f"\nat step {self.failed_step}: {self.failed_action}\nPlan invalid\n")
        if self.failed_step is not None:
            lines = ["Plan failed to execute",
                     f"Plan failed because of unsatisfied precondition in:\n{self.failed_action}",
                     *([self.step_problem()] if self.unknown_objects else []),
                     "Plan Repair Advice:",
                     f"{self.failed_action} has an unsatisfied precondition at time "
                     f"{self.failed_step}"] + advice(self.unmet_preconditions)
            return "\n".join(lines) + "\nPlan invalid\n"
        lines = ["Plan executed successfully - checking goal", "Goal not satisfied",
                 "Plan Repair Advice:", "The goal is not satisfied"] + advice(self.unmet_goals)
        return "\n".join(lines) + "\nPlan invalid\n"


def _atom(a: Atom) -> str:
    return "(" + " ".join(a) + ")"


def _listing(what: str, items) -> str:
    """'unknown object e' / 'unknown objects e, f'."""
    return f"{what}{'s' if len(items) > 1 else ''} " + ", ".join(items)


def check_step(domain: Domain, step: PlanStep, source: str = "<plan>") -> None:
    """Raise DataError if the step names an unknown action or has the wrong arity."""
    where = f"{source}:{step.line}" if step.line else source
    act = domain.actions.get(step.name)
    if act is None:
        raise DataError(f"{where}: no matching action defined for '{step.name}' "
                        f"(domain '{domain.name}' has: {', '.join(domain.actions)})")
    if len(step.args) != len(act.parameters):
        raise DataError(f"{where}: action '{step.name}' takes {len(act.parameters)} "
                        f"arguments, got {len(step.args)}: {step}")


def validate_plan(domain: Domain, problem: Problem, plan, source: str = "<plan>"
                  ) -> ValidationResult:
    """Execute `plan` (PlanSteps or '(a b)' strings) from init and check the goal (VAL)."""
    steps: list[PlanStep] = []
    for s in plan:
        if isinstance(s, PlanStep):
            steps.append(s)
            continue
        parsed = parse_plan(str(s), source)
        if len(parsed) != 1:
            raise DataError(f"{source}: expected one plan step, got {str(s)!r}")
        steps.append(parsed[0])
    for s in steps:
        check_step(domain, s, source)
    state = set(problem.init)
    objects = problem.objects
    for k, s in enumerate(steps, start=1):
        act = domain.actions[s.name]
        bad = tuple(f"'{o}' is not of type {t}" for (_, t), o in zip(act.parameters, s.args,
                                                                     strict=True)
                    if o in objects and not domain.is_subtype(objects[o], t))
        if bad:
            return ValidationResult(False, k - 1, k, str(s), bad_arguments=bad,
                                    plan_length=len(steps), final_state=frozenset(state))
        ga = instantiate(act, s.args)
        unmet = tuple(sorted(ga.pre - state))
        if unmet:
            unknown = tuple(o for o in dict.fromkeys(s.args) if o not in objects)
            return ValidationResult(False, k - 1, k, str(s), unmet_preconditions=unmet,
                                    unknown_objects=unknown, plan_length=len(steps),
                                    final_state=frozenset(state))
        state -= ga.delete
        state |= ga.add
    unmet_goals = tuple(g for g in problem.goal if g not in state)
    return ValidationResult(not unmet_goals, len(steps), unmet_goals=unmet_goals,
                            plan_length=len(steps), final_state=frozenset(state))
