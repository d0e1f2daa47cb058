"""Filtering API calls (§2): keep a call when its result makes the next tokens easier to predict.

    L_i(z) = −Σ_{j≥i} w_{j−i} · log p_M(x_j | z, x_{1:j−1})
    L⁺ = L_i(e(c, r)),  L⁻ = min(L_i(ε), L_i(e(c, ε))),  keep c iff L⁻ − L⁺ ≥ τ_f

with weights w_t = w̃_t / Σ_s w̃_s, w̃_t = max(0, 1 − 0.2·t). z is given as a *prefix* of the
text (footnote 3: the model has not seen calls inside text yet); `placement="inline"` inserts
it at position i instead, for comparison. The losses of many (z, text, i) triples are computed
in batched forward passes, each sequence cut right after the last token the weights reach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from neurips23.toolformer.calls import inline_call_text

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

Placement = Literal["prefix", "inline"]
PREFIX_SEPARATOR = "\n"
"""Between a prefix call and the text ("[Calculator(47+38)->85]\nTom has 47 pens ..."): a
newline, which tokenizers keep apart from the text's first word, so the call and x tokenized
separately are the tokens of the joined string."""


def filter_weights(n: int = 5) -> list[float]:
    """w_t = w̃_t / Σ_{s<n} w̃_s with w̃_t = max(0, 1 − 0.2·t), t = 0..n−1 (§2):
    filter_weights(5) = [1/3, 4/15, 1/5, 2/15, 1/15]."""
    return [float(w) for w in filter_weights_exact(n)]


def filter_weights_exact(n: int = 5) -> list[Fraction]:
    """The weights as exact fractions."""
    if n < 1:
        from neurips23.errors import ConfigError
        raise ConfigError(f"filter window must be at least 1 token, got {n}")
    raw = [max(Fraction(0), 1 - Fraction(t, 5)) for t in range(n)]
    total = sum(raw)
    return [w / total for w in raw]


def weighted_loss(token_logprobs: Sequence[float], weights: Sequence[float]) -> float:
    """L = −Σ_t w_t · log p(x_{i+t}); a text that ends early contributes fewer terms (no
    renormalisation, as in the paper's sum over j ≤ n)."""
    return -sum(w * lp for w, lp in zip(weights, token_logprobs, strict=False))


@dataclass(frozen=True)
class TokenizedText:
    """A text as the model's tokens, with the character offset where each token starts."""

    text: str
    ids: tuple[int, ...]
    starts: tuple[int, ...]

    def token_index(self, offset: int) -> int | None:
        """The index of the token that starts at character `offset` (None: not a boundary)."""
        import bisect

        k = bisect.bisect_left(self.starts, offset)
        return k if k < len(self.starts) and self.starts[k] == offset else None


def tokenize_text(tokenizer: PreTrainedTokenizerBase, text: str) -> TokenizedText:
    """The tokens of x (no special tokens) and their start offsets."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    starts, ids, last = [], [], -1
    for tid, (a, _b) in zip(enc["input_ids"], enc["offset_mapping"], strict=True):
        ids.append(tid)
        last = max(a, last)  # byte-level pieces of one character share an offset
        starts.append(last)
    return TokenizedText(text, tuple(ids), tuple(starts))


def special_prefix(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The ids the tokenizer puts before any text (BOS for Llama-style models; none for ours)."""
    return list(tokenizer("", add_special_tokens=True)["input_ids"])


@dataclass(frozen=True)
class LossRequest:
    """L_i(z) for one text: `z` is "" for ε, else the call text e(c) / e(c, ε) / e(c, r)."""

    text: TokenizedText
    position: int  # token index i (the call goes before token i)
    z: str = ""
    placement: Placement = "prefix"


def loss_sequence(tokenizer: PreTrainedTokenizerBase,
                  req: LossRequest, window: int, specials: Sequence[int],
                  ) -> tuple[list[int], int, int]:
    """(token ids, index of the first target, number of targets) for one request."""
    x, i = req.text, req.position
    end = min(len(x.ids), i + window)
    if not req.z:
        head = list(specials)
        body = list(x.ids[:end])
        return head + body, len(head) + i, end - i
    if req.placement == "prefix":
        head = list(specials) + tokenizer.encode(req.z + PREFIX_SEPARATOR, add_special_tokens=False)
        return head + list(x.ids[:end]), len(head) + i, end - i
    inserted = inline_call_text(x.text, x.starts[i], req.z)
    head = list(specials) + list(x.ids[:i]) + tokenizer.encode(inserted, add_special_tokens=False)
    return head + list(x.ids[i:end]), len(head), end - i


def weighted_losses(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    requests: Sequence[LossRequest], window: int = 5,
                    batch_size: int = 64) -> list[float]:
    """L_i(z) of every request, in batched forward passes (identical sequences scored once).

    Each sequence ends with its (at most `window`) target tokens, so with left padding only the
    last window + 1 positions' logits are needed."""
    from neurips23.utils import set_torch_threads

    set_torch_threads()
    weights = filter_weights(window)
    specials = special_prefix(tokenizer)
    seqs = [loss_sequence(tokenizer, r, window, specials) for r in requests]
    for (_ids, first, _n), r in zip(seqs, requests, strict=True):
        if first < 1:
            from neurips23.errors import UserError
            raise UserError(f"position {r.position} of {r.text.text[:40]!r} has no context to "
                            "score it from (positions start at 1 without a BOS token)")
    need: dict[tuple[int, ...], int] = {}  # the same sequence may serve several targets
    for ids, _f, n in seqs:
        need[tuple(ids)] = max(n, need.get(tuple(ids), 0))
    unique = sorted(need.items(), key=lambda kv: len(kv[0]))
    logprobs: dict[tuple[int, ...], list[float]] = {}
    for start in range(0, len(unique), batch_size):
        chunk = unique[start:start + batch_size]
        for (seq, _n), lp in zip(chunk, target_logprobs(model, tokenizer, chunk, window),
                                 strict=True):
            logprobs[seq] = lp
    # the targets of a request are the last n tokens of its sequence
    return [weighted_loss(logprobs[tuple(ids)][len(logprobs[tuple(ids)]) - n:], weights)
            for ids, _f, n in seqs]


def target_logprobs(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                    chunk: Sequence[tuple[Sequence[int], int]],
                    window: int) -> list[list[float]]:
    """log p of the last n tokens of each (ids, n) in one left-padded forward pass."""
    import inspect

    import torch

    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    width = max(len(s) for s, _ in chunk)
    ids = torch.full((len(chunk), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, (s, _n) in enumerate(chunk):
        ids[r, width - len(s):] = torch.tensor(list(s))
        mask[r, width - len(s):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    keep = min(width, window + 1)
    extra = {"logits_to_keep": keep} if "logits_to_keep" in inspect.signature(
        model.forward).parameters else {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                       position_ids=positions.to(device), **extra).logits[:, -keep:]
    model.train(was_training)
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).cpu()  # predicts the last keep-1
    targets = ids[:, width - keep + 1:]
    tok = logp.gather(-1, targets[..., None])[..., 0]
    return [tok[r, tok.shape[1] - n:].tolist() for r, (_s, n) in enumerate(chunk)]


@dataclass(frozen=True)
class FilterScores:
    """The three losses of one call at one position and the filter's decision inputs."""

    loss_empty: float   # L_i(ε)
    loss_call: float    # L_i(e(c, ε))
    loss_result: float  # L⁺ = L_i(e(c, r))

    @property
    def loss_minus(self) -> float:
        """L⁻ = min(L_i(ε), L_i(e(c, ε)))."""
        return min(self.loss_empty, self.loss_call)

    @property
    def usefulness(self) -> float:
        """L⁻ − L⁺: how much the call and its result reduce the loss."""
        return self.loss_minus - self.loss_result

    def keep(self, tau_f: float) -> bool:
        """The filter: keep iff L⁻ − L⁺ ≥ τ_f."""
        return self.usefulness >= tau_f
