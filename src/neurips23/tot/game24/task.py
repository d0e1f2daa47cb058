"""Game of 24 as a ToT task (official `tasks/game24.py`): 4 steps, propose + value."""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from fractions import Fraction

from neurips23.errors import UserError
from neurips23.tot.game24 import prompts
from neurips23.tot.game24.answer import check_answer
from neurips23.tot.game24.solver import solvable
from neurips23.tot.task import VALUE_MAP

_VOTE = re.compile(r"best choice is\s*(\d+)", re.IGNORECASE)


def parse_puzzle(x: str) -> list[int]:
    """The four integers of a puzzle text such as "4 5 6 10"."""
    fields = x.split()
    if len(fields) != 4 or not all(f.isdigit() for f in fields):
        raise UserError(f"a Game of 24 puzzle is four integers such as '4 5 6 10', got {x!r}")
    return [int(f) for f in fields]


def current_numbers(x: str, y: str) -> str:
    """Numbers left after the partial solution `y` ("left: ..." of its last line), else x."""
    last = (y.strip() or x).split("\n")[-1]
    return last.split("left: ")[-1].split(")")[0].strip()


_NUMBER = re.compile(r"-?\d{1,9}(?:/[1-9]\d{0,8})?")


def parse_left_number(tok: str) -> Fraction:
    """A number from a model's "(left: ...)" list: an integer or a/b with at most 9 digits each.

    Model text never reaches `Fraction(str)` unchecked: it accepts exponents, and "1e30000000"
    would take seconds to minutes to build."""
    if not _NUMBER.fullmatch(tok):
        raise ValueError(f"not a number: {tok[:20]!r}")
    return Fraction(tok)


def _canonical(numbers: str) -> str:
    def key(tok: str) -> tuple[int, Fraction | str]:
        try:
            return (0, parse_left_number(tok))
        except (ValueError, ZeroDivisionError):
            return (1, tok)

    return " ".join(sorted(numbers.split(), key=key))


class Game24Task:
    """Game of 24 (paper §4.1): three "a op b = c (left: ...)" steps, then "Answer: ...".

    `few_shot=True` uses the paper's prompts; `few_shot=False` their zero-shot forms
    (for a model trained on the formats).
    """

    steps = 4
    propose_stop: Sequence[str] = ()
    value_stop: Sequence[str] = ()

    def __init__(self, few_shot: bool = True) -> None:
        self.few_shot = few_shot

    # -- generation ---------------------------------------------------------------------------
    def propose_prompt(self, x: str, y: str) -> str:
        """Propose next steps; once only 24 is left, the CoT prompt writes the answer line."""
        current = current_numbers(x, y)
        if current == "24":
            return prompts.answer_prompt(x, y, self.few_shot)
        return prompts.propose_prompt(current, self.few_shot)

    def parse_proposals(self, x: str, y: str, output: str) -> list[str]:
        """One child per non-empty output line (the repo splits the single output on newlines)."""
        return [y + line.strip() + "\n" for line in output.split("\n") if line.strip()]

    def sample_prompt(self, x: str, y: str, cot: bool) -> str:
        """IO or CoT prompt (the `sample` generator and the IO/CoT baselines)."""
        base = prompts.cot_prompt(x, self.few_shot) if cot else prompts.io_prompt(x, self.few_shot)
        return base + y

    # -- evaluation ---------------------------------------------------------------------------
    def _is_answer_state(self, y: str) -> bool:
        last = y.strip().split("\n")[-1] if y.strip() else ""
        return bool(y.strip()) and "left: " not in last

    def _answer(self, y: str) -> str:
        last = y.strip().split("\n")[-1]
        return re.sub(r"^\s*answer:\s*", "", last.lower())

    def value_prompt(self, x: str, y: str) -> str:
        """Value prompt on the numbers left; the judge prompt on a final answer line."""
        if self._is_answer_state(y):
            return prompts.judge_prompt(x, self._answer(y), self.few_shot)
        return prompts.value_prompt(_canonical(current_numbers(x, y)), self.few_shot)

    def value_key(self, x: str, y: str) -> Hashable:
        """The multiset of numbers left (the answer line and puzzle for a final state)."""
        if self._is_answer_state(y):
            return ("judge", x, " ".join(self._answer(y).split()))
        return ("left", _canonical(current_numbers(x, y)))

    def fixed_value(self, x: str, y: str) -> float | None:
        """0 for a 4-line state without an answer (the repo's rule), else None."""
        if len(y.strip().split("\n")) == 4 and "answer" not in y.lower():
            return 0.0
        return None

    def parse_value(self, x: str, y: str, outputs: Sequence[str]) -> float:
        """Sum over samples of sure/likely/impossible -> 20/1/0.001 (last output line)."""
        names = [(o.strip().split("\n")[-1] if o.strip() else "").strip().lower() for o in outputs]
        return sum(VALUE_MAP.get(name, 0.0) for name in names)

    def vote_prompt(self, x: str, ys: Sequence[str]) -> str:
        """The repo's generic vote prompt over the candidate states."""
        instruction = f"Use the numbers {x} and basic arithmetic operations (+ - * /) to obtain 24."
        return prompts.vote_prompt(instruction, list(ys))

    def parse_votes(self, x: str, ys: Sequence[str], outputs: Sequence[str]) -> list[float]:
        """Votes per candidate from "The best choice is N" (1-based) in each output."""
        votes = [0.0] * len(ys)
        for out in outputs:
            m = _VOTE.search(out)
            if m and 1 <= int(m.group(1)) <= len(ys):
                votes[int(m.group(1)) - 1] += 1
        return votes

    def oracle_value(self, x: str, y: str, n: int = 3) -> float:
        """Upper-bound evaluator: what a perfect evaluator would answer (exact solver)."""
        if self._is_answer_state(y):
            good = check_answer(parse_puzzle(x), y)
        else:
            try:
                nums = [parse_left_number(t) for t in current_numbers(x, y).split()]
                good = 0 < len(nums) <= 4 and solvable(nums)
            except (ValueError, ZeroDivisionError):
                good = False
        return n * (VALUE_MAP["sure"] if good else VALUE_MAP["impossible"])

    # -- answers ------------------------------------------------------------------------------
    def final_answer(self, x: str, y: str) -> str:
        """The last line of a state (the "Answer: ..." line of a finished one)."""
        return y.strip().split("\n")[-1] if y.strip() else ""

    def is_correct(self, x: str, y: str) -> bool:
        """The exact check of the last line (no eval): four given numbers once, equals 24."""
        return check_answer(parse_puzzle(x), self.final_answer(x, y))
