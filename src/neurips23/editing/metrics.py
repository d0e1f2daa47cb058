"""Edit success metrics of Hase et al. §3.4, from probabilities before (p) and after (p*) an edit.

- Rewrite score (p* − p) / (1 − p): the fraction of the possible increase achieved, floored
  at 2e-8 as Hase et al.'s code does (belief-localization `experiments/evaluate.py:239-240`).
- Paraphrase score: the same on a paraphrase of the prompt.
- Neighbourhood score 1 − |p* − p| / (0.5 + |p − 0.5|) on prompts about other subjects with
  the same true object, p the probability of the edit's object there (the new object for
  Error Injection, as `evaluate.py:232-248` reads `target_new`): 1 when untouched, 0 at the
  largest possible change.
- Fact Erasure scores the decrease instead: (p − p*) / p, floored at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurips23.editing.problems import Problem

REWRITE_FLOOR = 2e-8
"""Hase et al.'s floor on the rewrite score (`np.max([2e-8, recovered_prop])`)."""


def rewrite_score(p_pre: float, p_post: float) -> float:
    """max(2e-8, (p* − p) / (1 − p)); NaN when p = 1 (no room to increase)."""
    room = 1.0 - p_pre
    return float(max(REWRITE_FLOOR, (p_post - p_pre) / room)) if room > 0 else float("nan")


def erasure_score(p_pre: float, p_post: float) -> float:
    """(p − p*) / p floored at 0; NaN when p = 0 (nothing to erase)."""
    return float(max(0.0, (p_pre - p_post) / p_pre)) if p_pre > 0 else float("nan")


def neighbourhood_score(p_pre: float, p_post: float) -> float:
    """1 − |p* − p| / (0.5 + |p − 0.5|)."""
    return float(1.0 - abs(p_post - p_pre) / (0.5 + abs(p_pre - 0.5)))


def edit_scores(problem: Problem, rewrite: tuple[float, float],
                paraphrase: Sequence[tuple[float, float]],
                neighbours: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Rewrite, paraphrase (mean over paraphrases) and neighbourhood (mean over neighbours)
    scores of one edit from (p, p*) pairs; erasure scores decreases."""
    change = erasure_score if problem.minimise else rewrite_score
    para = [change(a, b) for a, b in paraphrase]
    neigh = [neighbourhood_score(a, b) for a, b in neighbours]
    return {"rewrite": change(*rewrite),
            "paraphrase": float(np.mean(para)) if para else float("nan"),
            "neighbourhood": float(np.mean(neigh)) if neigh else float("nan")}
