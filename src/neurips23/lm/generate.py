"""Batched sampling with a KV cache and stop strings, and batched log-prob scoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neurips23.utils import set_torch_threads


@dataclass
class Completion:
    """One sampled continuation of a prompt."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (EOS or a stop string) or "length"


@dataclass
class Score:
    """log p(continuation | prompt): the sum and the per-token terms."""

    logprob: float
    token_logprobs: list[float] = field(default_factory=list)


def encode_prompt(tokenizer, prompt: str, add_special_tokens: bool = True) -> list[int]:
    """Prompt ids with the tokenizer's own special tokens (BOS for real models; none for ours)."""
    ids = tokenizer.encode(prompt, add_special_tokens=add_special_tokens)
    if not ids:
        ids = [tokenizer.bos_token_id if tokenizer.bos_token_id is not None
               else tokenizer.eos_token_id]
    return ids


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first occurrence of any stop string, and whether one occurred."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _sample(logits, temperature: float, top_p: float, generator):
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def generate(model, tokenizer, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
             top_p: float = 1.0, max_new_tokens: int = 64, stop: Sequence[str] = (),
             seed: int | None = None, batch_size: int = 64,
             add_special_tokens: bool = True) -> list[list[Completion]]:
    """n continuations per prompt, `[prompt][sample]`; greedy when temperature == 0.

    `add_special_tokens=False` for prompts that already hold them (a rendered chat template)."""
    import torch

    set_torch_threads()
    device = next(model.parameters()).device
    greedy = temperature <= 0
    generator = None
    if not greedy:  # a private generator: sampling never touches torch's global RNG
        import secrets

        generator = torch.Generator(device=device)
        generator.manual_seed(seed if seed is not None else secrets.randbits(63))
    copies = 1 if greedy else n
    jobs = [(i, encode_prompt(tokenizer, p, add_special_tokens)) for i, p in enumerate(prompts)
            for _ in range(copies)]
    order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][1]))  # less padding per batch
    results: list[Completion | None] = [None] * len(jobs)
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            outs = _generate_batch(model, tokenizer, [jobs[j][1] for j in chunk], temperature,
                                   top_p, max_new_tokens, stop, generator, eos, pad, device)
            for j, out in zip(chunk, outs, strict=True):
                results[j] = out
    model.train(was_training)
    grouped: list[list[Completion]] = [[] for _ in prompts]
    for (i, _), out in zip(jobs, results, strict=True):
        grouped[i].append(out)
    if greedy and n > 1:
        grouped = [g * n for g in grouped]
    return grouped


def _cache_kwarg(model) -> str:
    """The KV-cache argument's name: `cache` in recent transformers, `past_key_values` before."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(out):
    return getattr(out, "cache", None) if hasattr(out, "cache") else out.past_key_values


def _generate_batch(model, tokenizer, prompt_ids: list[list[int]], temperature, top_p,
                    max_new_tokens, stop, generator, eos, pad, device) -> list[Completion]:
    import inspect

    import torch

    width = max(len(p) for p in prompt_ids)
    b = len(prompt_ids)
    ids = torch.full((b, width), pad, dtype=torch.long)
    mask = torch.zeros((b, width), dtype=torch.long)
    for i, p in enumerate(prompt_ids):  # left padding
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    cache_arg = _cache_kwarg(model)
    extra = {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(model.forward).parameters else {}
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **extra)
    past, logits = _cache_of(out), out.logits[:, -1]
    done = torch.zeros(b, dtype=torch.bool, device=device)
    stopped = torch.zeros(b, dtype=torch.bool, device=device)
    steps = []  # per step: the new token of each row, or -1 where the row had finished
    generated: list[list[int]] = [[] for _ in range(b)]  # kept only when stop strings are checked
    last_pos = positions[:, -1]
    for _ in range(max_new_tokens):
        nxt = _sample(logits, temperature, top_p, generator)
        hit_eos = (nxt == eos) & ~done
        stopped |= hit_eos
        finished_before = done.clone()
        done |= hit_eos
        steps.append(torch.where(done, torch.full_like(nxt, -1), nxt))
        if stop:
            for i in (~done).nonzero().flatten().tolist():
                generated[i].append(int(nxt[i]))
                text = tokenizer.decode(generated[i][-64:], skip_special_tokens=True)
                if any(s in text for s in stop if s):
                    done[i] = stopped[i] = True
        if bool(done.all()):
            break
        nxt = torch.where(finished_before | hit_eos, torch.full_like(nxt, pad), nxt)
        mask = torch.cat([mask, torch.ones((b, 1), dtype=mask.dtype, device=device)], dim=1)
        last_pos = last_pos + 1
        out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                    use_cache=True, **{cache_arg: past})
        past, logits = _cache_of(out), out.logits[:, -1]
    table = torch.stack(steps, dim=1).tolist() if steps else [[] for _ in range(b)]
    results = []
    for i in range(b):
        toks = [t for t in table[i] if t >= 0]
        text = tokenizer.decode(toks, skip_special_tokens=True)
        text, hit = cut_at_stop(text, stop)
        results.append(Completion(text, len(prompt_ids[i]), len(toks),
                                  "stop" if (bool(stopped[i]) or hit) else "length"))
    return results


def score(model, tokenizer, prompts: Sequence[str], continuations: Sequence[str],
          batch_size: int = 64) -> list[Score]:
    """log p(continuation | prompt) for each pair, teacher-forced, in batches."""
    import torch

    if len(prompts) != len(continuations):
        from neurips23.errors import UserError
        raise UserError(f"score: {len(prompts)} prompts but {len(continuations)} continuations")
    set_torch_threads()
    device = next(model.parameters()).device
    pairs = []
    for p, c in zip(prompts, continuations, strict=True):
        ctx = encode_prompt(tokenizer, p)
        whole = tokenizer.encode(p + c, add_special_tokens=True) if p else ctx + tokenizer.encode(
            c, add_special_tokens=False)
        cont = whole[len(ctx):] if whole[:len(ctx)] == ctx else tokenizer.encode(
            c, add_special_tokens=False)
        pairs.append((ctx, cont))
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
    scores: list[Score | None] = [None] * len(pairs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            seqs = [pairs[j][0] + pairs[j][1] for j in chunk]
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, s in enumerate(seqs):
                ids[r, :len(s)] = torch.tensor(s)
                mask[r, :len(s)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1).cpu()
            for r, j in enumerate(chunk):
                ctx, cont = pairs[j]
                pos = torch.arange(len(ctx) - 1, len(ctx) + len(cont) - 1)
                tok = logp[r, pos, torch.tensor(cont, dtype=torch.long)] if cont else torch.zeros(0)
                scores[j] = Score(float(tok.sum()), [float(x) for x in tok])
    model.train(was_training)
    return scores
