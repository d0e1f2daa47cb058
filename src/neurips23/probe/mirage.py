"""Emergence-mirage probe (Schaeffer et al.): where exact match is at 0, is a continuous metric
of the same answers above chance?

Measurement: the emergence package's arithmetic task (`emergence.arithmetic`, the paper's
2-digit multiplication, written most-significant digit first for a pretrained model) and its
metrics (`exact_match`, `per_token_accuracy` over digits). Chance is the model's own answers
scored against the other problems' answers, so a model that always writes the same digits sits
at chance however those digits fall. Greedy generation: any backend applies; the answers'
teacher-forced per-token cross-entropy (the paper's smooth metric, reported beside the claim)
needs log-probs and is marked "not measured" on an endpoint that returns none.
"""

from __future__ import annotations

from collections.abc import Callable

from neurips23.core.claims import measured_claim
from neurips23.core.stats import bootstrap_ci, wilson_interval
from neurips23.probe.base import ProbeResult, measured, needs_completions
from neurips23.probe.config import MirageBudget

NAME = "mirage"
VERSION = "2"
FINDING = ("Emergent abilities can be a metric artefact: where exact match stays at 0, a "
           "continuous metric of the same outputs (per-digit accuracy) already improves "
           "(Are Emergent Abilities a Mirage?, §3)")


def problems(b: MirageBudget) -> tuple[list[str], list[str]]:
    """(prompts, answers): `shots` worked examples, then the problem; answers zero-padded."""
    from neurips23.emergence.arithmetic import get_task, split_problems

    task = get_task(b.task)
    shots, test = split_problems(task, b.shots, b.problems, seed=b.seed)
    head = "".join(f"{task.prompt(a, c, reverse=False)}{task.answer(a, c, reverse=False)}\n"
                   for a, c in shots)
    return ([head + task.prompt(a, c, reverse=False) for a, c in test],
            [task.answer(a, c, reverse=False) for a, c in test])


def answer_digits(text: str, width: int) -> str:
    """The first line's digits, cut to the answer's width (what per-digit accuracy scores)."""
    line = text.strip().split("\n")[0] if text.strip() else ""
    return "".join(ch for ch in line if ch.isdigit())[:width]


def applies(subject) -> str | None:
    """Greedy completions only: every backend applies."""
    return needs_completions(subject)


def measure(subject, b: MirageBudget, log: Callable[[str], None]) -> dict:
    """The model's greedy answer digits and the targets."""
    prompts, answers = problems(b)
    width = len(answers[0])
    log(f"mirage: {len(prompts)} {b.task} problems")
    outs = subject.lm.generate(prompts, max_tokens=width + 4, temperature=0.0, stop=["\n"])
    preds = [answer_digits(o[0], width) for o in outs]
    data = {"predictions": preds, "answers": answers}
    if subject.logprobs:  # the paper's smooth metric, teacher-forced: needs log-probs
        data["answer_logprobs"] = [s.token_logprobs for s in subject.lm.score(prompts, answers)]
    return data


def chance_gain(preds: list[str], answers: list[str]) -> list[float]:
    """Per problem: per-digit accuracy against its own answer minus the mean against every
    other problem's answer (what the same output scores by chance)."""
    from neurips23.emergence.metrics import per_token_accuracy

    out = []
    for i, p in enumerate(preds):
        own = per_token_accuracy(p, answers[i])
        others = [per_token_accuracy(p, a) for j, a in enumerate(answers) if j != i]
        out.append(own - sum(others) / len(others) if others else 0.0)
    return out


def decide(data: dict, b: MirageBudget) -> ProbeResult:
    """Exact match (Wilson) as the precondition; the per-digit gain over chance (bootstrap)."""
    from neurips23.emergence.metrics import (
        exact_match,
        per_token_accuracy,
        per_token_cross_entropy,
    )

    preds, answers = data["predictions"], data["answers"]
    n = len(preds)
    em = [exact_match(p, a) for p, a in zip(preds, answers, strict=True)]
    em_rate = sum(em) / max(1, n)
    em_lo, em_hi = wilson_interval(int(sum(em)), n) if n else (float("nan"),) * 2
    digits = [per_token_accuracy(p, a) for p, a in zip(preds, answers, strict=True)]
    gain = chance_gain(preds, answers)
    est, lo, hi = bootstrap_ci(gain, lambda xs: sum(xs) / len(xs), seed=b.seed,
                               confidence=b.above_chance.confidence)
    claim = measured_claim(
        FINDING, "per-digit accuracy - chance (per problem)", est, (lo, hi), b.above_chance, n=n,
        preconditions=[(f"exact match is near 0 ({em_rate:.0%} [{em_lo:.2f}, {em_hi:.2f}], at most "
                        f"{b.em_ceiling:.0%}): the regime the paper is about", em_rate <= b.em_ceiling),
                       ("the model wrote answer digits", any(preds))])
    metrics = {"exact_match": em_rate, "exact_match_ci": [em_lo, em_hi],
               "per_digit_accuracy": sum(digits) / max(1, n), "gain_over_chance": est, "n": n,
               "answer_cross_entropy": "not measured: the endpoint returns no log-probs"}
    if data.get("answer_logprobs"):
        ce = [per_token_cross_entropy(lp) for lp in data["answer_logprobs"] if lp]
        metrics["answer_cross_entropy"] = sum(ce) / len(ce) if ce else float("nan")
    rows = [{"answer": a, "model": p, "exact": bool(e), "per-digit": round(d, 3)}
            for p, a, e, d in zip(preds, answers, em, digits, strict=True)]
    return measured(NAME, FINDING, [claim], metrics, rows)


def run(subject, b: MirageBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)


