"""Sampling API calls (§2): where would the model open a call, and which calls does it write?

For every position i of a text x: p_i = p_M("[" | P(x), x_{1:i−1}). Keep the positions with
p_i > τ_s, at most the k most probable; at each kept position sample up to m calls from
[P(x), x_{1:i−1}, "["] and keep those that close with "]".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neurips23.toolformer.calls import API_END, API_START, RESULT_SEP, APICall, parse_call
from neurips23.toolformer.decoding import lockstep_decode
from neurips23.toolformer.filtering import TokenizedText, special_prefix, tokenize_text
from neurips23.toolformer.prompts import render_prompt
from neurips23.toolformer.tools import Document, Tool

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

PAPER_THRESHOLDS: dict[str, dict[str, float]] = {
    "default": {"tau_s": 0.05, "k": 5, "m": 5, "tau_f": 1.0},
    "Calculator": {"tau_s": 0.0, "k": 20, "m": 10, "tau_f": 0.5},
}
"""App. A: τ_s, k, m and τ_f per tool (the calculator uses lower thresholds). App. A gives MT the
calculator's values too; this package has no MT tool, so it has no entry (a tool named MT would
get the defaults)."""


@dataclass
class SamplingConfig:
    """How calls are sampled for one tool (defaults: the paper's App. A values)."""

    tau_s: float = 0.05
    k: int = 5
    m: int = 5
    max_call_tokens: int = 32
    temperature: float = 1.0
    use_prompt: bool = True      # P(x) = the tool's few-shot prompt; False for a seeded model
    force_tool_name: bool = False  # continue "[Tool(" instead of "[" (a prompt-free stand-in)
    batch_size: int = 64


def api_start_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Ids of the tokens that open a call: "[" with optional leading whitespace (" [")."""
    vocab = tokenizer.get_vocab()
    candidates = [i for t, i in vocab.items() if "[" in t or "\u0120[" in t]
    ids = sorted(i for i in candidates if tokenizer.decode([i]).lstrip() == API_START)
    if not ids:
        from neurips23.errors import UserError
        raise UserError("the tokenizer has no token for '[': it cannot write API calls")
    return ids


@dataclass
class APIPositions:
    """p_i at every usable position of one text, and the token context each position ends."""

    text: TokenizedText
    context: list[int]                       # specials, P(x) and x as the model reads them
    cut: dict[int, int] = field(default_factory=dict)    # x token index i -> len of context
    p: dict[int, float] = field(default_factory=dict)    # i -> p_i
    start: dict[int, int] = field(default_factory=dict)  # i -> most probable "[" token id


def _context(tokenizer, x: TokenizedText, template: str) -> tuple[list[int], dict[int, int]]:
    """The ids the model reads before each position i of x, as (ids, {i: prefix length})."""
    specials = special_prefix(tokenizer)
    if not template:
        cuts = {i: len(specials) + i for i in range(len(x.ids))}
        return specials + list(x.ids), cuts
    head = render_prompt(template, x.text) + " "
    enc = tokenizer(head + x.text, add_special_tokens=True, return_offsets_mapping=True)
    ids, offsets = list(enc["input_ids"]), enc["offset_mapping"]
    by_offset = {}
    for k, (a, b) in enumerate(offsets):
        if b > a and a >= len(head) and (a - len(head)) not in by_offset:
            by_offset[a - len(head)] = k
    cuts = {}
    for i, start in enumerate(x.starts):
        if start in by_offset:
            cuts[i] = by_offset[start]
    return ids, cuts


def _keep_logits(model, keep: int) -> dict:
    import inspect

    params = inspect.signature(model.forward).parameters
    return {"logits_to_keep": keep} if "logits_to_keep" in params else {}


def api_probabilities(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                      texts: Sequence[TokenizedText], template: str = "",
                      batch_size: int = 16) -> list[APIPositions]:
    """p_i = p("[" | P(x), x_{<i}) at every token boundary of each text that has a context and
    at least one token after it, in batched forward passes."""
    import torch

    from neurips23.utils import set_torch_threads

    set_torch_threads()
    starts = torch.tensor(api_start_ids(tokenizer))
    out = []
    for x in texts:
        ids, cuts = _context(tokenizer, x, template)
        out.append(APIPositions(x, ids, {i: c for i, c in cuts.items() if c >= 1}))
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, len(out), batch_size):
            chunk = [a for a in out[s:s + batch_size] if a.cut]
            if not chunk:
                continue
            width = max(len(a.context) for a in chunk)
            keep = max(len(a.context) - min(a.cut.values()) for a in chunk) + 1
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, a in enumerate(chunk):
                ids[r, width - len(a.context):] = torch.tensor(a.context)
                mask[r, width - len(a.context):] = 1
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                           position_ids=pos.to(device), **_keep_logits(model, keep)
                           ).logits[:, -keep:].float().cpu()
            lse = torch.logsumexp(logits, dim=-1)
            start_logits = logits[..., starts]
            p_open = torch.exp(torch.logsumexp(start_logits, dim=-1) - lse)
            best = starts[start_logits.argmax(-1)]
            for r, a in enumerate(chunk):
                for i, c in a.cut.items():
                    col = keep - 1 - (len(a.context) - c)  # the logits predicting token c
                    a.p[i] = float(p_open[r, col])
                    a.start[i] = int(best[r, col])
    model.train(was_training)
    return out


def select_positions(p: dict[int, float], tau_s: float, k: int) -> list[int]:
    """The positions with p_i > τ_s, the k most probable (ties: the earlier), in text order."""
    above = [i for i, v in p.items() if v > tau_s]
    return sorted(sorted(above, key=lambda i: (-p[i], i))[:k])


@dataclass
class CandidateCall:
    """A sampled call c at token position i of document `doc`, and what happened to it."""

    doc: int
    position: int
    offset: int
    p_api: float
    call: APICall
    result: str | None = None
    scores: object | None = None  # filtering.FilterScores once scored


class _CallSampler:
    """Policy: sample at `temperature` until the call closes with "]", or with "->" (its input
    is complete and the result comes from executing it), or EOS / length."""

    def __init__(self, tokenizer, rows: int, temperature: float, seed: int):
        import torch

        self.tokenizer = tokenizer
        self.eos = tokenizer.eos_token_id
        self.temperature = temperature
        self.generated: list[list[int]] = [[] for _ in range(rows)]
        self.closed = [False] * rows
        self.generator = torch.Generator().manual_seed(seed)

    def choose(self, rows, logits):
        import torch

        if self.temperature <= 0:
            nxt = logits.argmax(-1).tolist()
        else:
            probs = torch.softmax(logits.float().cpu() / self.temperature, dim=-1)
            nxt = torch.multinomial(probs, 1, generator=self.generator)[:, 0].tolist()
        out: list[int | None] = []
        for r, t in zip(rows, nxt, strict=True):
            if t == self.eos:
                out.append(None)
                continue
            self.generated[r].append(t)
            tail = self.tokenizer.decode(self.generated[r][-4:])
            if API_END in tail or RESULT_SEP in tail:
                self.closed[r] = True
                out.append(None)
            else:
                out.append(t)
        return out


def sample_api_calls(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     docs: Sequence[Document], tool: Tool,
                     cfg: SamplingConfig, seed: int = 0) -> list[CandidateCall]:
    """Up to m distinct calls of `tool` at each of the ≤ k positions of each text with p_i > τ_s
    (§2); a sample that writes "->" has closed its call, one that closes neither way is dropped."""
    eligible = [d for d, doc in enumerate(docs) if tool.text_filter is None
                or tool.text_filter(doc.text)]
    texts = [tokenize_text(tokenizer, docs[d].text) for d in eligible]
    template = tool.prompt if cfg.use_prompt else ""
    positions = api_probabilities(model, tokenizer, texts, template, batch_size=cfg.batch_size)
    forced = tokenizer.encode(f"{tool.name}(", add_special_tokens=False) if cfg.force_tool_name else []
    jobs, prompts = [], []
    for d, pos in zip(eligible, positions, strict=True):
        for i in select_positions(pos.p, cfg.tau_s, cfg.k):
            prompt = pos.context[:pos.cut[i]] + [pos.start[i]] + forced
            for _ in range(cfg.m):
                jobs.append((d, i, pos))
                prompts.append(prompt)
    sampler = _CallSampler(tokenizer, len(prompts), cfg.temperature, seed)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lockstep_decode(model, prompts, sampler, cfg.max_call_tokens, pad, cfg.batch_size)
    out, seen = [], set()
    prefix = tokenizer.decode(forced) if forced else ""
    for (d, i, pos), gen, closed in zip(jobs, sampler.generated, sampler.closed, strict=True):
        if not closed:
            continue  # the paper discards samples that never produce "]"
        call = parse_call(prefix + tokenizer.decode(gen).split(API_END)[0].split(RESULT_SEP)[0])
        if call is None or call.tool != tool.name or (d, i, call) in seen:
            continue
        seen.add((d, i, call))
        out.append(CandidateCall(d, i, pos.text.starts[i], pos.p[i], call))
    return out
