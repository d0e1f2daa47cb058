"""Game of 24: puzzle set, solver, safe parser and answer check against independent references."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.errors import DataError, UserError
from neurips23.tot.game24 import (
    ExpressionError,
    all_multisets,
    check_answer,
    compose_answer,
    int_solvable,
    legal_moves,
    parse_expression,
    puzzles,
    reachable_states,
    read_puzzle_file,
    solvable,
    solve,
)
from neurips23.tot.game24.data import parse_index_range


def brute_force_24(nums: tuple[int, ...]) -> bool:
    """Independent reference: every order x every operator triple x all 5 bracketings."""
    ops = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
           lambda a, b: a / b if b != 0 else None]

    def ap(f, a, b):
        return None if a is None or b is None else f(a, b)

    for a, b, c, d in set(itertools.permutations(Fraction(n) for n in nums)):
        for f, g, h in itertools.product(ops, repeat=3):
            trees = [ap(h, ap(g, ap(f, a, b), c), d), ap(h, ap(f, a, b), ap(g, c, d)),
                     ap(h, ap(g, a, ap(f, b, c)), d), ap(h, a, ap(g, ap(f, b, c), d)),
                     ap(h, a, ap(g, b, ap(f, c, d)))]
            if any(t == 24 for t in trees):
                return True
    return False


def test_puzzle_counts_are_the_papers():
    assert len(all_multisets()) == 1820
    assert len(puzzles()) == 1362
    assert all(list(p) == sorted(p) for p in puzzles())
    assert (4, 5, 6, 10) in puzzles()  # index 900 of the paper's 24.csv
    assert sum(int_solvable(p) for p in puzzles()) == 1346


def test_solver_agrees_with_brute_force_on_a_sample():
    rng = random.Random(0)
    sample = rng.sample(all_multisets(), 120) + [(3, 3, 8, 8), (1, 1, 1, 1), (1, 5, 5, 5)]
    for p in sample:
        assert solvable(p) == brute_force_24(p), p


def test_every_solution_checks():
    for p in puzzles():
        assert check_answer(p, f"Answer: {solve(p)} = 24"), p
    assert solve((1, 1, 1, 1)) is None
    assert check_answer((3, 3, 8, 8), solve((3, 3, 8, 8)))  # needs fractions: 8/(3-8/3)


def test_check_answer_hand_cases():
    x = (4, 5, 6, 10)
    assert check_answer(x, "Answer: (5 * 6) - (10 - 4) = 24")
    assert check_answer(x, "(5 * 6) - (10 - 4)")  # bare expression
    assert check_answer(x, "Steps:\n...\nanswer: (5 × 6) − (10 − 4) = 24")
    assert not check_answer(x, "Answer: (5 * 6) - (10 - 4) = 25")  # stated result wrong
    assert not check_answer(x, "Answer: 5 * 6 - 10 - 4 = 24")  # value 16
    assert not check_answer(x, "Answer: 4 * 6 = 24")  # not all numbers
    assert not check_answer(x, "Answer: (5 * 6) - (10 - 4) + 0 = 24")  # extra number
    assert not check_answer(x, "Answer: -(6 - 10) + 5 * 4 = 24")  # 24, but unary minus
    assert not check_answer(x, "Answer: 4 / (5 - 5) = 24")
    assert not check_answer(x, "__import__('os').system('true')")
    assert not check_answer(x, "(" * 5000 + "24" + ")" * 5000)
    assert not check_answer(x, "9" * 10_000)


@st.composite
def expressions(draw, depth=0):
    """(text, exact value or None if it divides by zero, literals) from a random tree."""
    if depth >= 3 or draw(st.booleans()):
        n = draw(st.integers(0, 200))
        return str(n), Fraction(n), [n]
    lt, lv, ln = draw(expressions(depth=depth + 1))
    rt, rv, rn = draw(expressions(depth=depth + 1))
    op = draw(st.sampled_from(["+", "-", "*", "/", "×", "÷", "−"]))
    ascii_op = {"×": "*", "÷": "/", "−": "-"}.get(op, op)
    if lv is None or rv is None:
        value = None
    elif ascii_op == "+":
        value = lv + rv
    elif ascii_op == "-":
        value = lv - rv
    elif ascii_op == "*":
        value = lv * rv
    else:
        value = None if rv == 0 else lv / rv
    space = draw(st.sampled_from(["", " ", "  "]))
    return f"({lt}{space}{op}{space}{rt})", value, ln + rn


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_parser_matches_tree_evaluation(expr):
    text, value, literals = expr
    if value is None:
        with pytest.raises(ExpressionError, match="division by zero"):
            parse_expression(text)
    else:
        parsed = parse_expression(text)
        assert parsed.value == value
        assert list(parsed.numbers) == literals


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(sorted(puzzles())[:50]))
def test_check_answer_never_raises_on_arbitrary_text(text, puzzle):
    assert check_answer(puzzle, text) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+-*/()= x×÷.", max_size=40))
def test_parser_accepts_or_rejects_cleanly(text):
    try:
        parsed = parse_expression(text)
    except ExpressionError as err:
        assert isinstance(err, UserError) and str(err)
    else:
        assert isinstance(parsed.value, Fraction)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(puzzles())), st.data())
def test_accepted_answers_use_the_numbers_and_make_24(puzzle, data):
    # A solution with its literals permuted is accepted only if it still makes 24.
    text = solve(puzzle)
    digits = [int(t) for t in text.replace("(", " ").replace(")", " ").split() if t.isdigit()]
    perm = data.draw(st.permutations(digits))
    it = iter(perm)
    out = "".join(str(next(it)) if tok.isdigit() else tok
                  for tok in _split_keep(text))
    try:
        expected = parse_expression(out).value == 24
    except ExpressionError:  # a permutation may divide by zero
        expected = False
    assert check_answer(puzzle, out) == expected


def _split_keep(text):
    tok, out = "", []
    for ch in text:
        if ch.isdigit():
            tok += ch
        else:
            if tok:
                out.append(tok)
                tok = ""
            out.append(ch)
    return [*out, tok] if tok else out


def test_legal_moves_hand_case():
    moves = dict(legal_moves((2, 8, 8, 14)))
    # the paper's propose example lists these (all integer moves)
    for line in ["8 + 2 = 10 (left: 8 10 14)", "8 / 2 = 4 (left: 4 8 14)",
                 "14 - 8 = 6 (left: 2 6 8)", "14 / 2 = 7 (left: 7 8 8)"]:
        assert line in moves
    assert "14 / 8 = 1 (left: 1 2 8)" not in moves  # inexact division is not legal
    assert all(min(s) >= 0 for s in moves.values())
    assert len(moves) == len(set(moves))


def test_reachable_states_and_composition():
    states = reachable_states((4, 5, 6, 10))
    assert (4, 5, 6, 10) in states and (24,) in states and (4, 20) in states
    assert all(1 <= len(s) <= 4 for s in states)
    steps = ["13 - 10 = 3 (left: 3 4 9)", "9 - 3 = 6 (left: 4 6)", "4 * 6 = 24 (left: 24)"]
    assert compose_answer((4, 9, 10, 13), steps) == "4 * (9 - (13 - 10))"
    assert compose_answer((4, 9, 10, 13), ["7 + 1 = 8 (left: 8)"]) is None


def test_puzzle_file_reader(tmp_path):
    good = tmp_path / "24.csv"
    good.write_text("Rank,Puzzles,AMT (s),Solved rate\n1,1 1 4 6,4.4,99%\n2,4 5 6 10,5,98%\n")
    assert read_puzzle_file(good) == [(1, 1, 4, 6), (4, 5, 6, 10)]
    bad = tmp_path / "bad.csv"
    bad.write_text("Rank,Puzzles\n1,1 1 4 6\n2,1 1 x 6\n")
    with pytest.raises(DataError, match=r"bad.csv:3: field 'Puzzles'.*'1 1 x 6'"):
        read_puzzle_file(bad)
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("Rank,Numbers\n1,1 1 4 6\n")
    with pytest.raises(DataError, match="no 'Puzzles' column"):
        read_puzzle_file(nocol)
    with pytest.raises(DataError, match="not found"):
        read_puzzle_file(tmp_path / "missing.csv")


def test_index_ranges():
    assert parse_index_range("900-902,5", 1362) == [900, 901, 902, 5]
    with pytest.raises(UserError, match="outside 0-1361"):
        parse_index_range("1300-1400", 1362)
    with pytest.raises(UserError, match="cannot read 'a-b'"):
        parse_index_range("a-b", 1362)


def test_model_numbers_with_huge_exponents_are_not_parsed(monkeypatch):
    """`Fraction("1e30000000")` takes seconds to build; model text must never reach it."""
    from neurips23.tot.game24.task import Game24Task, parse_left_number

    assert parse_left_number("12") == 12 and parse_left_number("3/4") * 4 == 3
    for bad in ("1e30000000", "1" * 40, "2.5", "1/0"):
        with pytest.raises(ValueError):
            parse_left_number(bad)
    import fractions

    import neurips23.tot.game24.task as task_module

    built: list[str] = []

    def recording(value=0, *rest):
        if isinstance(value, str):
            built.append(value)
        return fractions.Fraction(value, *rest)

    task = Game24Task()
    monkeypatch.setattr(task_module, "Fraction", recording)
    task.oracle_value("4 5 6 10", "4 + 5 = 9 (left: 6 10 1e30000000)")
    assert "1e30000000" not in built and all("e" not in b for b in built)
