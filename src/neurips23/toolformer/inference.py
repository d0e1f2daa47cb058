"""Tool-calling inference (§2 "Inference", §4): decode as usual; open a call with "[" whenever it is
among the k most likely tokens; at "->" run the tool, insert its result and "]", and continue.
At most `max_calls` calls per input (one in the paper's evaluation); "disabled" sets p("[")
to 0 throughout, which is also how perplexity is measured with calls disabled (§4.3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from neurips23.toolformer.calls import API_END, RESULT_SEP, APICall, parse_call, strip_calls
from neurips23.toolformer.decoding import lockstep_decode
from neurips23.toolformer.filtering import special_prefix
from neurips23.toolformer.sampling import api_start_ids
from neurips23.toolformer.tools import Document, Tool, execute_calls

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class InferenceConfig:
    """Decoding with tools (defaults: the paper's evaluation, greedy, top-10 trigger, one call)."""

    mode: Literal["enabled", "disabled"] = "enabled"
    top_k: int = 10
    max_calls: int = 1
    max_new_tokens: int = 64
    max_call_tokens: int = 32
    stop: tuple[str, ...] = ()
    timeout: float = 10.0
    batch_size: int = 64


@dataclass
class ToolCompletion:
    """One decoded continuation: the text with its calls, the text without them, the calls."""

    text: str
    visible: str
    calls: list[tuple[APICall | None, str | None]] = field(default_factory=list)
    finish_reason: str = "length"


@dataclass
class _Row:
    gen: list[int] = field(default_factory=list)
    call_start: int | None = None
    queue: list[int] = field(default_factory=list)
    pending: APICall | None = None
    calls: list[tuple[APICall | None, str | None]] = field(default_factory=list)
    finish: str = "length"


class _ToolPolicy:
    """Greedy decoding that opens, executes and closes calls as §2 describes."""

    def __init__(self, tokenizer, n: int, tools: Mapping[str, Tool], docs: Sequence[Document],
                 cfg: InferenceConfig):
        self.tok, self.tools, self.docs, self.cfg = tokenizer, tools, docs, cfg
        self.start_ids = api_start_ids(tokenizer)
        self.eos = tokenizer.eos_token_id
        self.rows = [_Row() for _ in range(n)]

    def _may_open(self, row: _Row) -> bool:
        return (self.cfg.mode == "enabled" and row.call_start is None
                and len(row.calls) < self.cfg.max_calls)

    def choose(self, rows, logits):
        import torch

        logits = logits.detach().float().cpu().clone()
        out: list[int | None] = []
        to_run: list[int] = []
        for r, lg in zip(rows, logits, strict=True):
            row = self.rows[r]
            if row.queue:
                out.append(self._forced(row))
                continue
            may_open = self._may_open(row)
            if not may_open:
                lg[self.start_ids] = float("-inf")
            t = int(lg.argmax())
            if may_open:
                top = set(torch.topk(lg, min(self.cfg.top_k, lg.numel())).indices.tolist())
                opens = [s for s in self.start_ids if s in top]
                if opens:
                    t = max(opens, key=lambda s: float(lg[s]))
                    row.call_start = len(row.gen)
            if t == self.eos:
                row.finish = "stop"
                out.append(None)
                continue
            row.gen.append(t)
            out.append(self._after(r, row, t, to_run))
        self._run_calls(to_run)
        return out

    def _forced(self, row: _Row) -> int:
        t = row.queue.pop(0)
        row.gen.append(t)
        if not row.queue:  # the result and "]" are in: the call is complete
            row.call_start = None
        return t

    def _after(self, r: int, row: _Row, t: int, to_run: list[int]) -> int | None:
        if row.call_start is not None:
            call_text = self.tok.decode(row.gen[row.call_start:])
            if RESULT_SEP in call_text:
                row.pending = parse_call(call_text.split(RESULT_SEP)[0].lstrip())
                to_run.append(r)
            elif API_END in call_text or len(row.gen) - row.call_start > self.cfg.max_call_tokens:
                row.calls.append((parse_call(call_text), None))  # closed without asking
                row.call_start = None
            return t
        if self.cfg.stop:
            visible = strip_calls(self.tok.decode(row.gen))
            if any(s in visible for s in self.cfg.stop):
                row.finish = "stop"
                return None
        return t

    def _run_calls(self, to_run: list[int]) -> None:
        rows = [self.rows[r] for r in to_run]
        calls = [row.pending or APICall("", "") for row in rows]
        results = execute_calls(calls, [self.docs[r] for r in to_run], self.tools,
                                timeout=self.cfg.timeout)
        for row, result in zip(rows, results, strict=True):
            row.calls.append((row.pending, result))
            row.queue = self.tok.encode((result or "") + API_END, add_special_tokens=False)
            row.pending = None


def generate_with_tools(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                        prompts: Sequence[str], tools: Mapping[str, Tool],
                        cfg: InferenceConfig | None = None,
                        docs: Sequence[Document] | None = None) -> list[ToolCompletion]:
    """Greedy continuations of `prompts` that may call `tools` (each prompt's `docs` entry is
    what the tools see, e.g. its date for the calendar)."""
    cfg = cfg or InferenceConfig()
    if cfg.mode not in ("enabled", "disabled"):
        from neurips23.errors import ConfigError
        raise ConfigError(f"mode {cfg.mode!r}: choose 'enabled' or 'disabled'")
    docs = list(docs) if docs is not None else [Document(p) for p in prompts]
    specials = special_prefix(tokenizer)
    ids = [specials + tokenizer.encode(p, add_special_tokens=False) for p in prompts]
    if any(not x for x in ids):
        from neurips23.errors import UserError
        raise UserError("empty prompt: a model without a BOS token needs at least one token")
    policy = _ToolPolicy(tokenizer, len(prompts), tools, docs, cfg)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    lockstep_decode(model, ids, policy, cfg.max_new_tokens, pad, cfg.batch_size)
    out = []
    for row in policy.rows:
        text = tokenizer.decode(row.gen)
        visible = strip_calls(text)
        for s in cfg.stop:
            if s and s in visible:
                visible = visible[:visible.index(s)]
        out.append(ToolCompletion(text, visible, row.calls, row.finish))
    return out


def perplexity(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
               texts: Sequence[str], calls_disabled: bool = True,
               batch_size: int = 32) -> tuple[float, list[float], list[int]]:
    """exp(mean NLL per token) over `texts`, with p("[") set to 0 (and the rest renormalised)
    when `calls_disabled`; also each text's summed NLL and token count."""
    import math

    import torch

    specials = special_prefix(tokenizer)
    seqs = [specials + tokenizer.encode(t, add_special_tokens=False) for t in texts]
    starts = api_start_ids(tokenizer) if calls_disabled else []
    nll, counts = [0.0] * len(seqs), [0] * len(seqs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for s in range(0, len(seqs), batch_size):
            chunk = seqs[s:s + batch_size]
            width = max(len(x) for x in chunk)
            ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, x in enumerate(chunk):
                ids[r, :len(x)] = torch.tensor(x)
                mask[r, :len(x)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
            if starts:
                logits[..., starts] = float("-inf")
            logp = torch.log_softmax(logits[:, :-1], dim=-1).cpu()
            tok = logp.gather(-1, ids[:, 1:, None])[..., 0]
            for r, x in enumerate(chunk):
                nll[s + r] = -float(tok[r, :len(x) - 1].sum())
                counts[s + r] = len(x) - 1
    model.train(was_training)
    return math.exp(sum(nll) / max(1, sum(counts))), nll, counts
