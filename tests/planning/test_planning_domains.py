"""Generators and renamings: uniform blocks-world states (Slaney-Thiebaut counts by brute
force), rejection and dedup, and obfuscation preserving plan validity."""

import itertools
import random
from collections import Counter

from neurips23.pddl.validate import validate_plan
from neurips23.planning.domains import blocksworld
from neurips23.planning.domains.registry import generate_instances, get_domain
from neurips23.planning.domains.rename import (
    mystery_renaming,
    random_renaming,
    rename_domain,
    rename_problem,
)


def brute_force_states(n: int) -> set:
    """Every set of towers over n blocks: set partitions times orderings inside each part."""
    blocks = list(range(n))
    states = set()
    for labels in itertools.product(range(n), repeat=n):
        parts: dict[int, list[int]] = {}
        for b, lab in zip(blocks, labels, strict=True):
            parts.setdefault(lab, []).append(b)
        for orders in itertools.product(*(itertools.permutations(p) for p in parts.values())):
            states.add(tuple(sorted(orders)))
    return states


def test_state_counts_match_brute_force():
    for n in range(1, 6):
        assert blocksworld.count_states(n) == len(brute_force_states(n))
    assert [blocksworld.count_states(n) for n in range(1, 7)] == [1, 3, 13, 73, 501, 4051]


def test_random_states_are_uniform():
    rng = random.Random(0)
    draws = 13 * 600
    counts = Counter(blocksworld.random_towers(list("abc"), rng) for _ in range(draws))
    assert len(counts) == 13
    chi2 = sum((c - draws / 13) ** 2 / (draws / 13) for c in counts.values())
    assert chi2 < 32.9  # chi-square, 12 degrees of freedom, p = 0.001


def test_generator_rejects_solved_goals_and_duplicates():
    probs = blocksworld.generate_problems(3, 1000, random.Random(1), max_tries=5000)
    keys = {(p.init, p.goal) for p in probs}
    assert len(keys) == len(probs)
    assert all(not set(p.goal) <= p.init for p in probs)
    assert all(a[0] == "on" for p in probs for a in p.goal)
    # brute force: every (init, goal) pair of 3-block states whose goal does not already hold
    states = [tuple(tuple("abc"[i] for i in t) for t in st) for st in brute_force_states(3)]
    expected = set()
    for s0 in states:
        for s1 in states:
            p = blocksworld.make_problem("", s0, s1)
            if not set(p.goal) <= p.init:
                expected.add((p.init, p.goal))
    assert keys == expected  # all of them found, nothing else


def test_instances_carry_valid_optimal_plans():
    for name in ("blocksworld", "mystery_blocksworld", "random_blocksworld", "logistics"):
        spec = get_domain(name)
        for inst in generate_instances(name, 6, seed=4):
            assert validate_plan(spec.domain, inst.problem, inst.plan).valid
            assert not set(inst.problem.goal) <= inst.problem.init


def test_renaming_preserves_validity_both_ways():
    bw = get_domain("blocksworld").domain
    rng = random.Random(2)
    for r in (mystery_renaming(), random_renaming(bw, list("abcdefghijkl"), seed=3)):
        dom2 = rename_domain(bw, r)
        assert set(dom2.actions).isdisjoint(bw.actions)
        for inst in generate_instances("blocksworld", 10, seed=8):
            prob2 = rename_problem(inst.problem, r)
            for plan in (inst.plan, inst.plan[:-1], rng.sample(inst.plan, len(inst.plan))):
                renamed = []
                for s in plan:
                    n, *args = s.strip("()").split()
                    n2, a2 = r.step(n, tuple(args))
                    renamed.append("(" + " ".join((n2, *a2)) + ")")
                assert (validate_plan(bw, inst.problem, plan).valid
                        == validate_plan(dom2, prob2, renamed).valid)
    assert mystery_renaming().actions["unstack"] == "feast"
    assert mystery_renaming().predicates["on"] == "craves"
