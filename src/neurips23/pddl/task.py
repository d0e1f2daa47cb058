"""Grounding and simulation: a STRIPS task with states as bit masks (fast progression)."""

from __future__ import annotations

from dataclasses import dataclass, field

from neurips23.pddl.limits import Limits
from neurips23.pddl.parser import Action, Atom, Domain, Problem

CHECK_EVERY = 256  # bindings between two looks at the clock while grounding


@dataclass(frozen=True)
class GroundAction:
    """An action with its parameters bound to objects."""

    name: str
    args: tuple[str, ...]
    pre: frozenset[Atom]
    add: frozenset[Atom]
    delete: frozenset[Atom]

    def __str__(self) -> str:
        return "(" + " ".join((self.name, *self.args)) + ")"


def substitute(atoms: tuple[Atom, ...], binding: dict[str, str]) -> frozenset[Atom]:
    """Replace ?variables by objects in each atom."""
    return frozenset(tuple(binding.get(x, x) for x in a) for a in atoms)


def instantiate(action: Action, args: tuple[str, ...]) -> GroundAction:
    """Bind an action's parameters to `args` (no type check; see validate for that)."""
    binding = {v: o for (v, _), o in zip(action.parameters, args, strict=True)}
    return GroundAction(action.name, tuple(args), substitute(action.precondition, binding),
                        substitute(action.add, binding), substitute(action.delete, binding))


def static_predicates(domain: Domain) -> set[str]:
    """Predicates no action changes (true or false forever after init)."""
    changed = {a[0] for act in domain.actions.values() for a in (*act.add, *act.delete)}
    return set(domain.predicates) - changed


def objects_of_type(domain: Domain, problem: Problem, t: str) -> list[str]:
    """Objects (and constants) whose type is `t` or a subtype, in declaration order."""
    return [o for o, ot in problem.objects.items() if domain.is_subtype(ot, t)]


def ground_action(domain: Domain, problem: Problem, action: Action,
                  static: set[str], limits: Limits | None = None) -> list[GroundAction]:
    """All type-correct bindings whose static preconditions hold in init (backtracking in
    parameter order; objects in declaration order).

    A static atom whose last unbound variable is parameter i and that holds it once proposes
    that parameter's candidates from the atoms of init (a join), so `(connected ?from ?to)`
    gives each ?from its few neighbours instead of every place; other static atoms are checked
    once their last variable is bound. `limits` is checked every CHECK_EVERY bindings."""
    params = action.parameters
    cands = [objects_of_type(domain, problem, t) for _, t in params]
    position = {o: k for k, o in enumerate(problem.objects)}
    order = {v: i for i, (v, _) in enumerate(params)}
    checks: dict[int, list[Atom]] = {}
    joins: dict[int, list[tuple[Atom, int, dict]]] = {}
    for a in (a for a in action.precondition if a[0] in static):
        depth = max((order[x] for x in a[1:] if x.startswith("?")), default=-1)
        var = params[depth][0] if depth >= 0 else None
        if depth >= 0 and a[1:].count(var) == 1:
            joins.setdefault(depth, []).append((a, a.index(var), _join_index(a, a.index(var),
                                                                            problem.init)))
        else:
            checks.setdefault(depth, []).append(a)
    init = problem.init
    binding: dict[str, str] = {}
    out: list[GroundAction] = []
    if any(tuple(a) not in init for a in checks.get(-1, [])):
        return out
    allowed = [set(c) for c in cands]
    count = [0]

    def candidates(i: int) -> list[str]:
        if i not in joins:
            return cands[i]
        found: set[str] | None = None
        for a, pos, index in joins[i]:
            key = tuple(binding.get(x, x) for k, x in enumerate(a) if k not in (0, pos))
            vals = index.get(key, set())
            found = vals if found is None else found & vals
        return sorted((o for o in found or () if o in allowed[i]), key=position.__getitem__)

    def rec(i: int) -> None:
        if i == len(params):
            out.append(instantiate(action, tuple(binding[v] for v, _ in params)))
            return
        var = params[i][0]
        for o in candidates(i):
            count[0] += 1
            if limits is not None and count[0] % CHECK_EVERY == 0:
                limits.check(f"grounding of '{action.name}'")
            binding[var] = o
            if all(tuple(binding.get(x, x) for x in a) in init for a in checks.get(i, [])):
                rec(i + 1)
        binding.pop(var, None)

    rec(0)
    return out


