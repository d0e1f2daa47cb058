"""Exact Game of 24 solving: the exhaustive puzzle set and integer "legal moves" (paper §4.1).

All arithmetic is on `fractions.Fraction`, so 8 / (3 - 8 / 3) = 24 is found exactly.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import cache, lru_cache

TARGET = Fraction(24)


def _combine(a: Fraction, b: Fraction, ea: str, eb: str) -> list[tuple[Fraction, str]]:
    """Every value (with its expression) obtainable from a and b by one operation."""
    out = [(a + b, f"({ea} + {eb})"), (a - b, f"({ea} - {eb})"), (b - a, f"({eb} - {ea})"),
           (a * b, f"({ea} * {eb})")]
    if b != 0:
        out.append((a / b, f"({ea} / {eb})"))
    if a != 0:
        out.append((b / a, f"({eb} / {ea})"))
    return out


@cache
def _solvable(state: tuple[Fraction, ...]) -> bool:
    """True iff the sorted multiset `state` can reach 24 with + - * / (exact)."""
    if len(state) == 1:
        return state[0] == TARGET
    for i, j in itertools.combinations(range(len(state)), 2):
        rest = [state[k] for k in range(len(state)) if k not in (i, j)]
        for value, _ in _combine(state[i], state[j], "", ""):
            if _solvable(tuple(sorted([*rest, value]))):
                return True
    return False


def strip_outer(expr: str) -> str:
    """`expr` without one pair of parentheses around all of it."""
    wrapped = expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1])
    return expr[1:-1] if wrapped else expr


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if depth < 0:
            return False
    return depth == 0


def solve(numbers: tuple[int, ...] | list[int]) -> str | None:
    """One exact solution of the puzzle as an expression equal to 24, or None (§4.1)."""
    items = [(Fraction(n), str(n)) for n in numbers]

    def search(items: list[tuple[Fraction, str]]) -> str | None:
        if len(items) == 1:
            return items[0][1] if items[0][0] == TARGET else None
        for i, j in itertools.combinations(range(len(items)), 2):
            rest = [items[k] for k in range(len(items)) if k not in (i, j)]
            (a, ea), (b, eb) = items[i], items[j]
            for value, expr in _combine(a, b, ea, eb):
                nxt = [*rest, (value, expr)]
                if not _solvable(tuple(sorted(v for v, _ in nxt))):
                    continue
                found = search(nxt)
                if found is not None:
                    return found
        return None

    found = search(items)
    return None if found is None else strip_outer(found)


def solvable(numbers: tuple[int, ...] | list[int]) -> bool:
    """True iff the numbers can reach 24 with exact + - * / (each number once)."""
    return _solvable(tuple(sorted(Fraction(n) for n in numbers)))


def all_multisets(low: int = 1, high: int = 13, size: int = 4) -> list[tuple[int, ...]]:
    """Every multiset of `size` numbers from low..high as a sorted tuple (1,820 for 4 of 13)."""
    return list(itertools.combinations_with_replacement(range(low, high + 1), size))


@lru_cache(maxsize=1)
def puzzles() -> tuple[tuple[int, int, int, int], ...]:
    """The solvable puzzles: sorted 4-tuples from 1..13 that reach 24 (1,362 of 1,820)."""
    return tuple(p for p in all_multisets() if solvable(p))  # type: ignore[misc]


# ---------------------------------------------------------------- integer legal moves
# The propose step writes lines "a op b = c (left: ...)". The reproduction's "legal"
# moves keep every intermediate a non-negative integer (exact division only), which
# is enough for all 100 of the paper's test puzzles.


def legal_moves(state: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Distinct integer moves from `state`: (line "a op b = c (left: ...)", next state)."""
    out: dict[str, tuple[int, ...]] = {}
    for i, j in itertools.combinations(range(len(state)), 2):
        a, b = max(state[i], state[j]), min(state[i], state[j])
        rest = [state[k] for k in range(len(state)) if k not in (i, j)]
        results = [("+", a + b), ("-", a - b), ("*", a * b)]
        if b != 0 and a % b == 0:
            results.append(("/", a // b))
        for op, c in results:
            nxt = tuple(sorted([*rest, c]))
            line = f"{a} {op} {b} = {c} (left: {' '.join(map(str, nxt))})"
            out.setdefault(line, nxt)
    return list(out.items())


@cache
def int_solvable(state: tuple[int, ...]) -> bool:
    """True iff a sorted integer state reaches 24 through integer legal moves only."""
    if len(state) == 1:
        return state[0] == 24
    return any(int_solvable(nxt) for _, nxt in legal_moves(state))


def int_solution_lines(state: tuple[int, ...]) -> list[str] | None:
    """The step lines of one integer solution from `state` (first found), or None."""
    if len(state) == 1:
        return [] if state[0] == 24 else None
    for line, nxt in legal_moves(state):
        if int_solvable(nxt):
            rest = int_solution_lines(nxt)
            if rest is not None:
                return [line, *rest]
    return None


def reachable_states(puzzle: tuple[int, ...]) -> set[tuple[int, ...]]:
    """All states (the puzzle included) reachable from `puzzle` by integer legal moves."""
    seen: set[tuple[int, ...]] = set()
    stack = [tuple(sorted(puzzle))]
    while stack:
        s = stack.pop()
        if s in seen:
            continue
        seen.add(s)
        if len(s) > 1:
            stack.extend(nxt for _, nxt in legal_moves(s))
    return seen
