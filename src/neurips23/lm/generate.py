"""Batched sampling with a KV cache and stop strings, and batched log-prob scoring.

Prompts are text or token ids. Generation stops at any of the model's end-of-sequence ids
(the tokenizer's EOS and every id of `generation_config.eos_token_id`, e.g. SmolLM2's
`<|im_end|>` or Llama-3's `<|eot_id|>`), at a stop string, or at `max_new_tokens`.
On request it returns log-probs: of each generated token and of each prompt token given the
tokens before it, with the top-k alternatives, from the model's raw distribution (before
temperature or top-p).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from neurips23.utils import set_torch_threads

LOGITS_BUDGET = 2**26
"""Most logits (rows x positions x vocabulary) one forward pass may keep in full (256 MB of
fp32): bounds the batch when every position's distribution is needed (scoring, echo)."""


@dataclass
class TokenLogprob:
    """log p of one token given the tokens before it, and the top-k alternatives (id -> log p)."""

    logprob: float
    top: dict[int, float] = field(default_factory=dict)


@dataclass
class Completion:
    """One sampled continuation of a prompt."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (an end-of-sequence id or a stop string) or "length"
    token_ids: list[int] = field(default_factory=list)  # the tokens behind `text`
    logprobs: list[TokenLogprob] | None = None  # one per token id, when asked for
    prompt_ids: list[int] = field(default_factory=list)
    prompt_logprobs: list[TokenLogprob | None] | None = None  # None for the first token
    end_token: int | None = None  # the end-of-sequence id sampled last (not in `token_ids`)
    end_logprob: TokenLogprob | None = None  # its log-prob, when log-probs were asked for


@dataclass
class Score:
    """log p(continuation | prompt): the sum and the per-token terms."""

    logprob: float
    token_logprobs: list[float] = field(default_factory=list)


def encode_prompt(tokenizer, prompt: str | Sequence[int], add_special_tokens: bool = True) -> list[int]:
    """Prompt ids: token ids as given, or text encoded with the tokenizer's own special tokens
    (BOS for real models; none for ours)."""
    if not isinstance(prompt, str):
        ids = [int(t) for t in prompt]
        if any(t < 0 or t >= len(tokenizer) for t in ids):
            from neurips23.errors import UserError
            bad = next(t for t in ids if t < 0 or t >= len(tokenizer))
            raise UserError(f"prompt token id {bad} is outside the vocabulary (0-{len(tokenizer) - 1})")
    else:
        ids = tokenizer.encode(prompt, add_special_tokens=add_special_tokens)
    if not ids:
        ids = [tokenizer.bos_token_id if tokenizer.bos_token_id is not None
               else tokenizer.eos_token_id]
    return ids


def eos_token_ids(model, tokenizer) -> list[int]:
    """Every id that ends a generation: the tokenizer's EOS and the generation config's."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    config = getattr(model, "generation_config", None)
    extra = getattr(config, "eos_token_id", None) if config is not None else None
    ids += list(extra) if isinstance(extra, list | tuple) else [extra] if extra is not None else []
    return sorted({int(i) for i in ids})


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """`text` up to the first occurrence of any stop string, and whether one occurred."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _sample(logits, temperature: float, top_p: float, generator, top_k: int = 0):
    import torch

    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits.float()
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(-1) - sorted_p < top_p  # always keeps the top token
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _token_logprobs(logp, ids, k: int) -> list[TokenLogprob]:
    """TokenLogprob of ids[j] under the distribution logp[j] (rows of log-probs)."""
    import torch

    chosen = logp.gather(-1, torch.as_tensor(ids, device=logp.device)[:, None])[:, 0].tolist()
    if k <= 0:
        return [TokenLogprob(c) for c in chosen]
    values, indices = logp.topk(k, dim=-1)
    return [TokenLogprob(c, dict(zip(i, v, strict=True)))
            for c, i, v in zip(chosen, indices.tolist(), values.tolist(), strict=True)]


def _batches(order: list[int], lengths: list[int], batch_size: int,
             max_logits: int | None) -> list[list[int]]:
    """`order` cut into batches of at most `batch_size` rows, and, with `max_logits`, at most
    that many rows x longest length logits (always at least one row)."""
    out: list[list[int]] = []
    cur: list[int] = []
    width = 0
    for j in order:
        wider = max(width, lengths[j])
        if cur and (len(cur) >= batch_size or (max_logits and (len(cur) + 1) * wider > max_logits)):
            out.append(cur)
            cur, wider = [], lengths[j]
        cur.append(j)
        width = wider
    return out + [cur] if cur else out


def generate(model, tokenizer, prompts: Sequence[str | Sequence[int]], n: int = 1,
             temperature: float = 0.0, top_p: float = 1.0, max_new_tokens: int = 64,
             stop: Sequence[str] = (), seed: int | None = None, batch_size: int = 64,
             add_special_tokens: bool = True, logprobs: int | None = None,
             prompt_logprobs: int | None = None, top_k: int = 0,
             observer: StepObserver | None = None) -> list[list[Completion]]:
    """n continuations per prompt, `[prompt][sample]`; greedy when temperature == 0.

    A prompt is text or a list of token ids. `add_special_tokens=False` for text that already
    holds them (a rendered chat template). `logprobs=k` returns each generated token's
    log-prob with the top k; `prompt_logprobs=k` the same for the prompt's tokens. `top_k > 0`
    samples among the k likeliest tokens only. `observer` sees every decoding step and may
    abandon rows (see `StepObserver`); an abandoned row finishes with reason "abort"."""
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
    keys = [(i, k) for i in range(len(prompts)) for k in range(copies)]
    order = sorted(range(len(jobs)), key=lambda j: len(jobs[j][1]))  # less padding per batch
    budget = LOGITS_BUDGET // model.config.vocab_size if prompt_logprobs is not None else None
    results: list[Completion | None] = [None] * len(jobs)
    settings = _Settings(temperature, top_p, max_new_tokens, tuple(stop), generator,
                         eos_token_ids(model, tokenizer), logprobs, prompt_logprobs, top_k,
                         observer)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for chunk in _batches(order, [len(ids) for _, ids in jobs], batch_size, budget):
            outs = _generate_batch(model, tokenizer, [jobs[j][1] for j in chunk], settings,
                                   [keys[j] for j in chunk])
            for j, out in zip(chunk, outs, strict=True):
                results[j] = out
    model.train(was_training)
    grouped: list[list[Completion]] = [[] for _ in prompts]
    for (i, _), out in zip(jobs, results, strict=True):
        grouped[i].append(out)
    if greedy and n > 1:
        grouped = [g * n for g in grouped]
    return grouped


StepObserver = Callable[[list[tuple[int, int]], list[int]], Sequence[bool] | None]
"""Called after each decoding step with the rows' (prompt index, sample index) and the token
each row just sampled (an end-of-sequence id included; -1 for a row that had finished);
returns, per row, whether to abandon it (or None: abandon none)."""


@dataclass
class _Settings:
    temperature: float
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...]
    generator: object
    eos: list[int]
    logprobs: int | None
    prompt_logprobs: int | None
    top_k: int = 0
    observer: StepObserver | None = None


def _cache_kwarg(model) -> str:
    """The KV-cache argument's name: `cache` in recent transformers, `past_key_values` before."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _cache_of(out):
    return getattr(out, "cache", None) if hasattr(out, "cache") else out.past_key_values


