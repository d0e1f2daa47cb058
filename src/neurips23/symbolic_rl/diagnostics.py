"""How close the learned model is to the true one: precision and recall of preconditions, adds
and deletes over grounded actions (a diagnostic, not a claim: the model is optimistic by design
and never meant to equal the true model).

A grounded action's learned precondition is the intersection of its live hypotheses (the
propositions every hypothesis requires). Soundness of the updates implies three identities,
which `soundness` checks: learned preconditions are contained in the true ones (precision 1),
learned adds contain the true adds (recall 1), learned deletes are contained in the true deletes
(precision 1).
"""

from __future__ import annotations

from neurips23.symbolic_rl.model import OptimisticModel


def _counts(learned: int, true: int) -> tuple[int, int, int]:
    return (learned & true).bit_count(), learned.bit_count(), true.bit_count()


def model_scores(model: OptimisticModel, true_model: tuple[list[int], list[int], list[int]],
                 only_tried: bool = False) -> dict[str, float]:
    """Micro-averaged precision and recall of preconditions, adds and deletes."""
    pre_t, add_t, del_t = true_model
    sums = {k: [0, 0, 0] for k in ("pre", "add", "del")}
    for i in range(len(pre_t)):
        if only_tried and not model.tried[i]:
            continue
        hyps = model.hypotheses(i)
        learned_pre = _intersection(hyps)
        for key, learned, true in (("pre", learned_pre, pre_t[i]), ("add", model.add(i), add_t[i]),
                                   ("del", model.delete(i), del_t[i])):
            c = _counts(learned, true)
            for j in range(3):
                sums[key][j] += c[j]
    out: dict[str, float] = {}
    for key, (hit, n_learned, n_true) in sums.items():
        out[f"{key}_precision"] = hit / n_learned if n_learned else 1.0
        out[f"{key}_recall"] = hit / n_true if n_true else 1.0
    out["tried_fraction"] = sum(model.tried) / max(1, len(model.tried))
    return out


def _intersection(masks: list[int]) -> int:
    if not masks:
        return 0
    out = masks[0]
    for m in masks[1:]:
        out &= m
    return out


def soundness(model: OptimisticModel, true_model: tuple[list[int], list[int], list[int]]
              ) -> dict[str, bool]:
    """The optimism invariants: for every grounded action, some live hypothesis is contained in
    the true precondition, learned adds contain the true adds, learned deletes are within the
    true deletes."""
    pre_t, add_t, del_t = true_model
    pre_ok = add_ok = del_ok = True
    for i in range(len(pre_t)):
        if not any(h & pre_t[i] == h for h in model.hypotheses(i)):
            pre_ok = False
        if model.add(i) & add_t[i] != add_t[i]:
            add_ok = False
        if model.delete(i) & ~del_t[i]:
            del_ok = False
    return {"precondition": pre_ok, "add": add_ok, "delete": del_ok}
