"""The task interface ToT searches over (paper §3: thought decomposition, generator, evaluator).

A *state* is the problem text `x` plus the partial solution `y` (thoughts joined by
newlines), as in the official code. A task turns states into prompts and model text
back into states and values; the searches in `neurips23.tot.search` do the rest.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, runtime_checkable

VALUE_MAP = {"impossible": 0.001, "likely": 1.0, "sure": 20.0}
"""The repo's mapping of value labels to numbers (summed over samples)."""


@runtime_checkable
class ThoughtTask(Protocol):
    """What a task gives the searches (method names follow the official code's task classes)."""

    steps: int
    propose_stop: Sequence[str]
    value_stop: Sequence[str]

    def propose_prompt(self, x: str, y: str) -> str:
        """Prompt that lists possible next thoughts, one per line (generation by `propose`)."""
        ...

    def parse_proposals(self, x: str, y: str, output: str) -> list[str]:
        """The child states `y + thought + "\\n"` written in one proposal output."""
        ...

    def sample_prompt(self, x: str, y: str, cot: bool) -> str:
        """IO (cot=False) or CoT prompt continued by `y` (generation by `sample`)."""
        ...

    def value_prompt(self, x: str, y: str) -> str:
        """Prompt whose sampled outputs are mapped to a value by `parse_value`."""
        ...

    def value_key(self, x: str, y: str) -> Hashable:
        """Canonical key of the state for the value cache (same key ⇒ same value prompt)."""
        ...

    def fixed_value(self, x: str, y: str) -> float | None:
        """A value known without the model (e.g. an unfinished final step), else None."""
        ...

    def parse_value(self, x: str, y: str, outputs: Sequence[str]) -> float:
        """The value of a state from n sampled evaluations."""
        ...

    def vote_prompt(self, x: str, ys: Sequence[str]) -> str:
        """One prompt listing all candidates for a vote."""
        ...

    def parse_votes(self, x: str, ys: Sequence[str], outputs: Sequence[str]) -> list[float]:
        """Vote counts per candidate."""
        ...

    def final_answer(self, x: str, y: str) -> str:
        """The answer text of a final state (what a user reads)."""
        ...

    def is_correct(self, x: str, y: str) -> bool:
        """Ground-truth check of a final state (used for scoring only, never in search)."""
        ...
