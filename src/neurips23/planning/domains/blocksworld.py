"""Blocksworld with PlanBench's four operators and uniformly random states (Slaney & Thiebaut
2001): a state is a set of towers, i.e. a partition of the blocks into ordered stacks."""

from __future__ import annotations

import math
import random

from neurips23.pddl.parser import Atom, Problem

DOMAIN_PDDL = """\
(define (domain blocksworld-4ops)
  (:requirements :strips)
  (:predicates (clear ?x) (ontable ?x) (handempty) (holding ?x) (on ?x ?y))
  (:action pick-up
    :parameters (?ob)
    :precondition (and (clear ?ob) (ontable ?ob) (handempty))
    :effect (and (holding ?ob) (not (clear ?ob)) (not (ontable ?ob)) (not (handempty))))
  (:action put-down
    :parameters (?ob)
    :precondition (holding ?ob)
    :effect (and (clear ?ob) (handempty) (ontable ?ob) (not (holding ?ob))))
  (:action stack
    :parameters (?ob ?underob)
    :precondition (and (clear ?underob) (holding ?ob))
    :effect (and (handempty) (clear ?ob) (on ?ob ?underob) (not (clear ?underob))
                 (not (holding ?ob))))
  (:action unstack
    :parameters (?ob ?underob)
    :precondition (and (on ?ob ?underob) (clear ?ob) (handempty))
    :effect (and (holding ?ob) (clear ?underob) (not (on ?ob ?underob)) (not (clear ?ob))
                 (not (handempty)))))
"""

BLOCK_NAMES = "abcdefghijklmnopqrstuvwxyz"

Towers = tuple[tuple[str, ...], ...]  # each tower bottom -> top, towers sorted (canonical)


def lah(n: int, k: int) -> int:
    """Unsigned Lah number L(n, k): partitions of n items into k non-empty ordered lists."""
    if n == 0 and k == 0:
        return 1
    if k < 1 or k > n:
        return 0
    return math.comb(n - 1, k - 1) * math.factorial(n) // math.factorial(k)


def count_states(n: int) -> int:
    """Number of blocks-world states with n blocks (sum of Lah numbers; 1, 3, 13, 73, 501...)."""
    return sum(lah(n, k) for k in range(n + 1))


def random_towers(blocks: list[str], rng: random.Random) -> Towers:
    """A uniformly random blocks-world state: draw the tower count k with weight L(n, k), then
    a random permutation cut at k-1 random places (each unordered state arises k! times)."""
    n = len(blocks)
    r = rng.randrange(count_states(n))
    k = 0
    while r >= lah(n, k):
        r -= lah(n, k)
        k += 1
    perm = blocks[:]
    rng.shuffle(perm)
    cuts = sorted(rng.sample(range(1, n), k - 1)) if n else []
    bounds = [0, *cuts, n]
    towers = [tuple(perm[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return tuple(sorted(towers))


def towers_atoms(towers: Towers) -> set[Atom]:
    """on / ontable / clear atoms of a state (the hand is not included)."""
    atoms: set[Atom] = set()
    for t in towers:
        atoms.add(("ontable", t[0]))
        atoms.add(("clear", t[-1]))
        for below, above in zip(t, t[1:], strict=False):
            atoms.add(("on", above, below))
    return atoms


def make_problem(name: str, init: Towers, goal: Towers) -> Problem:
    """A 4-op problem: the hand is empty initially; the goal is the goal state's `on` atoms
    (PlanBench's convention)."""
    blocks = sorted(b for t in init for b in t)
    init_atoms = frozenset(towers_atoms(init) | {("handempty",)})
    goal_atoms = tuple(sorted(a for a in towers_atoms(goal) if a[0] == "on"))
    return Problem(name, "blocksworld-4ops", {b: "object" for b in blocks}, init_atoms,
                   goal_atoms)


def generate_problems(n_blocks: int, count: int, rng: random.Random,
                      seen: set | None = None, max_tries: int | None = None) -> list[Problem]:
    """`count` distinct problems with uniform random init and goal states; problems whose goal
    already holds initially are rejected, duplicates (same init and goal) removed."""
    blocks = list(BLOCK_NAMES[:n_blocks])
    seen = set() if seen is None else seen
    out: list[Problem] = []
    tries = 0
    limit = max_tries if max_tries is not None else 200 * count + 1000
    while len(out) < count and tries < limit:
        tries += 1
        p = make_problem("", random_towers(blocks, rng), random_towers(blocks, rng))
        if set(p.goal) <= p.init:
            continue
        key = (p.init, p.goal)
        if key in seen:
            continue
        seen.add(key)
        p.name = f"bw-{n_blocks}-{len(out) + 1}"
        out.append(p)
    return out
