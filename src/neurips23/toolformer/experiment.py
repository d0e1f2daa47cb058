"""One seed of the reproduction: pretrain a tiny model on synthetic text (plus seeded calls),
annotate fresh text with it (sample → execute → filter), finetune the arms, evaluate them.

Every trained model is a model-cache entry named by everything that decides it, so a rerun
(or a run killed half-way) reuses what was already trained.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurips23.lm.train import TrainConfig
from neurips23.toolformer import synthetic as S
from neurips23.toolformer.annotate import (
    Annotation,
    FilterConfig,
    annotate,
    annotated_texts,
    augmented_corpus,
    choose_calls,
    score_candidates,
)
from neurips23.toolformer.config import ToolformerConfig
from neurips23.toolformer.tools import Document

VERSION = 1
ARMS = ("base", "plus_c", "toolformer_disabled", "toolformer", "unfiltered", "seeds_only")
"""base: pretrained only; plus_c: finetuned on C (no calls); toolformer(_disabled): finetuned on
C* and decoded with calls (disabled: p("[") = 0); unfiltered: finetuned on C* built from all
executed calls; seeds_only: finetuned on C plus the seed texts (no self-annotation)."""
TOOLS = ("Calculator", "Calendar")


def pretrained_model(cfg: ToolformerConfig, seed: int) -> Any:
    """The cache dir of the seed's base model: synthetic C plus the seeded calls."""
    from neurips23.lm.data import Example
    from neurips23.lm.tiny import cached_tiny_lm

    train = _with_seed(cfg.pretrain, seed)

    def data():
        texts = [d.text for d in S.corpus(cfg.n_pretrain, seed)]
        texts += S.seed_docs(cfg.seed_calls, 10_000 + seed, cfg.seed_prefix_fraction)
        return S.build_tokenizer(), [Example("", t) for t in texts]

    key = {"kind": "toolformer-base", "version": VERSION, "n_pretrain": cfg.n_pretrain,
           "seed_calls": cfg.seed_calls, "seed_prefix_fraction": cfg.seed_prefix_fraction,
           "data_seed": seed}
    return cached_tiny_lm(key, data, cfg.size, train, max_position_embeddings=256,
                          progress=False)


def _with_seed(train, seed: int):
    import dataclasses

    return dataclasses.replace(train, seed=seed)


def finetuned_model(base_path: str | Path, texts: Sequence[str], train: TrainConfig,
                    arm: str) -> Path:
    """The cache dir of `base_path` finetuned on `texts` (trained once per distinct corpus); with
    no texts (a filter that kept nothing), the base model itself."""
    from neurips23.config import config_to_dict
    from neurips23.lm.cache import get_or_train
    from neurips23.lm.models import load_model, save_model
    from neurips23.toolformer.finetune import finetune

    if not texts:
        return Path(base_path)
    digest = hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest()[:16]
    spec = {"kind": "toolformer-finetuned", "version": VERSION, "arm": arm, "base": Path(base_path).name,
            "texts": digest, "train": config_to_dict(train)}

    def build(tmp):
        model, tok = load_model(base_path)
        finetune(model, tok, texts, train)
        save_model(model, tok, tmp)

    return get_or_train(spec, build)


def annotation_metrics(ann: dict[str, Annotation], docs: Sequence[Document], tau_sweep: Sequence[float]) -> dict:
    """Per tool and pooled: calls sampled / executed / helpful, kept precision, AUROC of L⁻ − L⁺."""
    from neurips23.core.stats import auroc

    out: dict[str, Any] = {"tools": {}}
    pooled_scores, pooled_helps, pooled_kept = [], [], []
    for name, a in ann.items():
        scored = [c for c in a.candidates if c.scores is not None]
        helps = [S.call_helps(docs[c.doc].text, c.offset, name, c.result) for c in scored]
        use = [c.scores.usefulness for c in scored]
        kept = [h for h, c in zip(helps, scored, strict=True) if c.scores.keep(a.tau_f)]
        out["tools"][name] = {
            "sampled": len(a.candidates), "executed": len(scored), "helpful": sum(helps),
            "kept": len(kept), "kept_helpful": sum(kept), "tau_f": a.tau_f,
            "precision_kept": sum(kept) / len(kept) if kept else float("nan"),
            "precision_all": sum(helps) / len(helps) if helps else float("nan"),
            "auroc": auroc(use, helps),
            "kept_by_tau": {str(t): sum(u >= t for u in use) for t in tau_sweep}}
        pooled_scores += use
        pooled_helps += helps
        pooled_kept += kept
    out["auroc"] = auroc(pooled_scores, pooled_helps)
    out["n_helpful"] = sum(pooled_helps)
    out["n_unhelpful"] = len(pooled_helps) - sum(pooled_helps)
    out["kept"] = len(pooled_kept)
    out["precision_kept"] = sum(pooled_kept) / len(pooled_kept) if pooled_kept else float("nan")
    out["precision_all"] = (sum(pooled_helps) / len(pooled_helps) if pooled_helps
                            else float("nan"))
    return out


