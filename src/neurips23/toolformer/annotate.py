"""From C to C* (§2): sample calls, execute them, keep the useful ones, and write them into the
texts (x* = x_{<i}, e(c, r), x_{≥i}) for finetuning."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from neurips23.toolformer.calls import format_call, insert_call
from neurips23.toolformer.filtering import (
    FilterScores,
    LossRequest,
    Placement,
    tokenize_text,
    weighted_losses,
)
from neurips23.toolformer.sampling import CandidateCall, SamplingConfig, sample_api_calls
from neurips23.toolformer.tools import Document, Tool, execute_calls

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class FilterConfig:
    """How calls are filtered (defaults: the paper's τ_f = 1.0, 5-token window, z as prefix)."""

    tau_f: float = 1.0
    window: int = 5
    placement: Placement = "prefix"
    batch_size: int = 64


def execute_candidates(candidates: Sequence[CandidateCall], docs: Sequence[Document],
                       tools: Mapping[str, Tool], timeout: float = 10.0) -> None:
    """r = the tool's result for each call (None: no result); fills `candidate.result`."""
    results = execute_calls([c.call for c in candidates], [docs[c.doc] for c in candidates],
                            tools, timeout=timeout)
    for c, r in zip(candidates, results, strict=True):
        c.result = r


def score_candidates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                     candidates: Sequence[CandidateCall],
                     docs: Sequence[Document], cfg: FilterConfig) -> None:
    """L_i(ε), L_i(e(c, ε)) and L_i(e(c, r)) of every executed call, batched; fills `scores`."""
    texts = {c.doc: tokenize_text(tokenizer, docs[c.doc].text) for c in candidates}
    done = [c for c in candidates if c.result is not None]
    requests = []
    for c in done:
        x = texts[c.doc]
        requests += [LossRequest(x, c.position, "", cfg.placement),
                     LossRequest(x, c.position, format_call(c.call, ""), cfg.placement),
                     LossRequest(x, c.position, format_call(c.call, c.result), cfg.placement)]
    losses = weighted_losses(model, tokenizer, requests, cfg.window, cfg.batch_size)
    for j, c in enumerate(done):
        c.scores = FilterScores(*losses[3 * j:3 * j + 3])


@dataclass
class Annotation:
    """Every sampled call of one tool with its result, losses and the filter's decision."""

    tool: str
    candidates: list[CandidateCall]
    tau_f: float

    def kept(self, tau_f: float | None = None) -> list[CandidateCall]:
        """The calls with L⁻ − L⁺ ≥ τ_f (the config's τ_f by default)."""
        t = self.tau_f if tau_f is None else tau_f
        return [c for c in self.candidates if c.scores is not None and c.scores.keep(t)]


def annotate(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
             docs: Sequence[Document], tools: Mapping[str, Tool],
             sampling: Mapping[str, SamplingConfig], filtering: Mapping[str, FilterConfig],
             seed: int = 0, timeout: float = 10.0,
             log: Callable[[str], object] | None = None) -> dict[str, Annotation]:
    """Sample → execute → filter for each tool (§2, Fig. 2)."""
    out = {}
    for n, (name, tool) in enumerate(tools.items()):
        cands = sample_api_calls(model, tokenizer, docs, tool, sampling[name], seed=seed + 7919 * n)
        execute_candidates(cands, docs, tools, timeout)
        score_candidates(model, tokenizer, cands, docs, filtering[name])
        out[name] = Annotation(name, cands, filtering[name].tau_f)
        if log:
            executed = sum(c.result is not None for c in cands)
            log(f"{name}: {len(cands)} distinct calls sampled, {executed} executed, "
                f"{len(out[name].kept())} kept at tau_f={filtering[name].tau_f}")
    return out


def augmented_text(text: str, calls: Sequence[CandidateCall]) -> str:
    """x* with every call (and its result) inserted at its position."""
    for c in sorted(calls, key=lambda c: -c.offset):  # right to left keeps offsets valid
        text = insert_call(text, c.offset, format_call(c.call, c.result))
    return text


def augmented_corpus(docs: Sequence[Document], chosen: Sequence[CandidateCall],
                     texts: Literal["with-calls", "all"] = "with-calls") -> list[str]:
    """C* (§2, §4.1): the texts with at least one chosen call, each with its calls (and results)
    written in; `texts="all"` also keeps the texts without any, unchanged."""
    by_doc: dict[int, list[CandidateCall]] = {}
    for c in chosen:
        by_doc.setdefault(c.doc, []).append(c)
    return [augmented_text(d.text, by_doc.get(j, [])) for j, d in enumerate(docs)
            if texts == "all" or j in by_doc]


def annotated_texts(docs: Sequence[Document], chosen: Sequence[CandidateCall]) -> list[str]:
    """The texts of C* without their calls: what +C finetunes on, so that apart from the calls
    C* and C hold the same texts (§2)."""
    with_calls = {c.doc for c in chosen}
    return [d.text for j, d in enumerate(docs) if j in with_calls]


def choose_calls(annotations: Mapping[str, Annotation], how: Literal["filtered", "unfiltered"] =
                 "filtered", per_tool: int | None = None, seed: int = 0) -> list[CandidateCall]:
    """The calls written into C*: per text and tool, the kept calls ("filtered"; every one, or
    the `per_tool` with the largest L⁻ − L⁺), or calls drawn at random among all executed ones
    ("unfiltered", the ablation without the filter); at most one call per position (§2: "we
    proceed analogously for texts with multiple API calls")."""
    rng = random.Random(seed)
    chosen: list[CandidateCall] = []
    for ann in annotations.values():
        pool = ann.kept() if how == "filtered" else [c for c in ann.candidates if c.result]
        by_doc: dict[int, list[CandidateCall]] = {}
        for c in pool:
            by_doc.setdefault(c.doc, []).append(c)
        for d in sorted(by_doc):
            group = by_doc[d]
            if how == "filtered":
                group = sorted(group, key=lambda c: (-c.scores.usefulness, c.offset))
            else:
                rng.shuffle(group)
            chosen += group if per_tool is None else group[:per_tool]
    taken: dict[tuple[int, int], CandidateCall] = {}
    for c in chosen:  # two tools at one position: the first chosen wins
        taken.setdefault((c.doc, c.offset), c)
    return list(taken.values())


def paper_configs(tool_names: Sequence[str], *, tau_s: float | None = None, k: int | None = None,
                  m: int | None = None, tau_f: float | None = None, window: int = 5,
                  placement: Placement = "prefix", **sampling: object,
                  ) -> tuple[dict[str, SamplingConfig], dict[str, FilterConfig]]:
    """Per-tool sampling and filter settings: App. A's values unless given."""
    from neurips23.toolformer.sampling import PAPER_THRESHOLDS

    samp, filt = {}, {}
    for name in tool_names:
        paper = PAPER_THRESHOLDS.get(name, PAPER_THRESHOLDS["default"])
        samp[name] = SamplingConfig(
            tau_s=paper["tau_s"] if tau_s is None else tau_s,
            k=int(paper["k"]) if k is None else k, m=int(paper["m"]) if m is None else m,
            **sampling)
        filt[name] = FilterConfig(paper["tau_f"] if tau_f is None else tau_f, window, placement)
    return samp, filt
