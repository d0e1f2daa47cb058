"""The annotation and filtering stages on a real pretrained model, with the paper's few-shot
prompts P(x) and no seeding: how many useful calls does it propose, and how many survive?

The texts are the reproduction's synthetic arithmetic and weekday texts, so every proposed
call can be judged (its result is, or is not, what the text says next).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from neurips23.toolformer import synthetic as S
from neurips23.toolformer.annotate import FilterConfig, annotate
from neurips23.toolformer.config import PretrainedStageConfig
from neurips23.toolformer.sampling import PAPER_THRESHOLDS
from neurips23.toolformer.tools import Document, make_tools


def stage_texts(n: int, seed: int) -> dict[str, list[Document]]:
    """n arithmetic texts (for the calculator) and n weekday texts (for the calendar)."""
    rng = random.Random(60_000 + seed)
    items = [S.arithmetic_item(rng) for _ in range(n)]
    arithmetic = [Document(it.text, S.random_date(rng), {"answer": str(it.answer),
                                                         "expression": f"{it.a}{it.op}{it.b}"})
                  for it in items]
    weekday = [S.calendar_doc(rng) for _ in range(n)]
    return {"Calculator": arithmetic, "Calendar": weekday}


def _answer_offset(doc: Document, tool: str) -> int:
    text = doc.text
    for k in range(len(text)):
        if S.call_helps(text, k, tool, _truth(doc, tool)) and (k == 0 or text[k - 1] == " "):
            return k
    return -1


def _truth(doc: Document, tool: str) -> str:
    """The result a helpful call returns: the stated total, or the calendar's sentence."""
    from neurips23.toolformer.tools import calendar

    return calendar(doc.date) if tool == "Calendar" else doc.meta["answer"]


def planted_gold_calls(model, tok, docs: list[Document], name: str, tools: dict,
                       tau_f: float) -> dict[str, int]:
    """The positive control: the right call planted at each text's answer, passed through the
    same execute and filter stages; how many of them are kept (a broken stage keeps none)."""
    from neurips23.toolformer.annotate import execute_candidates, score_candidates
    from neurips23.toolformer.calls import APICall
    from neurips23.toolformer.filtering import tokenize_text
    from neurips23.toolformer.sampling import CandidateCall

    planted = []
    for j, doc in enumerate(docs):
        offset = _answer_offset(doc, name)
        x = tokenize_text(tok, doc.text)
        pos = next((p for p in (x.token_index(offset), x.token_index(offset - 1))
                    if p is not None), None) if offset >= 0 else None
        if pos is None:
            continue
        args = doc.meta.get("expression", "") if name == "Calculator" else ""
        planted.append(CandidateCall(j, pos, x.starts[pos], float("nan"), APICall(name, args)))
    execute_candidates(planted, docs, {name: tools[name]})
    score_candidates(model, tok, planted, docs, FilterConfig(tau_f))
    kept = [c for c in planted if c.scores is not None and c.scores.keep(tau_f)]
    return {"planted": len(planted), "planted_kept": len(kept)}


def annotate_with_pretrained(cfg: PretrainedStageConfig, seed: int = 0,
                             log: Callable[[str], Any] | None = None) -> dict:
    """Sample → execute → filter with `cfg.model` on the stage texts; counts and examples."""
    from neurips23.lm.models import load_model

    model, tok = load_model(cfg.model)
    texts = stage_texts(cfg.n_texts, seed)
    tools = make_tools(["calculator", "calendar"])
    sampling = {"Calculator": cfg.calculator, "Calendar": cfg.calendar}
    out: dict[str, Any] = {"model": cfg.model, "tools": {}, "samples": []}
    for name, docs in texts.items():
        tau_f = PAPER_THRESHOLDS.get(name, PAPER_THRESHOLDS["default"])["tau_f"]
        ann = annotate(model, tok, docs, {name: tools[name]}, {name: sampling[name]},
                       {name: FilterConfig(tau_f)}, seed=seed, log=log)[name]
        rows = []
        for c in ann.candidates:
            helps = S.call_helps(docs[c.doc].text, c.offset, name, c.result)
            kept = c.scores is not None and c.scores.keep(tau_f)
            rows.append((c, helps, kept))
            out["samples"].append({
                "stage": cfg.model, "tool": name, "text": docs[c.doc].text, "offset": c.offset,
                "p_api": round(c.p_api, 4), "call": f"{c.call.tool}({c.call.args})",
                "result": c.result, "helps": helps, "kept": kept,
                "usefulness": None if c.scores is None else round(c.scores.usefulness, 3)})
        at_answer = {c.doc for c, _h, _k in rows
                     if abs(c.offset - _answer_offset(docs[c.doc], name)) <= 1}
        out["tools"][name] = {
            "texts": len(docs), "tau_f": tau_f, "sampled": len(rows),
            "executed": sum(c.result is not None for c, _h, _k in rows),
            "helpful": sum(h for _c, h, _k in rows), "kept": sum(k for _c, _h, k in rows),
            "kept_helpful": sum(h and k for _c, h, k in rows),
            "texts_with_call_at_answer": len(at_answer),
            "texts_with_kept_helpful_call": len({c.doc for c, h, k in rows if h and k}),
            **planted_gold_calls(model, tok, docs, name, tools, tau_f)}
    for key in ("texts", "sampled", "executed", "helpful", "kept", "kept_helpful",
                "texts_with_kept_helpful_call", "planted", "planted_kept"):
        out[key] = sum(t[key] for t in out["tools"].values())
    return out
