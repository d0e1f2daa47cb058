"""A causal "language model" whose next-character distribution is a Python function of the text
so far, so tests know every probability exactly. It speaks the transformers calling convention
the toolformer code uses: left padding with an attention mask, `logits_to_keep`, and a KV
"cache" (here: the token history) that can be repeated and subset per row."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import torch

from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.toolformer.synthetic import ALPHABET

Rule = Callable[[str], dict[str, float]]


def char_tokenizer():
    return build_char_tokenizer(ALPHABET)


class HistoryCache:
    """The tokens (and mask) each row has attended so far."""

    def __init__(self, ids: torch.Tensor, mask: torch.Tensor):
        self.ids, self.mask = ids, mask

    def batch_repeat_interleave(self, n: int) -> None:
        self.ids = self.ids.repeat_interleave(n, 0)
        self.mask = self.mask.repeat_interleave(n, 0)

    def batch_select_indices(self, idx: torch.Tensor) -> None:
        self.ids, self.mask = self.ids[idx], self.mask[idx]


class RuleLM(torch.nn.Module):
    """p(next char | text) = rule(text), normalised; chars the rule leaves out share `floor`."""

    def __init__(self, tokenizer, rule: Rule, floor: float = 1e-4):
        super().__init__()
        self.tok, self.rule, self.floor = tokenizer, rule, floor
        self.weight = torch.nn.Parameter(torch.zeros(1))  # so next(model.parameters()) works
        self.calls = 0

    def distribution(self, text: str) -> torch.Tensor:
        """The exact next-token probabilities after `text`."""
        vocab = len(self.tok)
        probs = torch.full((vocab,), self.floor, dtype=torch.float64)
        for ch, p in self.rule(text).items():
            probs[self.tok.convert_tokens_to_ids(ch)] = p
        for special in range(4):  # pad, bos, eos, unk stay (almost) impossible
            probs[special] = self.floor
        return probs / probs.sum()

    def logprob(self, text: str, ch: str) -> float:
        return math.log(float(self.distribution(text)[self.tok.convert_tokens_to_ids(ch)]))

    def forward(self, input_ids, attention_mask=None, position_ids=None, cache=None,
                use_cache=False, logits_to_keep=0, **_):
        self.calls += 1
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        new_mask = attention_mask[:, -input_ids.shape[1]:]
        if cache is not None:
            ids = torch.cat([cache.ids, input_ids.cpu()], 1)
            mask = torch.cat([cache.mask, new_mask.cpu()], 1)
        else:
            ids, mask = input_ids.cpu(), new_mask.cpu()
        width = input_ids.shape[1]
        keep = width if not logits_to_keep else min(logits_to_keep, width)
        logits = torch.zeros((ids.shape[0], keep, len(self.tok)))
        for b in range(ids.shape[0]):
            for k in range(keep):
                col = ids.shape[1] - keep + k
                hist = [int(t) for t, m in zip(ids[b, :col + 1], mask[b, :col + 1], strict=True) if m]
                text = self.tok.decode(hist)
                logits[b, k] = torch.log(self.distribution(text)).float()
        return SimpleNamespace(logits=logits, cache=HistoryCache(ids, mask) if use_cache else None)
