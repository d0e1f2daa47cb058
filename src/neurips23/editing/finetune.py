"""Constrained finetuning (Zhu et al. 2020, as ROME's and Hase et al.'s baseline): Adam on the
MLP down-projection weights of 1 or 5 layers, the weight change clamped to an ℓ∞ ball of
radius ε after every step (ROME `ft_main`, `norm_constraint`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neurips23.editing.facts import Fact
from neurips23.editing.modules import (
    LayerNames,
    embedding_noise,
    get_module,
    layer_names,
    requires_grad_only,
)
from neurips23.editing.problems import Problem, edit_loss, rewrite_rows
from neurips23.editing.prompts import encode, subject_noise_spans, target_logprobs
from neurips23.errors import UserError


@dataclass
class FinetuneHparams:
    """FT settings (defaults: Hase et al.'s, ε for FT-1 Error Injection on GPT-J)."""

    lr: float = 5e-4
    steps: int = 25
    forcing_steps: int = 50
    eps: float = 1e-4
    eps_relative: bool = False  # True: ε is a fraction of each weight matrix's std
    early_stop_loss: float = 1e-2


def finetune_layers(layer: int, n: int, n_layers: int) -> list[int]:
    """The n layers tuned for an edit "at" layer l: the window around l, clipped (n=1: [l])."""
    from neurips23.editing.tracing import window_layers

    return window_layers(layer, n, n_layers)


def constrained_finetune(model, tok, fact: Fact, problem: Problem, layers: Sequence[int],
                         hp: FinetuneHparams | None = None, names: LayerNames | None = None,
                         noise: float = 0.0, samples: int = 10) -> dict:
    """Finetune the down-projections of `layers` on the edit objective with ‖ΔW‖∞ ≤ ε; returns
    {parameter name: ΔW} and leaves the model's weights as they were."""
    import torch

    hp = hp or FinetuneHparams()
    names = names or layer_names(model)
    if not layers or any(not 0 <= x < names.n_layers for x in layers):
        raise UserError(f"layers {list(layers)}: the model has layers 0..{names.n_layers - 1}")
    if hp.eps <= 0:
        raise UserError(f"finetune eps must be positive, got {hp.eps}")
    texts, noise_rows = rewrite_rows(fact, problem, ["{}"], samples)
    enc = encode(tok, texts, [fact.subject] * len(texts), [problem.target(fact)] * len(texts),
                 device=model.device)
    d_model = get_module(model, names.embed).weight.shape[1]
    spans = subject_noise_spans(enc, noise_rows, noise, d_model, samples)
    pnames = [names.of("down_proj", x) + ".weight" for x in layers]
    params = [get_module(model, names.of("down_proj", x)).weight for x in layers]
    orig = [p.detach().clone() for p in params]
    eps = [hp.eps * float(o.float().std()) if hp.eps_relative else hp.eps for o in orig]
    opt = torch.optim.Adam(params, lr=hp.lr)
    n_tok = len(enc.target_ids[0])
    steps = hp.forcing_steps if problem.noised else hp.steps
    try:
        with requires_grad_only(model, params), embedding_noise(model, names, spans):
            for _ in range(steps):
                loss = edit_loss(target_logprobs(model, enc), n_tok, problem)
                if loss.item() < hp.early_stop_loss:
                    break
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    for p, o, e in zip(params, orig, eps, strict=True):
                        p.copy_(torch.clamp(p, o - e, o + e))
        return {n: (p.detach() - o) for n, p, o in zip(pnames, params, orig, strict=True)}
    finally:
        with torch.no_grad():
            for p, o in zip(params, orig, strict=True):
                p.copy_(o)
