"""A safe arithmetic parser with exact fractions for Game of 24 answers (never `eval`).

Grammar (recursive descent, left-associative)::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '/') factor)*
    factor := INTEGER | '(' expr ')'

Unicode operators (× ÷ − –) and ``x`` between operands are read as their ASCII forms.
There are no unary operators, so every number in the expression is a literal the answer
"uses". Division by zero, over-long text, deep nesting and huge literals are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from neurips23.errors import UserError

MAX_CHARS = 500
MAX_DEPTH = 32
MAX_DIGITS = 9

_OPS = {"+": "+", "-": "-", "*": "*", "/": "/", "×": "*", "÷": "/", "−": "-", "–": "-",
        "x": "*", "X": "*", "(": "(", ")": ")"}


class ExpressionError(UserError):
    """Text that is not a well-formed arithmetic expression over integers."""


@dataclass(frozen=True)
class Parsed:
    """A parsed expression: its exact value and the integer literals it uses, in order."""

    value: Fraction
    numbers: tuple[int, ...]


def tokenize(text: str) -> list[str]:
    """Split `text` into integer literals and operator/parenthesis tokens."""
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"expression longer than {MAX_CHARS} characters")
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "0123456789":
            j = i
            while j < len(text) and text[j] in "0123456789":
                j += 1
            if j - i > MAX_DIGITS:
                raise ExpressionError(
                    f"number {text[i:j][:12]}... has more than {MAX_DIGITS} digits")
            tokens.append(text[i:j])
            i = j
        elif ch in _OPS:
            tokens.append(_OPS[ch])
            i += 1
        else:
            raise ExpressionError(f"unexpected character {ch!r} at position {i} in {text!r}")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.numbers: list[int] = []

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("expression ends too early")
        self.pos += 1
        return tok

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term(depth)
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self, depth: int) -> Fraction:
        value = self.factor(depth)
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.factor(depth)
            if op == "*":
                value = value * rhs
            elif rhs == 0:
                raise ExpressionError("division by zero")
            else:
                value = value / rhs
        return value

    def factor(self, depth: int) -> Fraction:
        tok = self.take()
        if tok == "(":
            if depth >= MAX_DEPTH:
                raise ExpressionError(f"parentheses nested deeper than {MAX_DEPTH}")
            value = self.expr(depth + 1)
            if self.take() != ")":
                raise ExpressionError("missing ')'")
            return value
        if tok.isdigit():
            self.numbers.append(int(tok))
            return Fraction(int(tok))
        raise ExpressionError(f"expected a number or '(', got {tok!r}")


def parse_expression(text: str) -> Parsed:
    """Parse `text` exactly (Fractions) into its value and the integer literals it uses."""
    tokens = tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression")
    parser = _Parser(tokens)
    value = parser.expr(0)
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} after a complete expression")
    return Parsed(value=value, numbers=tuple(parser.numbers))