def evaluate_arm(path: str | Path, cfg: ToolformerConfig, seed: int, mode: str = "enabled") -> dict:
    """Held-out arithmetic and weekday accuracy (first number / word predicted), call rates."""
    from neurips23.lm.models import load_model
    from neurips23.toolformer.inference import InferenceConfig, generate_with_tools
    from neurips23.toolformer.tools import make_tools

    model, tok = load_model(path)
    tools = make_tools(["calculator", "calendar"])
    inf = cfg.inference
    qs = S.arithmetic_questions(cfg.n_arithmetic_test, 20_000 + seed)
    outs = generate_with_tools(model, tok, [q.text for q in qs], tools, InferenceConfig(
        mode=mode, top_k=inf.top_k, max_calls=inf.max_calls, max_new_tokens=inf.max_new_tokens,
        stop=(".",)), [Document(q.text) for q in qs])
    arith = [S.first_number(o.visible) == str(q.answer) for o, q in zip(outs, qs, strict=True)]
    wq = S.weekday_questions(cfg.n_weekday_test, 30_000 + seed)
    wouts = generate_with_tools(model, tok, [d.text for d in wq], tools, InferenceConfig(
        mode=mode, top_k=inf.top_k, max_calls=inf.max_calls,
        max_new_tokens=inf.max_new_tokens + 16, stop=(".", ",")), wq)
    week = [S.first_word(o.visible) == S.WEEKDAYS[d.date.weekday()]
            for o, d in zip(wouts, wq, strict=True)]
    samples = [{"question": q.text, "answer": q.answer, "output": o.text, "correct": c}
               for q, o, c in list(zip(qs, outs, arith, strict=True))[:3]]
    samples += [{"question": d.text, "answer": S.WEEKDAYS[d.date.weekday()], "output": o.text,
                 "correct": c} for d, o, c in list(zip(wq, wouts, week, strict=True))[:2]]
    return {"arithmetic": sum(arith) / len(arith), "weekday": sum(week) / len(week),
            "arithmetic_calls": sum(bool(o.calls) for o in outs) / len(outs),
            "weekday_calls": sum(bool(o.calls) for o in wouts) / len(wouts),
            "samples": samples}


def plain_perplexity(path: str | Path, cfg: ToolformerConfig, seed: int) -> float:
    """Per-token perplexity on held-out filler text with calls disabled (p("[") = 0)."""
    from neurips23.lm.models import load_model
    from neurips23.toolformer.inference import perplexity

    model, tok = load_model(path)
    texts = [S.filler_doc(r).text for r in _rngs(cfg.n_filler_test, 40_000 + seed)]
    return perplexity(model, tok, texts, calls_disabled=True)[0]


def _rngs(n: int, seed: int):
    import random

    rng = random.Random(seed)
    return [random.Random(rng.getrandbits(32)) for _ in range(n)]


def run_seed(cfg: ToolformerConfig, seed: int) -> dict:
    """Everything one seed contributes: annotation metrics, accuracies per arm, perplexities."""
    from neurips23.lm.models import load_model
    from neurips23.toolformer.tools import make_tools

    base = pretrained_model(cfg, seed)
    model, tok = load_model(base)
    docs = S.corpus(cfg.n_annotate, 50_000 + seed)
    tools = make_tools(["calculator", "calendar"])
    sampling = {"Calculator": cfg.calculator, "Calendar": cfg.calendar}
    filters = {"Calculator": FilterConfig(cfg.calculator_tau_f, cfg.window, cfg.placement),
               "Calendar": FilterConfig(cfg.calendar_tau_f, cfg.window, cfg.placement)}
    ann = annotate(model, tok, docs, tools, sampling, filters, seed=seed)
    metrics = annotation_metrics(ann, docs, cfg.tau_f_sweep)
    other = "inline" if cfg.placement == "prefix" else "prefix"
    kept_scores = {name: [c.scores for c in a.candidates] for name, a in ann.items()}
    for name, a in ann.items():  # the same calls scored with z at the other placement
        score_candidates(model, tok, a.candidates, docs, FilterConfig(
            filters[name].tau_f, cfg.window, other))
    metrics[f"{other}_placement"] = annotation_metrics(ann, docs, cfg.tau_f_sweep)
    for name, a in ann.items():  # C* is built from the configured placement's scores
        for c, s in zip(a.candidates, kept_scores[name], strict=True):
            c.scores = s
    plain = [d.text for d in docs]
    kept = choose_calls(ann, "filtered")
    metrics["c_star_helpful"] = sum(S.call_helps(docs[c.doc].text, c.offset, c.call.tool, c.result)
                                    for c in kept)
    corpora = {  # C* holds the texts with kept calls; +C the same texts without them (§2, §4.1)
        "plus_c": annotated_texts(docs, kept),
        "toolformer": augmented_corpus(docs, kept),
        "unfiltered": augmented_corpus(docs, choose_calls(ann, "unfiltered", seed=seed)),
        "seeds_only": plain + S.seed_docs(cfg.seed_calls, 10_000 + seed, cfg.seed_prefix_fraction),
    }
    train = _with_seed(cfg.finetune, seed)
    paths = {"base": base} | {arm: finetuned_model(base, texts, train, arm)
                              for arm, texts in corpora.items()}
    paths["toolformer_disabled"] = paths["toolformer"]
    evals = {arm: evaluate_arm(paths[arm], cfg, seed, "disabled" if arm.endswith("disabled")
                               else "enabled") for arm in ARMS}
    ppl = {arm: plain_perplexity(paths[arm], cfg, seed) for arm in ("base", "plus_c", "toolformer")}
    examples = [{"arm": "toolformer C*", "text": t} for t in corpora["toolformer"] if "[" in t][:5]
    return {"seed": seed, "annotation": metrics,
            "accuracy": {arm: e["arithmetic"] for arm, e in evals.items()},
            "weekday": {arm: e["weekday"] for arm, e in evals.items()},
            "call_rate": {arm: e["arithmetic_calls"] for arm, e in evals.items()},
            "weekday_call_rate": {arm: e["weekday_calls"] for arm, e in evals.items()},
            "perplexity": ppl,
            "augmented_texts": len(corpora["toolformer"]),
            "cstar_calls": len(kept),
            "samples": examples + [{"arm": arm, **s} for arm, e in evals.items()
                                   for s in e["samples"]]}
