"""The environment of the paper's setting (Sreedharan & Katz 2023, Section 3): a resettable
black-box simulator of a ground-truth STRIPS model. The agent knows the propositions, the
grounded action names, the initial state and the goal; it does not know any action's
preconditions or effects. `step` returns the next state, or reports failure and leaves the
state unchanged when a precondition does not hold. Every step counts as an interaction,
replays from a reset included.

States are Python ints over the proposition list: bit i says proposition i holds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

from neurips23.errors import DataError

Atom = tuple[str, ...]
MAX_PROPOSITIONS = 200_000


def bits(mask: int):
    """Indices of the set bits of `mask`, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


@dataclass
class TaskSpec:
    """What the agent is told about a task (the paper's known vocabulary): predicate and type
    signatures, objects, the schemas' parameter lists (the lifted variant's grouping of
    grounded actions), every proposition, every grounded action, the initial state and goal."""

    domain_name: str
    problem_name: str
    types: dict[str, str]
    constants: dict[str, str]
    objects: dict[str, str]
    predicates: dict[str, tuple[str, ...]]
    schemas: dict[str, tuple[tuple[str, str], ...]]
    props: list[Atom]
    actions: list[tuple[str, tuple[str, ...]]]
    init: int
    goal: int
    index: dict[Atom, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {a: i for i, a in enumerate(self.props)}

    def mask(self, atoms) -> int:
        """Bit mask of `atoms`; an atom that is not a proposition is a DataError."""
        m = 0
        for a in atoms:
            if a not in self.index:
                raise DataError(f"{self.problem_name}: '({' '.join(a)})' is not a proposition "
                                "of this task")
            m |= 1 << self.index[a]
        return m

    def atoms(self, mask: int) -> list[Atom]:
        """The propositions set in `mask`, in proposition order."""
        return [self.props[i] for i in bits(mask)]

    def action_str(self, i: int) -> str:
        """'(name arg ...)' of grounded action i (the plan-file format)."""
        name, args = self.actions[i]
        return "(" + " ".join((name, *args)) + ")"

    def with_goal(self, goal_atoms, name: str | None = None) -> TaskSpec:
        """The same task with another conjunctive goal (held-out goals over the same objects)."""
        return replace(self, goal=self.mask(goal_atoms), problem_name=name or self.problem_name)

    def is_subtype(self, t: str, ancestor: str) -> bool:
        """True if type `t` equals `ancestor` or descends from it."""
        seen: set[str] = set()
        while t not in seen:
            if t == ancestor or ancestor == "object":
                return True
            seen.add(t)
            t = self.types.get(t, "object")
        return False


def propositions(domain, problem) -> list[Atom]:
    """Every type-correct grounding of every predicate over the problem's objects and the
    domain's constants, plus any atom the problem mentions; sorted."""
    objects = {**domain.constants, **problem.objects}
    out: set[Atom] = set(problem.init) | set(problem.goal)
    total = 0
    for pred, arg_types in domain.predicates.items():
        cands = [[o for o, t in objects.items() if domain.is_subtype(t, at)] for at in arg_types]
        count = 1
        for c in cands:
            count *= len(c)
        total += count
        if total > MAX_PROPOSITIONS:
            raise DataError(f"{problem.name}: more than {MAX_PROPOSITIONS:,} propositions; "
                            "this simulator is meant for small grounded tasks")
        out.update((pred, *combo) for combo in itertools.product(*cands))
    return sorted(out)


class Simulator:
    """A resettable black-box STRIPS simulator; `interactions` counts every step."""

    def __init__(self, domain, problem, limits=None):
        from neurips23.pddl.task import ground

        props = propositions(domain, problem)
        gtask = ground(domain, problem, limits)  # `limits` (pddl.limits) bound grounding
        actions = [(ga.name, tuple(ga.args)) for ga in gtask.actions]
        self.spec = TaskSpec(
            domain_name=domain.name, problem_name=problem.name, types=dict(domain.types),
            constants=dict(domain.constants), objects=dict(problem.objects),
            predicates=dict(domain.predicates),
            schemas={n: tuple(a.parameters) for n, a in domain.actions.items()},
            props=props, actions=actions, init=0, goal=0)
        spec = self.spec
        spec.init, spec.goal = spec.mask(problem.init), spec.mask(problem.goal)
        # the hidden ground truth
        self._pre = [spec.mask(ga.pre) for ga in gtask.actions]
        self._add = [spec.mask(ga.add) for ga in gtask.actions]
        self._del = [spec.mask(ga.delete) for ga in gtask.actions]
        self.goal = spec.goal
        self.interactions = 0
        self.state = spec.init

    def reset(self) -> int:
        """Back to the initial state (a reset is not an interaction)."""
        self.state = self.spec.init
        return self.state

    def step(self, i: int) -> tuple[bool, int]:
        """Apply grounded action i: (True, next state) or (False, unchanged state)."""
        self.interactions += 1
        s = self.state
        p = self._pre[i]
        if s & p != p:
            return False, s
        self.state = (s & ~self._del[i]) | self._add[i]
        return True, self.state

    def is_goal(self, state: int) -> bool:
        """Every goal proposition holds."""
        return state & self.goal == self.goal

    def true_model(self) -> tuple[list[int], list[int], list[int]]:
        """The hidden (pre, add, delete) masks, for diagnostics only; the learner never reads it."""
        return self._pre, self._add, self._del


def load_simulator(domain_path: str | Path, problem_path: str | Path, limits=None) -> Simulator:
    """A simulator from a domain and a problem file (reader errors name file:line:column);
    `limits` (pddl.limits.Limits) bound its grounding in time and memory."""
    from neurips23.pddl.parser import load_domain, load_problem

    domain = load_domain(domain_path)
    return Simulator(domain, load_problem(problem_path, domain), limits)


def simulator_from_text(domain_text: str, problem_text: str, source: str = "<pddl>") -> Simulator:
    """A simulator from PDDL text."""
    from neurips23.pddl.parser import parse_domain, parse_problem

    domain = parse_domain(domain_text, f"{source}:domain")
    return Simulator(domain, parse_problem(problem_text, domain, f"{source}:problem"))
