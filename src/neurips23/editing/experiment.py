"""Hase et al.'s experiment on one model: trace every fact, edit it at every chosen layer with
every method and problem, score the edits, and regress the scores on layer and tracing.

`SweepSettings` (in `editing.config`) holds what the sweep needs; the reproduction config and
the CLI configs extend it. Rows are (fact, layer, method, problem) with the tracing effect at
that layer beside the rewrite / paraphrase / neighbourhood scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from neurips23.editing.config import SweepSettings
from neurips23.editing.facts import Fact
from neurips23.editing.finetune import FinetuneHparams, constrained_finetune, finetune_layers
from neurips23.editing.modules import LayerNames, get_module, layer_names, weights_added
from neurips23.editing.problems import Problem, get_problem
from neurips23.editing.rome import context_templates, key_second_moment, rome_edit
from neurips23.errors import ConfigError


@dataclass
class Shared:
    """Per-model state the edits share: names, noise level, contexts, key second moments."""

    names: LayerNames
    embed_std: float
    noise: float
    strong_noise: float
    contexts: list[str]
    C: dict[int, Any]
    layers: list[int]


def prepare(model, tok, facts: Sequence[Fact], corpus: Sequence[str], s: SweepSettings,
            log: Callable[[str], Any] = lambda m: None) -> Shared:
    """Noise level from the subjects' embeddings, ROME's context prefixes and each edited
    layer's key second moment C from `corpus`."""
    from neurips23.editing.tracing import subject_embedding_std

    s.validate()
    names = layer_names(model)
    layers = list(s.layers) or list(range(names.n_layers))
    if any(not 0 <= x < names.n_layers for x in layers):
        raise ConfigError(f"layers {layers}: the model has layers 0..{names.n_layers - 1}")
    std = subject_embedding_std(model, tok, sorted({f.subject for f in facts}), names)
    noise = s.noise if s.noise > 0 else s.noise_multiple * std
    contexts = context_templates(model, tok, s.context_starts, s.context_per_start,
                                 s.context_length, seed=s.seed, stop=s.context_stop,
                                 lengths=s.context_lengths)
    C = {}
    if "rome" in s.methods:
        t0 = time.perf_counter()
        C = key_second_moment(model, tok, corpus, layers, names)
        log(f"key second moments of {len(layers)} layers from {len(corpus)} texts "
            f"({time.perf_counter() - t0:.0f}s)")
    return Shared(names, std, noise, s.strong_noise_multiple * std, contexts, C, layers)


