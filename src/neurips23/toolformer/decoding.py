"""Batched token-by-token decoding with a KV cache, where a policy picks every row's next token.

Sampling API calls and tool-calling inference both need more control than plain generation
(forcing "[", inserting a tool's result, stopping at "]"), so both drive this loop with their
own policy. Rows that share a long prefix (the same P(x) and text) have it computed once per
batch; finished rows leave the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from transformers import PreTrainedModel

MIN_SHARED_PREFIX = 8
"""Rows sharing at least this many leading tokens have that prefix computed once per batch."""


class Policy(Protocol):
    """Chooses the next token of each active row from its logits; None ends the row."""

    def choose(self, rows: Sequence[int], logits: Any) -> list[int | None]: ...


def _cache_arg(model) -> str:
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(out):
    return getattr(out, "cache", None) if hasattr(out, "cache") else out.past_key_values


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """The number of leading tokens every row shares."""
    first, n = rows[0], min(len(r) for r in rows)
    k = 0
    while k < n and all(r[k] == first[k] for r in rows):
        k += 1
    return k


def _last_logits_only(model) -> dict:
    import inspect

    params = inspect.signature(model.forward).parameters
    return {"logits_to_keep": 1} if "logits_to_keep" in params else {}


def _prefill(model, prompts: Sequence[Sequence[int]], pad_id: int, device):
    """Forward the prompts (shared prefix once, the rest left-padded); (logits, cache, mask, pos)."""
    import torch

    cache_arg = _cache_arg(model)
    last_only = _last_logits_only(model)
    shared = common_prefix_length(prompts)
    shared = min(shared, min(len(p) for p in prompts) - 1)
    cache, head = None, 0
    if shared >= MIN_SHARED_PREFIX and len(prompts) > 1:
        out = model(input_ids=torch.tensor([list(prompts[0][:shared])], device=device),
                    use_cache=True, **last_only)
        cache, head = _cache_of(out), shared
        cache.batch_repeat_interleave(len(prompts))
    tails = [list(p[head:]) for p in prompts]
    width = max(len(t) for t in tails)
    ids = torch.full((len(tails), width), pad_id, dtype=torch.long)
    tail_mask = torch.zeros((len(tails), width), dtype=torch.long)
    for r, t in enumerate(tails):
        ids[r, width - len(t):] = torch.tensor(t)
        tail_mask[r, width - len(t):] = 1
    mask = torch.cat([torch.ones((len(tails), head), dtype=torch.long), tail_mask], dim=1)
    pos = (head + tail_mask.cumsum(-1) - 1).clamp(min=0)
    kwargs = {cache_arg: cache} if cache is not None else {}
    out = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                position_ids=pos.to(device), use_cache=True, **kwargs, **last_only)
    return out.logits[:, -1], _cache_of(out), mask.to(device), pos[:, -1].to(device)


def lockstep_decode(model: PreTrainedModel, prompts: Sequence[Sequence[int]], policy: Policy,
                    max_new_tokens: int,
                    pad_id: int, batch_size: int = 64) -> None:
    """Decode every prompt (token ids) under `policy` for at most `max_new_tokens` steps.

    Rows are grouped by their tokens (so rows of one text share their prefix), `batch_size`
    at a time; the policy keeps what it generated."""
    import torch

    from neurips23.utils import set_torch_threads

    set_torch_threads()
    if not prompts:
        return
    device = next(model.parameters()).device
    cache_arg = _cache_arg(model)
    order = sorted(range(len(prompts)), key=lambda r: tuple(prompts[r]))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            active = order[start:start + batch_size]
            logits, cache, mask, pos = _prefill(model, [prompts[r] for r in active], pad_id, device)
            for _ in range(max_new_tokens):
                nxt = policy.choose(active, logits)
                keep = [k for k, t in enumerate(nxt) if t is not None]
                if not keep:
                    break
                if len(keep) < len(active):
                    idx = torch.tensor(keep, device=device)
                    cache.batch_select_indices(idx)
                    mask, pos = mask[idx], pos[idx]
                    active = [active[k] for k in keep]
                feed = torch.tensor([[nxt[k]] for k in keep], device=device)
                mask = torch.cat([mask, torch.ones((len(keep), 1), dtype=mask.dtype,
                                                   device=device)], dim=1)
                pos = pos + 1
                out = model(input_ids=feed, attention_mask=mask, position_ids=pos[:, None],
                            use_cache=True, **{cache_arg: cache})
                logits, cache = out.logits[:, -1], _cache_of(out)
    model.train(was_training)