def _join_index(atom: Atom, pos: int, init: frozenset[Atom]) -> dict[tuple, set[str]]:
    """For a static atom pattern: (its other arguments' values) -> values at `pos`, from init."""
    index: dict[tuple, set[str]] = {}
    for a in init:
        if a[0] == atom[0] and len(a) == len(atom):
            key = tuple(x for k, x in enumerate(a) if k not in (0, pos))
            index.setdefault(key, set()).add(a[pos])
    return index


@dataclass
class GroundTask:
    """A grounded STRIPS task; states are ints whose bit i says atom i holds."""

    domain: Domain
    problem: Problem
    actions: list[GroundAction]
    atoms: list[Atom]
    index: dict[Atom, int]
    init: int
    goal: int
    pre: list[int] = field(default_factory=list)
    add: list[int] = field(default_factory=list)
    dele: list[int] = field(default_factory=list)
    by_name: dict[str, int] = field(default_factory=dict)

    def mask(self, atoms) -> int:
        """Bit mask of the atoms (atoms unknown to the task are ignored)."""
        m = 0
        for a in atoms:
            i = self.index.get(a)
            if i is not None:
                m |= 1 << i
        return m

    def state_atoms(self, state: int) -> frozenset[Atom]:
        """The set of atoms that hold in a state mask."""
        return frozenset(a for i, a in enumerate(self.atoms) if state >> i & 1)

    def applicable(self, state: int) -> list[int]:
        """Indices of the actions whose preconditions hold in `state`."""
        return [i for i, p in enumerate(self.pre) if state & p == p]

    def progress(self, state: int, i: int) -> int:
        """Successor state: deletes first, then adds (an atom added and deleted stays true)."""
        return (state & ~self.dele[i]) | self.add[i]

    def is_goal(self, state: int) -> bool:
        """Goal test: every goal atom holds."""
        return state & self.goal == self.goal


def ground(domain: Domain, problem: Problem, limits: Limits | None = None) -> GroundTask:
    """Ground every action over the problem's objects, pruning by static preconditions.

    With `limits`, the clock (and the memory bound) is checked throughout: past the deadline
    grounding stops with OutOfTime, so a time limit covers grounding as well as search."""
    import gc

    static = static_predicates(domain)
    actions: list[GroundAction] = []
    collecting = gc.isenabled()
    gc.disable()  # ground actions hold no cycles: the cyclic collector only adds pauses
    try:
        for act in domain.actions.values():
            actions += ground_action(domain, problem, act, static, limits)
    finally:
        if collecting:
            gc.enable()
    atoms: dict[Atom, int] = {}
    for a in sorted(problem.init) + list(problem.goal):
        atoms.setdefault(a, len(atoms))
    for k, ga in enumerate(actions):
        if limits is not None and k % CHECK_EVERY == 0:
            limits.check("grounding (indexing atoms)")
        for a in (*ga.pre, *ga.add, *ga.delete):
            atoms.setdefault(a, len(atoms))
    task = GroundTask(domain, problem, actions, list(atoms), atoms, 0, 0)
    task.init = task.mask(problem.init)
    task.goal = task.mask(problem.goal)
    task.pre = [task.mask(ga.pre) for ga in actions]
    task.add = [task.mask(ga.add) for ga in actions]
    task.dele = [task.mask(ga.delete) for ga in actions]
    task.by_name = {str(ga): i for i, ga in enumerate(actions)}
    return task
