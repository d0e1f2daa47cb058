"""ROME (Meng et al. 2022, §3): a rank-one edit of one MLP down-projection.

The down-projection W maps keys k (its inputs) to values v = W k. ROME picks the key k* of
the subject (the down-projection's input at the subject's last token, averaged over context
prefixes), finds a value v* that makes the model say the new object (Adam on a delta to the
MLP output: NLL of the object over the contexts + KL on "{subject} is a" + weight decay, the
delta clamped), and inserts (k*, v*) with the least change to the other keys' outputs, where
keys are distributed with second moment C (Eq. 2):

    W' = W + (v* − W k*) (C⁻¹ k*)ᵀ / ((C⁻¹ k*)ᵀ k*)        so  W' k* = v*.

As ROME's code does, the direction u = C⁻¹ k̄ uses the context-averaged key k̄ and the
constraint uses the key of the prompt alone (`rank_one_update(..., direction_key=k̄)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neurips23.editing.facts import Fact
from neurips23.editing.modules import (
    LayerNames,
    capture_inputs,
    embedding_noise,
    get_module,
    kv_weight,
    layer_names,
    main_tensor,
    output_hooks,
    requires_grad_only,
    with_main,
)
from neurips23.editing.problems import Problem, edit_loss, rewrite_rows
from neurips23.editing.prompts import encode, subject_noise_spans
from neurips23.errors import UserError


def rank_one_update(W, C, k_star, v_star, direction_key=None):
    """ROME Eq. 2: W' = W + (v* − W k*) uᵀ / (uᵀ k*), u = C⁻¹ k (k = `direction_key` or k*).

    W has shape (d_v, d_k) (v = W @ k), C is the keys' second moment (d_k, d_k). W' k* = v*
    exactly (up to float64 rounding), W' − W has rank one, and keys k with kᵀ C⁻¹ k_dir = 0
    are mapped as before. Computed in float64, returned in W's dtype."""
    import torch

    W64, C64 = torch.as_tensor(W).double(), torch.as_tensor(C).double()
    k = torch.as_tensor(k_star).double().reshape(-1)
    v = torch.as_tensor(v_star).double().reshape(-1)
    kd = k if direction_key is None else torch.as_tensor(direction_key).double().reshape(-1)
    if W64.dim() != 2:
        raise UserError(f"rank_one_update: W must be a matrix, got shape {tuple(W64.shape)}")
    d_v, d_k = W64.shape
    if C64.shape != (d_k, d_k) or k.numel() != d_k or kd.numel() != d_k or v.numel() != d_v:
        raise UserError(f"rank_one_update: shapes do not fit W {tuple(W64.shape)}: C "
                        f"{tuple(C64.shape)}, k* {k.numel()}, v* {v.numel()} (need C (d_k, d_k),"
                        f" k* d_k, v* d_v)")
    if not all(bool(torch.isfinite(x).all()) for x in (W64, C64, k, v, kd)):
        raise UserError("rank_one_update: W, C, k* and v* must be finite")
    u = torch.linalg.solve(C64, kd)
    denom = float(u @ k)
    if abs(denom) < 1e-12 * max(1.0, float(u.norm() * k.norm())):
        raise UserError("rank_one_update: (C⁻¹k)ᵀk* is 0; the key cannot be inserted")
    W_new = W64 + torch.outer(v - W64 @ k, u) / denom
    return W_new.to(torch.as_tensor(W).dtype)


@dataclass
class RomeHparams:
    """ROME's v* optimisation (defaults: ROME's GPT-2 XL / GPT-J settings)."""

    v_lr: float = 0.5
    v_steps: int = 20
    kl_factor: float = 0.0625
    v_weight_decay: float = 0.5
    clamp_norm_factor: float = 4.0
    early_stop_loss: float = 5e-2
    kl_prompt: str = "{} is a"
    mom2_ridge: float = 1e-4
    forcing_v_lr: float = 0.05
    forcing_v_steps: int = 25
    extra: dict = field(default_factory=dict)


def key_second_moment(model, tok, texts: Sequence[str], layers: Sequence[int],
                      names: LayerNames | None = None, batch_size: int = 16,
                      max_length: int = 128) -> dict[int, Any]:
    """C = E[k kᵀ] over every token of `texts` at each layer's down-projection input (ROME's
    `layer_stats` "mom2", uncentred), float64."""
    import torch

    names = names or layer_names(model)
    mods = {layer: names.of("down_proj", layer) for layer in layers}
    sums: dict[int, Any] = {}
    count = 0
    for i in range(0, len(texts), batch_size):
        enc = tok(list(texts[i:i + batch_size]), return_tensors="pt", padding=True,
                  truncation=True, max_length=max_length).to(model.device)
        mask = enc["attention_mask"].bool()
        with torch.no_grad(), capture_inputs(model, list(mods.values())) as keys:
            model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                  use_cache=False)
        for layer, name in mods.items():
            k = keys[name][mask].double()
            sums[layer] = sums.get(layer, 0) + k.T @ k
        count += int(mask.sum())
    if not count:
        raise UserError("key_second_moment: the corpus has no tokens")
    return {layer: s / count for layer, s in sums.items()}