def _prefill(model, prompt_ids: list[list[int]], pad: int, full_logits: bool):
    """Left-padded prompts through the model: (output, mask, positions)."""
    import inspect

    import torch

    device = next(model.parameters()).device
    width, b = max(len(p) for p in prompt_ids), len(prompt_ids)
    ids = torch.full((b, width), pad, dtype=torch.long)
    mask = torch.zeros((b, width), dtype=torch.long)
    for i, p in enumerate(prompt_ids):  # left padding
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    ids, mask = ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    keep = "logits_to_keep" in inspect.signature(model.forward).parameters and not full_logits
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                **({"logits_to_keep": 1} if keep else {}))
    return out, mask, positions


def _prompt_logprobs(logits, prompt_ids: list[list[int]], k: int) -> list[list[TokenLogprob | None]]:
    """Each prompt token's log-prob given the tokens before it (None for the first)."""
    import torch

    out = []
    width = logits.shape[1]
    for i, p in enumerate(prompt_ids):
        rows = logits[i, width - len(p): width - 1]
        logp = torch.log_softmax(rows.float(), dim=-1)
        out.append([None] + _token_logprobs(logp, p[1:], k) if len(p) > 1 else [None])
    return out


def _generate_batch(model, tokenizer, prompt_ids: list[list[int]], s: _Settings,
                    keys: list[tuple[int, int]] | None = None) -> list[Completion]:
    import torch

    device = next(model.parameters()).device
    pad = next(t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id, 0) if t is not None)
    b = len(prompt_ids)
    out, mask, positions = _prefill(model, prompt_ids, pad, s.prompt_logprobs is not None)
    prompt_lps = (_prompt_logprobs(out.logits, prompt_ids, s.prompt_logprobs)
                  if s.prompt_logprobs is not None else None)
    cache_arg = _cache_kwarg(model)
    past, logits = _cache_of(out), out.logits[:, -1]
    eos_ids = torch.tensor(s.eos, dtype=torch.long, device=device)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    stopped = torch.zeros(b, dtype=torch.bool, device=device)
    aborted = [False] * b
    ends: dict[int, tuple[int, TokenLogprob | None]] = {}  # row -> (end id, its log-prob)
    steps = []  # per step: the new token of each row, or -1 where the row had finished
    step_lps: list[list[TokenLogprob]] = []
    generated: list[list[int]] = [[] for _ in range(b)]  # kept only when stop strings are checked
    last_pos = positions[:, -1]
    for _ in range(s.max_new_tokens):
        nxt = _sample(logits, s.temperature, s.top_p, s.generator, s.top_k)
        if s.logprobs is not None:
            step_lps.append(_token_logprobs(torch.log_softmax(logits.float(), -1), nxt, s.logprobs))
        hit_eos = torch.isin(nxt, eos_ids) & ~done
        for i in hit_eos.nonzero().flatten().tolist():
            ends[i] = (int(nxt[i]), step_lps[-1][i] if s.logprobs is not None else None)
        stopped |= hit_eos
        finished_before = done.clone()
        done |= hit_eos
        steps.append(torch.where(done, torch.full_like(nxt, -1), nxt))
        if s.stop:
            _check_stop_strings(tokenizer, s.stop, nxt, done, stopped, generated)
        if s.observer is not None:
            _observe(s.observer, keys or [(i, 0) for i in range(b)], nxt, finished_before,
                     done, aborted)
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
        text, hit = cut_at_stop(tokenizer.decode(toks, skip_special_tokens=True), s.stop)
        kept = _tokens_behind(tokenizer, toks, len(text)) if hit else toks
        end, end_lp = ends.get(i, (None, None)) if not hit else (None, None)
        reason = "abort" if aborted[i] else "stop" if (bool(stopped[i]) or hit) else "length"
        results.append(Completion(
            text, len(prompt_ids[i]), len(toks), reason, token_ids=kept,
            logprobs=[step_lps[t][i] for t in range(len(kept))] if s.logprobs is not None else None,
            prompt_ids=list(prompt_ids[i]), prompt_logprobs=prompt_lps[i] if prompt_lps else None,
            end_token=end, end_logprob=end_lp))
    return results


