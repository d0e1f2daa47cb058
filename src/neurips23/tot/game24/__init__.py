"""Game of 24 (ToT paper §4.1): puzzles, exact solver, safe answer check, prompts, task.

    >>> from neurips23.tot import game24
    >>> len(game24.puzzles())
    1362
    >>> game24.check_answer((4, 5, 6, 10), "Answer: (5 * 6) - (10 - 4) = 24")
    True
"""

from neurips23.tot.game24.answer import (
    authors_pick,
    check_answer,
    compose_answer,
    extract_expression,
    uses_input_numbers,
)
from neurips23.tot.game24.arith import ExpressionError, parse_expression
from neurips23.tot.game24.data import read_puzzle_file
from neurips23.tot.game24.solver import (
    all_multisets,
    int_solvable,
    legal_moves,
    puzzles,
    reachable_states,
    solvable,
    solve,
)
from neurips23.tot.game24.task import Game24Task

__all__ = [
    "ExpressionError",
    "Game24Task",
    "all_multisets",
    "authors_pick",
    "check_answer",
    "compose_answer",
    "extract_expression",
    "int_solvable",
    "legal_moves",
    "parse_expression",
    "puzzles",
    "reachable_states",
    "read_puzzle_file",
    "solvable",
    "solve",
    "uses_input_numbers",
]