ROME_CONTEXT_LENGTHS: tuple[tuple[int, int], ...] = ((5, 10), (10, 10))
"""ROME's `context_template_length_params`: 10 prefixes of 5 tokens and 10 of 10."""


def context_templates(model, tok, starts: Sequence[str] = (), per_start: int = 0,
                      length: int = 10, seed: int = 0, stop: Sequence[str] = (),
                      lengths: Sequence[Sequence[int]] = ROME_CONTEXT_LENGTHS) -> list[str]:
    """ROME's context prefixes: "{}" plus sampled texts, each followed by ". {}" (braces in
    the samples blanked; a sample is cut at `stop`). With no `starts`, as ROME
    (`rome_main.get_context_templates`): for each (length, n) of `lengths`, n unconditional
    samples from the start-of-text token, top-k 5, `length` tokens counting that token. With
    `starts`, `per_start` samples (top-p 0.9) of `length` tokens after each start word."""
    out = ["{}"]
    if starts:
        texts = _start_word_samples(model, tok, starts, per_start, length, seed, stop)
    else:
        texts = _unconditional_samples(model, tok, lengths, seed, stop)
    for text in texts:
        text = " ".join(text.replace("{", " ").replace("}", " ").split())
        out.append(text + " . {}" if text else "{}")
    return out


def _start_word_samples(model, tok, starts, per_start, length, seed, stop) -> list[str]:
    from neurips23.lm.generate import generate

    if per_start <= 0:
        return []
    samples = generate(model, tok, list(starts), n=per_start, temperature=1.0, top_p=0.9,
                       max_new_tokens=length, seed=seed, stop=list(stop))
    sep = join_separator(tok)
    return [start + sep + c.text for start, comps in zip(starts, samples, strict=True)
            for c in comps]


def _unconditional_samples(model, tok, lengths, seed, stop) -> list[str]:
    """ROME's `generate_fast(model, tok, ["<|endoftext|>"], n, max_out_len=length)`: top-k 5
    sampling from the start-of-text token, which is dropped from the text."""
    import torch

    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    if start is None:
        raise UserError("the tokenizer has neither a bos nor an eos token to sample contexts from")
    out = []
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for length, n in lengths:
            if n <= 0 or length <= 1:
                continue
            ids = torch.full((int(n), 1), start, dtype=torch.long, device=model.device)
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                 top_k=5, top_p=1.0, temperature=1.0, max_new_tokens=length - 1,
                                 min_new_tokens=length - 1, pad_token_id=start)
            for row in gen[:, 1:]:
                text = tok.decode(row.tolist(), skip_special_tokens=True)
                for s in stop:
                    text = text.split(s)[0] if s else text
                out.append(text)
    return out


def join_separator(tok) -> str:
    """What goes between a prompt and its decoded continuation: nothing for tokenizers whose
    tokens carry their leading space (byte-level BPE), a space for word-level ones."""
    ids = tok(" x", add_special_tokens=False)["input_ids"]
    return "" if tok.decode(ids).startswith(" ") else " "


@dataclass
class RomeEdit:
    """A computed ROME edit: the weight delta (in the parameter's own layout) and diagnostics."""

    deltas: dict[str, Any]
    layer: int
    k_star: Any
    v_star: Any
    residual: float  # ‖W' k* − v*‖ / ‖v*‖
    loss: float
    steps: int


