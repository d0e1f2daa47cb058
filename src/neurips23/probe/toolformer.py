"""Toolformer probe (Schick et al.): can this model use a calculator call when the prompt shows
it how, and does the call make its answers right?

Measurement: arithmetic questions answered twice, greedily: with worked examples that call the
toolformer package's calculator in the paper's syntax ("[Calculator(123 * 45)->5535] 5535") and
with the same examples without calls. When the model writes "[Calculator(...)" generation stops
at "->", the toolformer package parses the call (`calls.parse_call`) and runs its calculator
(`tools.calculator`), the result and "]" are inserted, and generation continues, as in the
paper's inference (§2), with the call written by the model rather than triggered by the top-k
"[" rule. On open weights the paper's decoding itself (`toolformer.inference.generate_with_tools`,
top-10 "[" trigger) runs too and is reported beside the claim; an endpoint has no logits, and
the card says "not measured" there. Text completions only for the claim: any backend applies.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from neurips23.core.claims import measured_claim
from neurips23.core.stats import bootstrap_ci, wilson_interval
from neurips23.probe.base import ProbeResult, measured, needs_completions
from neurips23.probe.config import ToolformerBudget

NAME = "toolformer"
VERSION = "3"
FINDING = ("A language model can use a calculator through API calls in its text, and the calls "
           "make its arithmetic right (Toolformer, §4.2, Table 4)")
_NUMBER = re.compile(r"-?\d+")
_SHOTS = ((123, 45), (407, 18), (256, 73))


def _question(a: int, c: int) -> str:
    return f"Q: What is {a} * {c}?\nA:"


def prompts(b: ToolformerBudget) -> tuple[list[tuple[int, int]], str, str]:
    """(problems, the with-tool prefix, the without-tool prefix)."""
    from neurips23.toolformer.calls import APICall, format_call
    from neurips23.toolformer.tools import calculator

    rng = random.Random(b.seed)
    probs = [(rng.randint(100, 999), rng.randint(11, 99)) for _ in range(b.problems)]
    with_tool = "".join(f"{_question(a, c)} {format_call(APICall('Calculator', f'{a} * {c}'), calculator(f'{a} * {c}'))} {a * c}\n"  # noqa: E501
                        for a, c in _SHOTS)
    without = "".join(f"{_question(a, c)} {a * c}\n" for a, c in _SHOTS)
    return probs, with_tool, without


def first_number(text: str) -> int | None:
    """The first integer in `text` (the answer), None if there is none."""
    m = _NUMBER.search(text)
    return int(m.group()) if m else None


def answer_with_calls(lm, texts: list[str], max_tokens: int) -> list[dict]:
    """Greedy answers that may call the calculator once: stop at "->", run the call, insert
    "->result]", continue to the end of the line."""
    from neurips23.toolformer.calls import API_END, API_START, RESULT_SEP, parse_call
    from neurips23.toolformer.tools import calculator

    first = [o[0] for o in lm.generate(texts, max_tokens=max_tokens, temperature=0.0,
                                       stop=[RESULT_SEP, "\n"])]
    rows, again, idx = [], [], []
    for i, out in enumerate(first):
        start = out.rfind(API_START)
        call = parse_call(out[start:]) if start >= 0 else None
        ok = call is not None and call.tool == "Calculator"
        rows.append({"call": f"{call.tool}({call.args})" if call else "", "called": ok,
                     "text": out, "answer_text": out[:start] if start >= 0 else out})
        if ok:
            result = calculator(call.args)
            rows[i]["result"] = result
            rows[i]["text"] = out + RESULT_SEP + result + API_END
            again.append(texts[i] + rows[i]["text"])
            idx.append(i)
    if again:
        for i, o in zip(idx, lm.generate(again, max_tokens=max_tokens, temperature=0.0,
                                         stop=["\n"]), strict=True):
            rows[i]["text"] += o[0]
            rows[i]["answer_text"] = rows[i]["text"].split(API_END, 1)[1]
    return rows


def paper_decoding(subject, texts: list[str], b: ToolformerBudget, truth: list[int]) -> dict:
    """On open weights, the paper's own decoding as well (`toolformer.inference.
    generate_with_tools`: a call opens whenever "[" is among the top-10 tokens): per problem,
    correct and whether it called. Reported beside the claim; an endpoint has no logits."""
    if not subject.has_weights:
        return {}
    from neurips23.toolformer.inference import InferenceConfig, generate_with_tools
    from neurips23.toolformer.tools import calculator_tool

    outs = generate_with_tools(subject.model, subject.tokenizer, texts,
                               {"Calculator": calculator_tool()},
                               InferenceConfig(max_new_tokens=b.max_tokens, stop=("\n",)))
    return {"paper_correct": [first_number(o.visible) == t for o, t in zip(outs, truth,
                                                                           strict=True)],
            "paper_called": [any(c is not None for c, _ in o.calls) for o in outs]}


def applies(subject) -> str | None:
    """Greedy completions only: every backend applies."""
    return needs_completions(subject)


def measure(subject, b: ToolformerBudget, log: Callable[[str], None]) -> dict:
    """Per problem: correct with the tool, correct without, whether a well-formed call was made."""
    probs, with_tool, without = prompts(b)
    log(f"toolformer: {len(probs)} problems with and without the calculator")
    tool_rows = answer_with_calls(subject.lm, [with_tool + _question(a, c) for a, c in probs],
                                  b.max_tokens)
    plain = [o[0] for o in subject.lm.generate([without + _question(a, c) for a, c in probs],
                                               max_tokens=b.max_tokens, temperature=0.0,
                                               stop=["\n"])]
    truth = [a * c for a, c in probs]
    paper = paper_decoding(subject, [with_tool + _question(a, c) for a, c in probs], b, truth)
    return {**paper,
            "with_tool": [first_number(r["answer_text"]) == t for r, t in zip(tool_rows, truth,
                                                                               strict=True)],
            "without": [first_number(p) == t for p, t in zip(plain, truth, strict=True)],
            "called": [r["called"] for r in tool_rows],
            "rows": [{"problem": f"{a} * {c}", "call": r["call"], "with tool": r["text"][:80],
                      "without": p[:40]} for (a, c), r, p in zip(probs, tool_rows, plain,
                                                                 strict=True)]}


def decide(data: dict, b: ToolformerBudget) -> ProbeResult:
    """Per problem accuracy with the tool minus without (bootstrap); the call rate as a
    precondition and a reported figure (Wilson)."""
    w, wo, called = data["with_tool"], data["without"], data["called"]
    n = len(w)
    d = [float(x) - float(y) for x, y in zip(w, wo, strict=True)]
    est, lo, hi = bootstrap_ci(d, lambda xs: sum(xs) / len(xs), seed=b.seed,
                               confidence=b.tool_helps.confidence)
    calls = sum(called)
    clo, chi = wilson_interval(calls, n) if n else (float("nan"),) * 2
    claim = measured_claim(FINDING, "accuracy with the calculator - without (per problem)", est,
                           (lo, hi), b.tool_helps, n=n, preconditions=[
                               (f"the model wrote a well-formed calculator call ({calls}/{n})",
                                calls > 0)])
    metrics = {"call_rate": calls / max(1, n), "call_rate_ci": [clo, chi],
               "accuracy_with_tool": sum(w) / max(1, n), "accuracy_without": sum(wo) / max(1, n),
               "n": n, "paper_decoding": "not measured: the top-k '[' trigger needs the model's "
                                         "logits (open weights)"}
    if "paper_correct" in data:
        metrics["paper_decoding"] = {
            "accuracy": sum(data["paper_correct"]) / max(1, n),
            "call_rate": sum(data["paper_called"]) / max(1, n)}
    return measured(NAME, FINDING, [claim], metrics, data.get("rows", []))


def run(subject, b: ToolformerBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)
