"""Precondition hypotheses of one action (Sreedharan & Katz 2023, Section 4): the learned
precondition is a disjunction of candidate sets (the paper's "action copies"), each a set of
propositions from the action's vocabulary, held as a bit mask over that vocabulary.

Optimistic start: one hypothesis, the empty set (always applicable). After a success in state
s, every hypothesis that does not hold in s is dropped (the action ran, so its true
precondition holds in s). After a failure in s, every hypothesis that holds in s is refuted and
branched into h | {p} for each p not in s (one of the missing propositions must be required).

Kept this way, the live set is exactly the minimal hypotheses consistent with the data (Berge's
incremental minimal-hitting-set algorithm): a branch that contains another live hypothesis is
dropped because it adds nothing to the disjunction, and a branch is built only from
propositions that held in every success so far. So the paper's filters (drop a branch equal to
a refuted hypothesis, or contained in a recorded failure state, or already seen) hold by
construction, and the set always keeps a hypothesis contained in the true precondition
(soundness; tested by brute force).
"""

from __future__ import annotations

from neurips23.symbolic_rl.simulator import bits


class PreconditionHypotheses:
    """The live precondition hypotheses of one action or schema over a vocabulary of `size`."""

    def __init__(self, size: int, max_length: int = 10):
        self.size = size
        self.max_length = max_length
        self.live: list[int] = [0]
        self.support = (1 << size) - 1  # propositions that held in every success so far
        self.failures: set[int] = set()  # views of the states where the action failed
        self.successes = 0

    def satisfied(self, view: int) -> bool:
        """True if some live hypothesis holds in the state seen through `view`."""
        return any(h & view == h for h in self.live)

    def observe_success(self, view: int) -> None:
        """The action ran in a state with this view: drop hypotheses that do not hold there."""
        self.successes += 1
        self.support &= view
        self.live = [h for h in self.live if h & view == h]

    def observe_failure(self, view: int) -> bool:
        """The action failed in a state with this view: refute what holds there and branch.
        Returns whether some live hypothesis was refuted."""
        if view in self.failures:
            return False  # no live hypothesis holds in a recorded failure state
        self.failures.add(view)
        keep = [h for h in self.live if h & view != h]
        refuted = [h for h in self.live if h & view == h]
        if not refuted:
            return False
        missing = self.support & ~view
        branches = sorted({h | (1 << p) for h in refuted if h.bit_count() < self.max_length
                           for p in bits(missing)}, key=_size_order)
        new: list[int] = []
        for c in branches:  # smallest first, so a kept branch is never a superset of a later one
            if any(k & c == k for k in keep) or any(n & c == n for n in new):
                continue
            new.append(c)
        self.live = sorted(keep + new, key=_size_order)
        return True

    def copy(self) -> PreconditionHypotheses:
        """An independent copy (model transfer)."""
        out = PreconditionHypotheses(self.size, self.max_length)
        out.live, out.support = list(self.live), self.support
        out.failures, out.successes = set(self.failures), self.successes
        return out


def _size_order(h: int) -> tuple[int, int]:
    return h.bit_count(), h
