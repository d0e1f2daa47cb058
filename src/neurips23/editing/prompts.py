"""Prompts as tensors: where the subject's tokens are, which positions predict the object, the
probability of an object, and ROME's fixed-seed Gaussian noise for the subject embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from neurips23.errors import DataError


@dataclass
class Encoded:
    """A right-padded batch of prompts (+ optional objects) with the positions the methods use.

    `last[i]` is the last prompt token of row i, `subject[i]` its subject token range [b, e),
    `target_pos[i]` the positions whose logits predict the object tokens `target_ids[i]`."""

    input_ids: Any
    attention_mask: Any
    last: list[int]
    subject: list[tuple[int, int]]
    target_pos: list[list[int]]
    target_ids: list[list[int]]

    def __len__(self) -> int:
        return len(self.last)

    @property
    def last_subject(self) -> list[int]:
        """ROME's lookup position: the last token of the subject in each row."""
        return [e - 1 for _, e in self.subject]


def object_ids(tok, obj: str) -> list[int]:
    """Token ids of an object as it follows a prompt (a leading space, no special tokens)."""
    ids = tok(" " + obj.strip(), add_special_tokens=False)["input_ids"]
    if not ids:
        raise DataError(f"object {obj!r} tokenizes to nothing")
    return list(ids)


def subject_span(tok, text: str, subject: str) -> tuple[list[int], tuple[int, int]]:
    """The prompt's token ids and the token range [b, e) of the last occurrence of `subject`."""
    start = text.rfind(subject)
    if start < 0 or not subject:
        raise DataError(f"subject {subject!r} does not occur in prompt {text!r}")
    end = start + len(subject)
    if getattr(tok, "is_fast", False):
        enc = tok(text, return_offsets_mapping=True)
        ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
        inside = [i for i, (s, e) in enumerate(offsets) if s < end and e > start and e > s]
    else:  # count the tokens of the text before and through the subject (ROME's approach)
        ids = list(tok(text)["input_ids"])
        b = len(tok(text[:start])["input_ids"]) if start else len(tok("")["input_ids"])
        inside = list(range(b, len(tok(text[:end])["input_ids"])))
    if not ids:
        raise DataError(f"prompt {text!r} tokenizes to nothing")
    if not inside:
        raise DataError(f"no token of prompt {text!r} covers the subject {subject!r}")
    return ids, (inside[0], inside[-1] + 1)


def encode(tok, texts: Sequence[str], subjects: Sequence[str | None],
           targets: Sequence[str | None] | None = None, device: Any = None) -> Encoded:
    """Encode prompts (with the subject located) followed by their object tokens, if given."""
    import torch

    targets = list(targets) if targets is not None else [None] * len(texts)
    rows, last, spans, tpos, tids = [], [], [], [], []
    for text, subj, tgt in zip(texts, subjects, targets, strict=True):
        if subj:
            ids, span = subject_span(tok, text, subj)
        else:
            ids, span = list(tok(text)["input_ids"]), (0, 0)
            if not ids:
                raise DataError(f"prompt {text!r} tokenizes to nothing")
        obj = object_ids(tok, tgt) if tgt else []
        rows.append(ids + obj[:-1])
        last.append(len(ids) - 1)
        spans.append(span)
        tpos.append(list(range(len(ids) - 1, len(ids) - 1 + len(obj))))
        tids.append(obj)
    width = max(len(r) for r in rows)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    if device is not None:
        input_ids, mask = input_ids.to(device), mask.to(device)
    return Encoded(input_ids, mask, last, spans, tpos, tids)


def noise_samples(n_samples: int, n_tokens: int, dim: int, scale: float, seed: int = 1):
    """ROME's corruption: scale × N(0, 1) of shape (samples, subject tokens, d) drawn from
    numpy's RandomState(seed), the same draw for every call with the same shape."""
    import numpy as np
    import torch

    rs = np.random.RandomState(seed)
    return torch.from_numpy(rs.randn(n_samples, n_tokens, dim)).float() * float(scale)


def subject_noise_spans(enc: Encoded, sample_of_row: Sequence[int | None], scale: float,
                        dim: int, n_samples: int, seed: int = 1) -> list[tuple]:
    """Noise spans (row, b, e, noise) for `embedding_noise`: row i gets noise sample
    `sample_of_row[i]` (None: clean) over its subject tokens."""
    cache: dict[int, Any] = {}
    spans = []
    for row, s in enumerate(sample_of_row):
        if s is None or scale == 0:
            continue
        b, e = enc.subject[row]
        if e - b not in cache:
            cache[e - b] = noise_samples(n_samples, e - b, dim, scale, seed)
        spans.append((row, b, e, cache[e - b][s].to(enc.input_ids.device)))
    return spans


def target_logprobs(model, enc: Encoded):
    """log p(object | prompt) of each row (the sum over the object's tokens), differentiable."""
    import torch

    logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                   use_cache=False).logits
    logp = torch.log_softmax(logits.float(), dim=-1)
    out = []
    for i, (pos, ids) in enumerate(zip(enc.target_pos, enc.target_ids, strict=True)):
        if not ids:
            raise DataError("target_logprobs needs an object for every prompt")
        out.append(logp[i, pos, ids].sum())
    return torch.stack(out)


def last_logprobs(model, enc: Encoded):
    """The log-softmax at each row's last prompt token, shape (rows, vocab)."""
    import torch

    logits = model(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                   use_cache=False).logits
    idx = torch.tensor(enc.last, device=logits.device)
    return torch.log_softmax(logits[torch.arange(len(enc.last), device=logits.device), idx]
                             .float(), dim=-1)
