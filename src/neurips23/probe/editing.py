"""Editing probe (ROME, Meng et al.; Hase et al.): where does the model keep facts it knows,
and does a rank-one edit of one MLP make it state a new object?

Measurement (open weights only): the editing package's built-in facts the model gets right
(`known_facts`), a causal trace of each with MLP states restored (`experiment.trace_effects`),
and one ROME edit per fact at its peak-effect layer (`experiment.edit_deltas`), scored by
p(new object) and p(true object) on the edit prompt (`experiment.fact_probs`). Tracing and
editing need the weights and hidden states: an endpoint does not apply.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from neurips23.core.claims import measured_claim
from neurips23.core.stats import wilson_interval
from neurips23.probe.base import ProbeResult, measured
from neurips23.probe.config import EditingBudget

NAME = "editing"
VERSION = "1"
FINDING = ("Facts can be located by causal tracing and rewritten by a rank-one edit of one MLP "
           "(ROME §3: efficacy ~100% on GPT-2 XL)")


def applies(subject) -> str | None:
    """Needs the weights in this process."""
    if not subject.has_weights:
        return "does not apply: needs weights (tracing restores hidden states and ROME edits an MLP)"
    return None


def peak_layer(effect: dict[int, float], layers: list[int]) -> int:
    """The traced layer with the largest restoration effect (the middle traced layer when the
    trace is undefined everywhere)."""
    finite = {layer: e for layer, e in effect.items() if e is not None and math.isfinite(e)}
    if not finite:
        return layers[len(layers) // 2]
    return max(finite, key=lambda layer: finite[layer])


def measure(subject, b: EditingBudget, log: Callable[[str], None]) -> dict:
    """Per known fact: the trace's peak layer and effect, and p(new), p(true) before and after
    the ROME edit at that layer."""
    from neurips23.editing.config import SweepSettings
    from neurips23.editing.experiment import (
        edit_deltas,
        fact_probs,
        model_corpus,
        prepare,
        trace_effects,
    )
    from neurips23.editing.known_facts import known_facts
    from neurips23.editing.modules import layer_names, weights_added
    from neurips23.editing.problems import get_problem
    from neurips23.editing.rome import RomeHparams

    model, tok = subject.model, subject.tokenizer
    facts = known_facts(model, tok, seed=b.seed, n_neighbours=2)[:b.facts]
    log(f"editing: {len(facts)} known facts")
    if not facts:
        return {"facts": []}
    n_layers = layer_names(model).n_layers
    s = SweepSettings(layers=list(range(0, n_layers, b.layer_stride)), methods=["rome"],
                      problems=["error_injection"], samples=b.samples, trace_window=b.window,
                      context_lengths=[list(x) for x in b.contexts], strong_noise_multiple=0.0,
                      rome=RomeHparams(v_steps=b.v_steps), seed=b.seed)
    corpus = model_corpus(model, tok, [], b.corpus_texts, b.corpus_length, seed=b.seed + 17)
    shared = prepare(model, tok, facts, corpus, s, log=log)
    new, true = get_problem("error_injection"), get_problem("fact_amplification")
    rows = []
    for i, f in enumerate(facts):
        log(f"editing: fact {i + 1}/{len(facts)} {f.subject!r}: trace, then ROME")
        tr = trace_effects(model, tok, f, shared, s)
        layer = peak_layer(tr["effect"], shared.layers)
        pre = (fact_probs(model, tok, f, new, 0.0, 1, shared.names)["rewrite"],
               fact_probs(model, tok, f, true, 0.0, 1, shared.names)["rewrite"])
        deltas, _ = edit_deltas(model, tok, f, new, "rome", layer, shared, s)
        with weights_added(model, deltas):
            post = (fact_probs(model, tok, f, new, 0.0, 1, shared.names)["rewrite"],
                    fact_probs(model, tok, f, true, 0.0, 1, shared.names)["rewrite"])
        rows.append({"subject": f.subject, "prompt": f.text, "true": f.target_true,
                     "new": f.target_new, "peak layer": layer,
                     "peak effect": tr["effect"].get(layer), "p_clean": tr["p_clean"],
                     "p_new before": pre[0], "p_true before": pre[1],
                     "p_new after": post[0], "p_true after": post[1]})
    return {"facts": rows}


def decide(data: dict, b: EditingBudget) -> ProbeResult:
    """Edit efficacy over facts (p(new) > p(true) after the edit), Wilson interval."""
    rows = data["facts"]
    n = len(rows)
    lands = [r["p_new after"] > r["p_true after"] for r in rows]
    lo, hi = wilson_interval(sum(lands), n, b.edit_lands.confidence) if n else (float("nan"),) * 2
    moved = [r["p_new after"] > r["p_new before"] for r in rows]
    claim = measured_claim(
        FINDING, "facts where the ROME edit makes p(new) > p(true)", sum(lands) / max(1, n),
        (lo, hi), b.edit_lands, n=n, preconditions=[
            (f"the model knows some built-in facts ({n})", n > 0),
            (f"the edit moved p(new) up on some fact ({sum(moved)}/{n}): the edit ran",
             any(moved))])
    metrics = {"efficacy": sum(lands) / max(1, n), "n": n,
               "peak_layers": [r["peak layer"] for r in rows]}
    return measured(NAME, FINDING, [claim], metrics, rows)


def run(subject, b: EditingBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)
