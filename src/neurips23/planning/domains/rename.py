"""Obfuscation as mechanical renaming (PlanBench's Mystery and randomised Blocksworld): the
same task with action, predicate and object names replaced, so a plan is valid in the renamed
task iff its renamed counterpart is valid in the original."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from neurips23.pddl.parser import Action, Atom, Domain, Problem

# PlanBench's deceptive Mystery Blocksworld vocabulary.
MYSTERY_ACTIONS = {"pick-up": "attack", "put-down": "succumb", "stack": "overcome",
                   "unstack": "feast"}
MYSTERY_PREDICATES = {"clear": "province", "ontable": "planet", "handempty": "harmony",
                      "on": "craves", "holding": "pain"}


@dataclass
class Renaming:
    """Maps original names to new ones; unmapped names stay as they are."""

    actions: dict[str, str] = field(default_factory=dict)
    predicates: dict[str, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)
    domain_name: str | None = None

    def atom(self, a: Atom) -> Atom:
        return (self.predicates.get(a[0], a[0]), *(self.objects.get(x, x) for x in a[1:]))

    def step(self, name: str, args: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        return self.actions.get(name, name), tuple(self.objects.get(x, x) for x in args)

    def inverse(self) -> Renaming:
        return Renaming({v: k for k, v in self.actions.items()},
                        {v: k for k, v in self.predicates.items()},
                        {v: k for k, v in self.objects.items()})


def rename_domain(dom: Domain, r: Renaming) -> Domain:
    """The domain with actions, predicates and constants renamed."""
    def act(a: Action) -> Action:
        return Action(r.actions.get(a.name, a.name), a.parameters,
                      tuple(map(r.atom, a.precondition)), tuple(map(r.atom, a.add)),
                      tuple(map(r.atom, a.delete)))

    return Domain(r.domain_name or dom.name, dict(dom.types),
                  {r.objects.get(o, o): t for o, t in dom.constants.items()},
                  {r.predicates.get(p, p): ts for p, ts in dom.predicates.items()},
                  {r.actions.get(n, n): act(a) for n, a in dom.actions.items()},
                  dom.requirements)


def rename_problem(prob: Problem, r: Renaming) -> Problem:
    """The problem with predicates and objects renamed."""
    return Problem(prob.name, r.domain_name or prob.domain_name,
                   {r.objects.get(o, o): t for o, t in prob.objects.items()},
                   frozenset(map(r.atom, prob.init)), tuple(map(r.atom, prob.goal)))


def mystery_renaming() -> Renaming:
    """PlanBench's Mystery Blocksworld: attack/succumb/overcome/feast, province/planet/..."""
    return Renaming(dict(MYSTERY_ACTIONS), dict(MYSTERY_PREDICATES), {},
                    "mystery-4ops")  # PlanBench's domain name


def random_name(rng: random.Random, length: int = 16) -> str:
    """A random lower-case alphanumeric identifier starting with a letter."""
    alphabet = string.ascii_lowercase + string.digits
    return rng.choice(string.ascii_lowercase) + "".join(
        rng.choice(alphabet) for _ in range(length - 1))


def random_renaming(dom: Domain, objects: list[str], seed: int = 0,
                    length: int = 16) -> Renaming:
    """Randomised obfuscation: every action, predicate and object gets a random string."""
    rng = random.Random(seed)
    used: set[str] = set()

    def fresh() -> str:
        while True:
            n = random_name(rng, length)
            if n not in used:
                used.add(n)
                return n

    return Renaming({a: fresh() for a in dom.actions}, {p: fresh() for p in dom.predicates},
                    {o: fresh() for o in objects}, f"random-{dom.name}")
