"""The calculator: exact against Python's own expression parser on generated arithmetic, and
never raising (nor evaluating anything) on adversarial strings."""

import ast
import operator
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.toolformer.tools import CALCULATOR_ERROR, calculator, format_number

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def reference(expr: str) -> Fraction:
    """An independent evaluator: Python's `ast` parse, exact fractions, no eval."""
    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return Fraction(str(node.value))
        if isinstance(node, ast.UnaryOp):
            v = walk(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            return _BIN[type(node.op)](walk(node.left), walk(node.right))
        raise AssertionError(node)
    return walk(ast.parse(expr, mode="eval"))


def reference_round(x: Fraction) -> str:
    """2 decimals, halves away from zero, via Decimal (independent of format_number)."""
    from decimal import ROUND_HALF_UP, Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 200
        d = (Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


numbers = st.one_of(st.integers(0, 10**6).map(str),
                    st.tuples(st.integers(0, 999), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"))


@st.composite
def expressions(draw, depth=0):
    if depth > 3 or draw(st.booleans()):
        return draw(numbers)
    kind = draw(st.sampled_from(["bin", "paren", "neg"]))
    if kind == "paren":
        return f"({draw(expressions(depth + 1))})"
    if kind == "neg":
        return f"-{draw(expressions(depth + 1))}"
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"{draw(expressions(depth + 1))} {op} {draw(expressions(depth + 1))}"


@settings(max_examples=300, deadline=None)
@given(expressions())
def test_matches_python_parser_on_generated_arithmetic(expr):
    try:
        expected = reference_round(reference(expr))
    except ZeroDivisionError:
        assert calculator(expr) == f"{CALCULATOR_ERROR} division by zero"
        return
    assert calculator(expr) == expected


@pytest.mark.parametrize("expr, out", [
    ("18 + 12 * 3", "54"), ("400 / 1400", "0.29"), ("5 / 2", "2.5"), ("2011 - 1994", "17"),
    ("723 / 252", "2.87"), ("(1 + 2) * 3", "9"), ("-3 + 1", "-2"), ("1 / 8", "0.13"),
    ("-1 / 8", "-0.13"), ("-1 / 1000", "0"), ("7 × 6", "42"), ("84 ÷ 4", "21"), ("9 − 10", "-1"),
    (".5 + 1.", "1.5"), ("  12  ", "12"),
])
def test_worked_examples(expr, out):
    assert calculator(expr) == out


@pytest.mark.parametrize("expr, why", [
    ("", "empty expression"), ("2 ** 3", "unexpected '*'"), ("__import__('os')", "unexpected character '_'"),
    ("1 +", "ends where a number was expected"), ("(1 + 2", "never closed"), ("1 + 2)", "unexpected ')'"),
    ("1 / 0", "division by zero"), ("1 / (2 - 2)", "division by zero"), ("658,893 / 11.4%", "unexpected character ','"),
    ("2 3", "unexpected '3'"), ("1e5", "unexpected character 'e'"), ("(" * 60 + "1" + ")" * 60, "nested more than"),
    ("1+" * 150 + "1", "longer than 200"), ("x", "unexpected character 'x'"),
])
def test_rejects_anything_but_arithmetic_with_a_reason(expr, why):
    out = calculator(expr)
    assert out.startswith(CALCULATOR_ERROR) and why in out


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), st.text(alphabet="0123456789+-*/()., ×÷−eE_x", max_size=300),
                 st.none(), st.integers(), st.binary(max_size=20)))
def test_never_raises_and_always_returns_text(expr):
    out = calculator(expr)
    assert isinstance(out, str) and out


def test_format_number_drops_trailing_zeros():
    assert [format_number(Fraction(x)) for x in ("2.50", "3", "0.105", "-0.004", "1/3")] == \
        ["2.5", "3", "0.11", "0", "0.33"]