def model_corpus(model, tok, starts: Sequence[str], n_texts: int, length: int,
                 seed: int = 17) -> list[str]:
    """Text for C when no corpus is given: the model's own samples from `starts` (ROME used
    100k Wikipedia samples, which an offline run does not have)."""
    from neurips23.editing.rome import join_separator
    from neurips23.lm.generate import generate

    starts = list(starts) or ["The"]
    per = max(1, n_texts // len(starts))
    outs = generate(model, tok, starts, n=per, temperature=1.0, top_p=0.95,
                    max_new_tokens=length, seed=seed)
    sep = join_separator(tok)
    return [s + sep + c.text for s, comps in zip(starts, outs, strict=True) for c in comps]


def fact_probs(model, tok, fact: Fact, problem: Problem, noise: float, samples: int,
               names: LayerNames) -> dict[str, Any]:
    """p(object) on the edit prompt, each paraphrase (noised over `samples` for a noised
    problem) and each neighbour prompt (clean), in one batched forward; the object is the
    problem's target everywhere, as Hase et al.'s evaluation scores `target_new`."""
    import torch

    from neurips23.editing.prompts import encode, subject_noise_spans, target_logprobs

    target = problem.target(fact)
    reps = samples if problem.noised else 1
    texts = [fact.text] * reps + [p for p in fact.paraphrase for _ in range(reps)]
    subj = [fact.subject] * len(texts)
    sample_of = [i % reps if problem.noised else None for i in range(len(texts))]
    texts += list(fact.neighbours)
    subj += [None] * len(fact.neighbours)
    sample_of += [None] * len(fact.neighbours)
    targets = [target] * len(texts)  # neighbours too: the edit's object (evaluate.py:232)
    enc = encode(tok, texts, subj, targets, device=model.device)
    d = get_module(model, names.embed).weight.shape[1]
    spans = subject_noise_spans(enc, sample_of, noise, d, samples)
    from neurips23.editing.modules import embedding_noise

    with torch.no_grad(), embedding_noise(model, names, spans):
        p = target_logprobs(model, enc).exp().tolist()
    para = [float(np.mean(p[reps * (1 + i):reps * (2 + i)])) for i in range(len(fact.paraphrase))]
    return {"rewrite": float(np.mean(p[:reps])), "paraphrase": para,
            "neighbours": p[len(p) - len(fact.neighbours):]}


def trace_effects(model, tok, fact: Fact, shared: Shared, s: SweepSettings) -> dict[str, Any]:
    """The fact's trace at the edit layers and Hase's per-layer effect (max-token and
    last-subject-token), plus the corruption at the strong noise level."""
    from neurips23.editing.tracing import corrupted_probability, layer_effects, trace_fact

    tr = trace_fact(model, tok, fact.text, fact.subject, fact.target_true, noise=shared.noise,
                    kind=s.trace_kind, window=s.trace_window, samples=s.samples,
                    layers=shared.layers, names=shared.names)
    strong = (corrupted_probability(model, tok, fact.text, fact.subject, fact.target_true,
                                    noise=shared.strong_noise, samples=s.samples,
                                    names=shared.names) if shared.strong_noise > 0 else None)
    return {"p_clean": tr.p_clean, "p_low": tr.p_low, "p_low_strong": strong,
            "effect": dict(zip(shared.layers, layer_effects(tr, "max").tolist(), strict=True)),
            "effect_last": dict(zip(shared.layers, layer_effects(tr, "last_subject").tolist(),
                                    strict=True)),
            "trace": tr}


def edit_deltas(model, tok, fact: Fact, problem: Problem, method: str, layer: int,
                shared: Shared, s: SweepSettings) -> tuple[dict, dict]:
    """The weight deltas of one edit and its diagnostics (ROME residual, FT ℓ∞ use)."""
    noise = shared.noise if problem.noised else 0.0
    if method == "rome":
        e = rome_edit(model, tok, fact, problem, layer, shared.C[layer], shared.contexts,
                      s.rome, shared.names, noise=noise, samples=s.samples)
        return e.deltas, {"residual": e.residual, "loss": e.loss, "steps": e.steps}
    hp = s.ft1 if method == "ft1" else s.ft5
    width = 1 if method == "ft1" else s.ft5_width
    layers = finetune_layers(layer, width, shared.names.n_layers)
    deltas = constrained_finetune(model, tok, fact, problem, layers, hp, shared.names,
                                  noise=noise, samples=s.samples)
    return deltas, {"linf_over_eps": linf_over_eps(model, deltas, hp), "ft_layers": layers}


def linf_over_eps(model, deltas: dict, hp: FinetuneHparams) -> float:
    """max |ΔW| / ε over the tuned matrices, ε widened by one float32 ulp of each weight (the
    clamp to W₀ ± ε cannot be finer than the weights' own rounding)."""
    import torch

    params = dict(model.named_parameters())
    worst = 0.0
    for name, d in deltas.items():
        w = params[name].detach().float()
        eps = hp.eps * float(w.std()) if hp.eps_relative else hp.eps
        allowed = eps + w.abs() * torch.finfo(torch.float32).eps
        worst = max(worst, float((d.abs() / allowed).max()))
    return worst


def sweep_fact(model, tok, fact: Fact, shared: Shared, s: SweepSettings,
               fact_id: int | str = 0) -> tuple[list[dict], dict]:
    """Trace one fact and make every (layer, method, problem) edit; rows and trace summary."""
    from neurips23.editing.metrics import edit_scores

    tr = trace_effects(model, tok, fact, shared, s)
    rows = []
    for pname in s.problems:
        problem = get_problem(pname)
        noise = shared.noise if problem.noised else 0.0
        pfact = fact
        if problem.noised_target:  # Tracing Reversal: the object is the noised-subject answer
            from neurips23.editing.tracing import noised_answer

            pfact = replace(fact, target_new=noised_answer(
                model, tok, fact.text, fact.subject, noise=shared.noise, samples=s.samples,
                names=shared.names))
        pre = fact_probs(model, tok, pfact, problem, noise, s.samples, shared.names)
        for layer in shared.layers:
            for method in s.methods:
                t0 = time.perf_counter()
                deltas, diag = edit_deltas(model, tok, pfact, problem, method, layer, shared, s)
                with weights_added(model, deltas):
                    post = fact_probs(model, tok, pfact, problem, noise, s.samples, shared.names)
                scores = edit_scores(problem, (pre["rewrite"], post["rewrite"]),
                                     list(zip(pre["paraphrase"], post["paraphrase"], strict=True)),
                                     list(zip(pre["neighbours"], post["neighbours"], strict=True)))
                rows.append({"fact": fact_id, "subject": fact.subject, "relation": fact.relation,
                             "layer": layer, "method": method, "problem": pname,
                             "target": problem.target(pfact),
                             "tracing": tr["effect"][layer], "tracing_last": tr["effect_last"][layer],
                             **scores, "p_pre": pre["rewrite"], "p_post": post["rewrite"],
                             "seconds": time.perf_counter() - t0,
                             **{k: v for k, v in diag.items() if k != "ft_layers"}})
    summary = {k: tr[k] for k in ("p_clean", "p_low", "p_low_strong")}
    summary["effect"] = tr["effect"]
    return rows, {"fact": fact_id, "subject": fact.subject, **summary, "trace": tr["trace"]}


def r2_table(rows: Sequence[dict], score: str = "rewrite", tracing: str = "tracing") -> dict:
    """compare_r2 for every (method, problem) among `rows`: {(method, problem): result}; a pair
    with too few usable rows gets NaNs and an `error` entry."""
    from neurips23.editing.analysis import compare_r2
    from neurips23.errors import UserError

    out = {}
    for key in sorted({(r["method"], r["problem"]) for r in rows}):
        sel = [r for r in rows if (r["method"], r["problem"]) == key]
        try:
            out[key] = compare_r2([r[score] for r in sel], [r[tracing] for r in sel],
                                  [r["layer"] for r in sel])
        except UserError as e:  # too few usable rows: reported, not fatal
            out[key] = {k: float("nan") for k in ("r2_layer", "r2_trace", "r2_both", "delta_r2",
                                                  "p_value", "f_stat")} | {
                "n": len(sel), "error": str(e)}
    return out
