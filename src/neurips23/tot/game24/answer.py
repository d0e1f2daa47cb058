"""The final-answer check of Game of 24 (paper §4.1): each given number once, value 24."""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from neurips23.tot.game24.arith import ExpressionError, parse_expression
from neurips23.tot.game24.solver import strip_outer

_STEP = re.compile(r"^\s*(\d+)\s*([-+*/])\s*(\d+)\s*=\s*(\d+)")

_ANSWER_PREFIX = re.compile(r"^\s*answer\s*:\s*", re.IGNORECASE)


def extract_expression(text: str) -> str:
    """The left side of the last non-empty line of `text`, "Answer:" stripped (as in the repo)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise ExpressionError("empty answer")
    last = _ANSWER_PREFIX.sub("", lines[-1])
    parts = last.split("=")
    if len(parts) > 2:
        raise ExpressionError(f"more than one '=' in {last!r}")
    if len(parts) == 2 and parse_expression(parts[1]).value != 24:
        raise ExpressionError(f"right-hand side of {last!r} is not 24")
    return parts[0]


def check_answer(numbers: Sequence[int], text: str) -> bool:
    """True iff `text` ("Answer: expr = 24" or a bare expr) uses exactly `numbers` and is 24."""
    try:
        parsed = parse_expression(extract_expression(text))
    except ExpressionError:
        return False
    return sorted(parsed.numbers) == sorted(numbers) and parsed.value == Fraction(24)


def compose_answer(numbers: Sequence[int], steps: Sequence[str]) -> str | None:
    """The one-line expression written by step lines "a op b = c (left: ...)" (as in CoT).

    Substitutes each step's operands by the expressions that made them; None when a line
    is malformed or uses a number that is not available. The arithmetic is not checked.
    """
    pool: list[tuple[int, str]] = [(int(n), str(n)) for n in numbers]
    for line in steps:
        m = _STEP.match(line)
        if m is None:
            return None
        a, op, b, c = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        exprs = []
        for v in (a, b):
            idx = next((i for i, (pv, _) in enumerate(pool) if pv == v), None)
            if idx is None:
                return None
            exprs.append(pool.pop(idx)[1])
        pool.append((c, f"({exprs[0]} {op} {exprs[1]})"))
    if len(pool) != 1:
        return None
    return strip_outer(pool[0][1])


_DIGITS = re.compile(r"\d+")


def uses_input_numbers(x: str, text: str) -> bool:
    """The authors' final-pick test: `text` has "Answer: " and the equation after its last
    "Answer: " (up to " = ") uses exactly the puzzle's numbers (as digit strings; neither its
    value nor its right-hand side is checked)."""
    if "Answer: " not in text:
        return False
    equation = text.split("Answer: ")[-1].split(" = ")[0]
    return sorted(_DIGITS.findall(equation)) == sorted(x.split())


def authors_pick(x: str, finals: Sequence[str]) -> int | None:
    """Index of the final the ToT authors score on Game of 24: the first final (in value order)
    whose answer uses the input numbers; None if none does (scored as a failure).

    This is how Table 2's 74% was computed (the authors' evaluation code in
    github.com/princeton-nlp/tree-of-thought-llm/issues/22, their explanation in
    github.com/princeton-nlp/tree-of-thought-llm/issues/53): neither top-1 (the highest-valued
    final alone) nor any-of-5 (a correctness check on every final), but a format-and-numbers
    filter over the 5 finals."""
    return next((i for i, y in enumerate(finals) if uses_input_numbers(x, y)), None)
