"""Named domains: PDDL, instance generator, verbaliser, and obfuscated variants."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from neurips23.errors import UserError
from neurips23.pddl.parser import Domain, Problem, parse_domain
from neurips23.pddl.search import search
from neurips23.pddl.task import ground
from neurips23.planning import nl
from neurips23.planning.domains import blocksworld, logistics
from neurips23.planning.domains.rename import (
    Renaming,
    mystery_renaming,
    random_renaming,
    rename_domain,
    rename_problem,
)
from neurips23.planning.plan_text import Verbalizer


@dataclass
class Instance:
    """A problem with its optimal plan (PDDL step strings)."""

    problem: Problem
    plan: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)


@dataclass
class DomainSpec:
    """Everything a named domain provides."""

    name: str
    domain: Domain
    verbalizer: Callable[[bool], Verbalizer]
    renaming: Renaming | None = None  # from the base vocabulary to this one
    base: str | None = None  # the domain this one renames

    def to_local(self, problem: Problem) -> Problem:
        """A base-vocabulary problem in this domain's vocabulary."""
        return rename_problem(problem, self.renaming) if self.renaming else problem

    def plan_to_local(self, plan: list[str]) -> list[str]:
        if not self.renaming:
            return list(plan)
        out = []
        for s in plan:
            name, *args = s.strip("()").split()
            n, a = self.renaming.step(name, tuple(args))
            out.append("(" + " ".join((n, *a)) + ")")
        return out


def _bw() -> DomainSpec:
    return DomainSpec("blocksworld", parse_domain(blocksworld.DOMAIN_PDDL, "blocksworld.pddl"),
                      lambda intro=True: nl.blocksworld_verbalizer(intro))


def _mystery() -> DomainSpec:
    base = parse_domain(blocksworld.DOMAIN_PDDL, "blocksworld.pddl")
    r = mystery_renaming()
    return DomainSpec("mystery_blocksworld", rename_domain(base, r),
                      lambda intro=True: nl.mystery_verbalizer(intro), r, "blocksworld")


def _random_bw(seed: int = 0) -> DomainSpec:
    base = parse_domain(blocksworld.DOMAIN_PDDL, "blocksworld.pddl")
    r = random_renaming(base, list(blocksworld.BLOCK_NAMES[:12]), seed=seed)
    dom = rename_domain(base, r)
    return DomainSpec("random_blocksworld", dom,
                      lambda intro=True: nl.generic_verbalizer(dom, intro=intro), r,
                      "blocksworld")


def _logistics() -> DomainSpec:
    return DomainSpec("logistics", parse_domain(logistics.DOMAIN_PDDL, "logistics.pddl"),
                      lambda intro=True: nl.logistics_verbalizer(intro))


DOMAINS: dict[str, Callable[[], DomainSpec]] = {
    "blocksworld": _bw,
    "mystery_blocksworld": _mystery,
    "random_blocksworld": _random_bw,
    "logistics": _logistics,
}


def get_domain(name: str) -> DomainSpec:
    """The named domain; a UserError lists the names."""
    if name not in DOMAINS:
        raise UserError(f"unknown domain '{name}' (choose from: {', '.join(DOMAINS)})")
    return DOMAINS[name]()


def optimal_plan(domain: Domain, problem: Problem, time_limit: float = 60.0) -> list[str] | None:
    """An optimal plan by A* with h_max, or None if unsolvable / out of time."""
    res = search(ground(domain, problem), "astar", time_limit=time_limit)
    return res.plan if res.solved else None


def generate_instances(name: str, n: int, seed: int = 0, blocks: tuple[int, ...] = (3, 4, 5),
                       seen: set | None = None, min_plan_length: int = 1,
                       **sizes) -> list[Instance]:
    """`n` distinct instances with optimal plans; Blocksworld instances are spread evenly over
    the block counts; obfuscated variants rename Blocksworld instances."""
    spec = get_domain(name)
    rng = random.Random(seed)
    out: list[Instance] = []
    if spec.base == "blocksworld" or name == "blocksworld":
        base = get_domain("blocksworld").domain
        seen = set() if seen is None else seen
        per = [n // len(blocks) + (1 if i < n % len(blocks) else 0) for i in range(len(blocks))]
        for nb, k in zip(blocks, per, strict=True):
            for p in blocksworld.generate_problems(nb, k, rng, seen):
                plan = optimal_plan(base, p)
                if plan is None:  # every blocks-world goal is reachable: only A*'s time limit stops it
                    from neurips23.errors import UserError
                    raise UserError(f"no optimal plan found in time for a {nb}-block instance; "
                                    "use fewer blocks")
                out.append(Instance(spec.to_local(p), spec.plan_to_local(plan),
                                    {"blocks": nb, "optimal_length": len(plan)}))
        return out
    if name == "logistics":
        tries = 0
        while len(out) < n and tries < 50 * n + 50:
            tries += 1
            for p in logistics.generate_problems(1, rng, **sizes):
                plan = optimal_plan(spec.domain, p)
                key = (p.init, p.goal)
                if plan is None or len(plan) < max(min_plan_length, 3) or key in (seen or ()):
                    continue
                if seen is not None:
                    seen.add(key)
                p.name = f"logistics-{len(out) + 1}"
                out.append(Instance(p, plan, {"optimal_length": len(plan)}))
        return out
    raise UserError(f"no generator for domain '{name}'")  # pragma: no cover