def _check_stop_strings(tokenizer, stop: tuple[str, ...], nxt, done, stopped,
                        generated: list[list[int]]) -> None:
    """Mark rows whose recent text now holds a stop string as done (in place)."""
    for i in (~done).nonzero().flatten().tolist():
        generated[i].append(int(nxt[i]))
        text = tokenizer.decode(generated[i][-64:], skip_special_tokens=True)
        if any(x in text for x in stop if x):
            done[i] = stopped[i] = True


def _observe(observer: StepObserver, keys: list[tuple[int, int]], nxt, finished_before, done,
             aborted: list[bool]) -> None:
    """Show the observer this step's tokens; mark the rows it abandons as done (in place)."""
    tokens = [-1 if f else t for t, f in zip(nxt.tolist(), finished_before.tolist(), strict=True)]
    drop = observer(keys, tokens)
    for i, d in enumerate(drop or []):
        if d and not bool(done[i]):
            done[i] = True
            aborted[i] = True


def _tokens_behind(tokenizer, toks: list[int], n_chars: int) -> list[int]:
    """The shortest prefix of `toks` whose text covers the first `n_chars` characters."""
    for m in range(len(toks) + 1):
        if len(tokenizer.decode(toks[:m], skip_special_tokens=True)) >= n_chars:
            return toks[:m]
    return toks


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
    lengths = [len(a) + len(b) for a, b in pairs]
    order = sorted(range(len(pairs)), key=lambda i: lengths[i])
    scores: list[Score | None] = [None] * len(pairs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for chunk in _batches(order, lengths, batch_size, LOGITS_BUDGET // model.config.vocab_size):
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