def compute_v(model, tok, fact: Fact, problem: Problem, layer: int, contexts: Sequence[str],
              hp: RomeHparams, names: LayerNames, noise: float = 0.0, samples: int = 10):
    """v* (ROME `compute_v`): optimise a delta δ added to the layer's MLP output at the last
    subject token of every prompt; returns (v*, v_init, keys, loss, steps), keys being the
    down-projection's inputs at those tokens of the rewriting rows (the plain ones first)."""
    import torch

    texts, noise_rows = rewrite_rows(fact, problem, list(contexts), samples)
    target = problem.target(fact)
    kl_text = hp.kl_prompt.format(fact.subject)
    enc = encode(tok, texts + [kl_text], [fact.subject] * (len(texts) + 1),
                 [target] * len(texts) + [None], device=model.device)
    n_rw = len(texts)
    look = torch.tensor(enc.last_subject, device=model.device)
    rows = torch.arange(n_rw + 1, device=model.device)
    d_model = get_module(model, names.embed).weight.shape[1]
    spans = subject_noise_spans(enc, noise_rows + [None], noise, d_model, samples)
    plain = list(range(samples if problem.noised else 1))  # rewrite_rows puts them first
    delta = torch.zeros(d_model, device=model.device, requires_grad=True)
    state: dict[str, Any] = {}

    def add_delta(out):
        h = main_tensor(out)
        if "v_init" not in state:
            state["v_init"] = h[plain, look[plain]].detach().mean(0)
        add = torch.zeros_like(h)
        add[rows, look] = delta.to(h.dtype)
        return with_main(out, h + add)

    opt = torch.optim.Adam([delta], lr=hp.forcing_v_lr if problem.noised else hp.v_lr)
    steps = hp.forcing_v_steps if problem.noised else hp.v_steps
    n_tok = len(enc.target_ids[0])
    kl_init, loss_value, it = None, float("nan"), 0
    with requires_grad_only(model), embedding_noise(model, names, spans), \
            output_hooks(model, {names.of("mlp", layer): add_delta}):
        for it in range(max(1, steps)):
            with capture_inputs(model, [names.of("down_proj", layer)]) as kin:
                logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                               use_cache=False).logits.float()
            if it == 0:
                keys = kin[names.of("down_proj", layer)][rows, look][:n_rw]
            logp = torch.log_softmax(logits, -1)
            lp = torch.stack([logp[i, enc.target_pos[i], enc.target_ids[i]].sum()
                              for i in range(n_rw)])
            nll = edit_loss(lp, n_tok, problem)
            kl_lp = logp[n_rw, look[n_rw]]  # at the subject's last token (compute_v.py:113-119)
            if kl_init is None:
                kl_init = kl_lp.detach().clone()
            kl = torch.nn.functional.kl_div(kl_init, kl_lp, log_target=True, reduction="sum")
            v_init = state["v_init"]
            wd = hp.v_weight_decay * (delta.norm() / v_init.norm() ** 2)
            loss = nll + hp.kl_factor * kl + wd
            loss_value = loss.item()
            # no early stop for erasure, which minimises a probability (Hase et al.)
            if (loss_value < hp.early_stop_loss and not problem.minimise) or it == steps - 1:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                max_norm = hp.clamp_norm_factor * v_init.norm()
                if delta.norm() > max_norm:
                    delta.mul_(max_norm / delta.norm())
    v_init = state["v_init"]
    return (v_init + delta.detach()), v_init, keys, loss_value, it + 1


def rome_edit(model, tok, fact: Fact, problem: Problem, layer: int, C, contexts: Sequence[str],
              hp: RomeHparams | None = None, names: LayerNames | None = None,
              noise: float = 0.0, samples: int = 10) -> RomeEdit:
    """The ROME edit of `fact` at `layer` for `problem` (not applied: see `weights_added`)."""
    import torch

    hp = hp or RomeHparams()
    names = names or layer_names(model)
    if not 0 <= layer < names.n_layers:
        raise UserError(f"layer {layer}: the model has layers 0..{names.n_layers - 1}")
    v_star, _v_init, keys, loss, steps = compute_v(model, tok, fact, problem, layer,
                                                         contexts, hp, names, noise, samples)
    n_plain = samples if problem.noised else 1
    k_dir = keys.double().mean(0)                     # ROME compute_u: average over contexts
    k_plain = keys[:n_plain].double().mean(0)         # the prompt alone (noised: its samples)
    module = get_module(model, names.of("down_proj", layer))
    W, transposed = kv_weight(module)
    W = W.detach().double()
    bias = module.bias.detach().double() if getattr(module, "bias", None) is not None else 0.0
    C = torch.as_tensor(C, device=W.device).double()
    ridge = hp.mom2_ridge * torch.trace(C) / C.shape[0]
    W_new = rank_one_update(W, C + ridge * torch.eye(C.shape[0], dtype=C.dtype, device=C.device),
                            k_plain, v_star.double() - bias, direction_key=k_dir)
    dW = W_new - W
    residual = float((W_new @ k_plain + bias - v_star.double()).norm() / v_star.double().norm())
    param = names.of("down_proj", layer) + ".weight"
    delta = (dW.T if transposed else dW).to(module.weight.dtype)
    return RomeEdit({param: delta}, layer, k_plain.float(), v_star.float(), residual, loss, steps)
