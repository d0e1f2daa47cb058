"""Causal tracing (Meng et al. 2022, §2.1) as ROME's `causal_trace.py` does it, batched, and
Hase et al.'s per-layer tracing effect (§3.2).

One clean run and `samples` corrupted runs (Gaussian noise on the subject tokens' embeddings,
drawn from RandomState(1)); then, for a token t and layer l, the corrupted runs with one state
restored to its clean value: the block output h_l[t] (kind "layer"), or the MLP / attention
outputs of the layers in a window around l at token t. p(o) is averaged over the noised runs;
with a target object p(o) is the probability of the whole object (every token, teacher-forced
after the prompt, as Hase et al.'s `score_from_batch` scores it), without one the clean run's
top next token (ROME).

ROME loops over (t, l) with one forward of 1 + samples rows each. `trace_fact` puts many
restorations in one forward, starts each forward at the first restored layer (the corrupted
run's states below it are shared and replayed from cache) and skips the tokens before the
subject, where restoring changes nothing; `trace_fact_loop` is ROME's loop,
kept as the reference the tests and the benchmark compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from neurips23.editing.modules import (
    LayerNames,
    capture_outputs,
    embedding_noise,
    forward_kwargs,
    get_module,
    layer_names,
    main_tensor,
    output_hooks,
    repeat_rows,
    skip_layers,
    with_main,
)
from neurips23.editing.prompts import encode, noise_samples
from neurips23.errors import UserError

Kind = Literal["layer", "mlp", "attn"]
KINDS: tuple[str, ...] = ("layer", "mlp", "attn")


@dataclass
class TraceResult:
    """A causal trace of one fact: p(o) clean, corrupted, and restored at (token, layer)."""

    prompt: str
    subject: str
    answer: str
    tokens: list[str]
    subject_range: tuple[int, int]
    kind: str
    window: int
    noise: float
    layers: list[int]
    p_clean: float
    p_low: float
    scores: np.ndarray = field(repr=False)  # (tokens, len(layers)): p(o) with (t, l) restored

    @property
    def indirect_effect(self) -> np.ndarray:
        """Restored minus corrupted probability at every (token, layer)."""
        return self.scores - self.p_low

    def as_dict(self) -> dict:
        """JSON-able form."""
        return {"prompt": self.prompt, "subject": self.subject, "answer": self.answer,
                "tokens": self.tokens, "subject_range": list(self.subject_range),
                "kind": self.kind, "window": self.window, "noise": self.noise,
                "layers": self.layers, "p_clean": self.p_clean, "p_low": self.p_low,
                "scores": self.scores.tolist()}


def window_layers(layer: int, window: int, n_layers: int) -> list[int]:
    """ROME's restoration window: range(max(0, l − w//2), min(L, l − (−w//2)))."""
    return list(range(max(0, layer - window // 2), min(n_layers, layer - (-window // 2))))


def subject_embedding_std(model, tok, subjects: Sequence[str], names: LayerNames | None = None
                          ) -> float:
    """The std over all elements of the subjects' token embeddings (ROME's
    `collect_embedding_std`); 3 × this is the default noise level."""
    import torch

    names = names or layer_names(model)
    emb = get_module(model, names.embed)
    vecs = []
    with torch.no_grad():
        for s in subjects:
            ids = tok(s, add_special_tokens=False)["input_ids"]
            if ids:
                vecs.append(main_tensor(emb(torch.tensor([ids], device=model.device)))[0])
    if not vecs:
        raise UserError("no subject tokenizes to anything; cannot estimate the embedding std")
    return float(torch.cat(vecs).float().std())


def _setup(model, tok, prompt: str, subject: str, target: str | None, names, kind: str):
    """Names, the prompt (followed by the target's tokens but its last) and the target's ids
    (None: the clean run's top token, decided later)."""
    if kind not in KINDS:
        raise UserError(f"trace kind {kind!r}: choose from {', '.join(KINDS)}")
    names = names or layer_names(model)
    enc = encode(tok, [prompt], [subject], [target] if target else None, device=model.device)
    answer = list(enc.target_ids[0]) if target else None
    return names, enc, answer


def _object_probability(logits, answer: list[int]):
    """p(object) per row: the product of the object tokens' probabilities at the last
    len(answer) positions (the prompt's last token and the object's own tokens but its last)."""
    import torch

    logp = torch.log_softmax(logits[:, -len(answer):].float(), -1)
    idx = torch.tensor(answer, device=logits.device).view(1, -1, 1).expand(logp.shape[0], -1, 1)
    return logp.gather(-1, idx).squeeze(-1).sum(-1).exp()


def _clean_and_corrupted(model, names, enc, kind, noise_t, answer):
    """The clean run's outputs of `kind` and the corrupted runs' block outputs and p(o)."""
    import torch

    L, S = names.n_layers, noise_t.shape[0]
    ids = enc.input_ids
    b, e = enc.subject[0]
    kw = forward_kwargs(model, keep=len(answer) if answer else 1)
    with torch.no_grad():
        with capture_outputs(model, [names.of(kind, j) for j in range(L)]) as clean:
            logits = model(input_ids=ids, **kw).logits
        if answer is None:
            answer = [int(logits[0, -1].argmax())]
        p = float(_object_probability(logits, answer)[0])
        spans = [(r, b, e, noise_t[r].to(ids.device)) for r in range(S)]
        with embedding_noise(model, names, spans), capture_outputs(
                model, [names.of("layer", j) for j in range(L)]) as corrupt:
            pc = _object_probability(model(input_ids=ids.repeat(S, 1), **kw).logits, answer)
    clean_states = [main_tensor(clean[names.of(kind, j)])[0] for j in range(L)]
    corrupt_out = [corrupt[names.of("layer", j)] for j in range(L)]
    return answer, p, float(pc.mean()), clean_states, corrupt_out, spans


def trace_fact(model, tok, prompt: str, subject: str, target: str | None = None, *,
               noise: float, kind: Kind = "layer", window: int = 10, samples: int = 10,
               layers: Sequence[int] | None = None, names: LayerNames | None = None,
               max_rows: int = 256, seed: int = 1) -> TraceResult:
    """Causal trace of one fact at every (token, layer in `layers`), batched (ROME §2.1).

    `target` names the object whose probability is traced (all its tokens); None traces the
    clean run's top token, as ROME does. `max_rows` bounds the rows of one forward pass. The
    grid covers the prompt's tokens."""

    names, enc, answer = _setup(model, tok, prompt, subject, target, names, kind)
    L, T = names.n_layers, enc.last[0] + 1
    layers = _check_layers(layers, L)
    noise_t = noise_samples(samples, enc.subject[0][1] - enc.subject[0][0],
                            get_module(model, names.embed).weight.shape[1], noise, seed)
    answer, p_clean, p_low, clean, corrupt, spans = _clean_and_corrupted(
        model, names, enc, kind, noise_t, answer)
    # before the subject the noised run's states are the clean ones (causal attention, noise
    # on the subject only): restoring there gives p_low exactly, so those cells need no pass
    first = enc.subject[0][0]
    patched = {(t, li): ([l] if kind == "layer" else window_layers(l, window, L))
               for t in range(first, T) for li, l in enumerate(layers)}
    groups: dict[int, list] = {}
    for key, mods in patched.items():  # restorations that start at the same layer share a pass
        groups.setdefault(mods[0], []).append(key)
    scores = np.full((T, len(layers)), p_low)
    per_pass = max(1, max_rows // samples)
    kw = forward_kwargs(model, keep=len(answer))
    for start, keys in sorted(groups.items()):
        for c in range(0, len(keys), per_pass):
            chunk = keys[c:c + per_pass]
            probs = _restored_pass(model, names, enc, kind, start, chunk, patched,
                                   clean, corrupt, spans, samples, answer, kw)
            for (t, li), pr in zip(chunk, probs, strict=True):
                scores[t, li] = pr
    return TraceResult(prompt, subject, tok.decode(answer).strip(), tok.convert_ids_to_tokens(
        enc.input_ids[0, :T].tolist()), enc.subject[0], kind, window, float(noise), list(layers),
        p_clean, p_low, scores)


def _restored_pass(model, names, enc, kind, start, chunk, patched, clean, corrupt, spans,
                   samples, answer, kw) -> list[float]:
    """One forward for `chunk` restorations (samples rows each) starting at layer `start`."""
    import torch

    R = len(chunk)
    by_module: dict[int, list[tuple[int, int]]] = {}
    for r, key in enumerate(chunk):
        for j in patched[key]:
            by_module.setdefault(j, []).append((r, key[0]))

    def restore(j):
        def fn(out):
            h = main_tensor(out)
            for r, t in by_module[j]:
                h[r * samples:(r + 1) * samples, t] = clean[j][t]
            return with_main(out, h)
        return fn

    ids = enc.input_ids
    rows_noise = [(r * samples + s, b, e, n) for r in range(R) for (s, b, e, n) in spans]
    skipped = {j: repeat_rows(corrupt[j], R) for j in range(start)}
    with torch.no_grad(), skip_layers(model, names, skipped), \
            embedding_noise(model, names, rows_noise if start == 0 else []), \
            output_hooks(model, {names.of(kind, j): restore(j) for j in by_module}):
        logits = model(input_ids=ids.repeat(R * samples, 1), **kw).logits
    return _object_probability(logits, answer).view(R, samples).mean(1).tolist()


def trace_fact_loop(model, tok, prompt: str, subject: str, target: str | None = None, *,
                    noise: float, kind: Kind = "layer", window: int = 10, samples: int = 10,
                    layers: Sequence[int] | None = None, names: LayerNames | None = None,
                    seed: int = 1) -> TraceResult:
    """ROME's per-state loop: one full forward of 1 clean + `samples` noised rows per (t, l),
    restoring rows 1.. from row 0 (`trace_with_patch`). The reference for `trace_fact`."""
    import torch

    names, enc, answer = _setup(model, tok, prompt, subject, target, names, kind)
    L, T = names.n_layers, enc.last[0] + 1
    layers = _check_layers(layers, L)
    b, e = enc.subject[0]
    noise_t = noise_samples(samples, e - b, get_module(model, names.embed).weight.shape[1],
                            noise, seed)
    spans = [(r + 1, b, e, noise_t[r].to(model.device)) for r in range(samples)]
    ids = enc.input_ids.repeat(samples + 1, 1)
    kw = forward_kwargs(model, keep=len(answer) if answer else 1)

    def run(restore: dict[int, int]) -> Any:
        def fn(t):
            def patch(out):
                h = main_tensor(out)
                h[1:, t] = h[0, t]
                return with_main(out, h)
            return patch
        with torch.no_grad(), embedding_noise(model, names, spans), output_hooks(
                model, {names.of(kind, j): fn(t) for j, t in restore.items()}):
            return model(input_ids=ids, **kw).logits

    base = run({})
    answer = [int(base[0, -1].argmax())] if answer is None else answer
    p_base = _object_probability(base, answer)
    scores = np.zeros((T, len(layers)))
    for t in range(T):
        for li, l in enumerate(layers):
            mods = [l] if kind == "layer" else window_layers(l, window, L)
            scores[t, li] = float(_object_probability(run({j: t for j in mods}), answer)[1:].mean())
    return TraceResult(prompt, subject, tok.decode(answer).strip(), tok.convert_ids_to_tokens(
        enc.input_ids[0, :T].tolist()), (b, e), kind, window, float(noise), list(layers),
        float(p_base[0]), float(p_base[1:].mean()), scores)


def _check_layers(layers: Sequence[int] | None, n_layers: int) -> list[int]:
    layers = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    bad = [x for x in layers if not 0 <= x < n_layers]
    if bad or not layers:
        raise UserError(f"layers {bad or layers}: the model has layers 0..{n_layers - 1}")
    return layers


def layer_effects(result: TraceResult, token: Literal["max", "last_subject"] = "max",
                  fractional: bool = True) -> np.ndarray:
    """Hase et al.'s tracing effect per layer: the indirect effect at the best token (or the
    last subject token), as a fraction of what the noise removed, p_clean − p_low, floored at
    0. NaN where the noise removed nothing (the fraction is undefined)."""
    eff = result.indirect_effect
    eff = eff.max(axis=0) if token == "max" else eff[result.subject_range[1] - 1]
    if not fractional:
        return eff
    drop = result.p_clean - result.p_low
    if drop <= 1e-8:
        return np.full(len(result.layers), np.nan)
    return np.maximum(eff / drop, 0.0)


def row_labels(result: TraceResult, tok) -> list[str]:
    """Heatmap row labels as ROME draws them: each token's text (byte-level or sentencepiece
    marks decoded, surrounding spaces stripped; a whitespace token quoted, e.g. '\\n'), the
    subject's tokens marked with *."""
    b, e = result.subject_range
    labels = []
    for i, token in enumerate(result.tokens):
        text = tok.convert_tokens_to_string([token])
        text = text.strip() or repr(text)
        labels.append(text + "*" if b <= i < e else text)
    return labels


def corrupted_probability(model, tok, prompt: str, subject: str, target: str | None = None, *,
                          noise: float, samples: int = 10, names: LayerNames | None = None,
                          seed: int = 1) -> float:
    """p(o) averaged over `samples` runs with the subject's embeddings noised (ROME's low
    score); `target` None uses the clean run's top token."""
    names, enc, answer = _setup(model, tok, prompt, subject, target, names, "layer")
    b, e = enc.subject[0]
    noise_t = noise_samples(samples, e - b, get_module(model, names.embed).weight.shape[1],
                            noise, seed)
    return _clean_and_corrupted(model, names, enc, "layer", noise_t, answer)[2]


def noised_answer(model, tok, prompt: str, subject: str, *, noise: float, samples: int = 10,
                  names: LayerNames | None = None, seed: int = 1) -> str:
    """o_noise of Tracing Reversal (Hase et al. §5.1): the token the model predicts with the
    subject's embeddings noised (the argmax of p averaged over `samples` noised runs)."""
    import torch

    names = names or layer_names(model)
    enc = encode(tok, [prompt], [subject], device=model.device)
    b, e = enc.subject[0]
    noise_t = noise_samples(samples, e - b, get_module(model, names.embed).weight.shape[1],
                            noise, seed)
    ids = enc.input_ids
    spans = [(r, b, e, noise_t[r].to(ids.device)) for r in range(samples)]
    with torch.no_grad(), embedding_noise(model, names, spans):
        logits = model(input_ids=ids.repeat(samples, 1), **forward_kwargs(model)).logits
    p = torch.softmax(logits[:, -1].float(), -1).mean(0)
    return tok.decode([int(p.argmax())]).strip()
