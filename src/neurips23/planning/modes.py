"""The paper's three modes over any `LanguageModel` backend: autonomous (one-/zero-shot, no
partial credit), back-prompting with validator feedback (or the model as its own verifier),
and a no-feedback resampling control. Heuristic mode lives in `heuristic.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from neurips23.errors import DataError
from neurips23.pddl.parser import Problem
from neurips23.pddl.validate import PlanStep, validate_plan
from neurips23.planning import nl
from neurips23.planning.domains.registry import DomainSpec, Instance
from neurips23.planning.plan_text import Verbalizer, plan_section

STYLES = ("one_shot", "zero_shot", "pddl", "pddl_zero")
STOPS = ("[PLAN END]", "[STATEMENT]", "[FEEDBACK]", "[VERIFICATION]")


@dataclass
class Query:
    """One test problem, with the solved example shown in one-shot prompts."""

    problem: Problem
    example: Instance | None = None
    meta: dict = field(default_factory=dict)


def make_prompt(spec: DomainSpec, v: Verbalizer, q: Query, style: str = "one_shot",
                intro: bool = True) -> str:
    """PlanBench's prompt for `q` in one of STYLES."""
    if style == "one_shot":
        if q.example is None:
            raise DataError("one-shot prompts need an example instance")
        return nl.one_shot_prompt(v, q.example.problem, q.example.plan, q.problem, intro)
    if style == "zero_shot":
        return nl.zero_shot_prompt(v, q.problem, intro)
    if style == "pddl":
        if q.example is None:
            raise DataError("PDDL one-shot prompts need an example instance")
        return nl.pddl_prompt(spec.domain, q.problem, q.example.problem, q.example.plan)
    if style == "pddl_zero":
        return nl.pddl_prompt(spec.domain, q.problem)
    raise DataError(f"unknown prompt style '{style}' (choose from: {', '.join(STYLES)})")


def judge(spec: DomainSpec, v: Verbalizer, problem: Problem, text: str) -> dict:
    """Parse model text and validate it: plan, unparsed lines, verdict and feedback."""
    parsed = v.parse(text, problem, spec.domain)
    row: dict = {"plan": [str(s) for s in parsed.steps], "unparsed": parsed.unparsed,
                 "no_plan": parsed.no_plan}
    try:
        res = validate_plan(spec.domain, problem, parsed.steps, "<model output>")
    except DataError as e:  # an action the domain lacks, or the wrong arity
        row.update(valid=False, reason="bad action", feedback=(
            f"The above plan is invalid. {str(e).split(': ', 1)[-1]}"))
        return row
    step: PlanStep | None = None
    if res.failed_step is not None:
        step = parsed.steps[res.failed_step - 1]
    row.update(valid=res.valid, reason="no plan" if parsed.no_plan and not res.valid
               else res.reason, feedback=nl.feedback_message(v, res, step),
               failed_step=res.failed_step, unmet=[list(a) for a in
                                                   (res.unmet_preconditions or res.unmet_goals)])
    return row


def ask(lm, prompts: Sequence[str], chat: bool = False, **kw) -> list[list[str]]:
    """Send prompts as completions, or (chat) each as a one-message conversation."""
    if chat:
        return lm.chat([[{"role": "user", "content": p}] for p in prompts], **kw)
    return lm.generate(prompts, **kw)


def autonomous(lm, spec: DomainSpec, queries: Sequence[Query], style: str = "one_shot",
               intro: bool = True, max_tokens: int = 256, temperature: float = 0.0,
               seed: int | None = 0, chat: bool = False) -> list[dict]:
    """Autonomous mode: one plan per problem; success iff the validator says valid."""
    v = spec.verbalizer(intro)
    prompts = [make_prompt(spec, v, q, style, intro) for q in queries]
    outs = ask(lm, prompts, chat, n=1, temperature=temperature, max_tokens=max_tokens,
               stop=STOPS, seed=seed)
    rows = []
    for q, p, o in zip(queries, prompts, outs, strict=True):
        row = {"problem": q.problem.name, "mode": "autonomous", "style": style, **q.meta,
               "prompt": p, "raw_output": o[0]}
        row.update(judge(spec, v, q.problem, o[0]))
        rows.append(row)
    return rows


def _continue_text(transcript: str, output: str, feedback: str) -> str:
    """Text-completion form of a back-prompting round (chat history kept in the text)."""
    return transcript + output.rstrip() + "\n[PLAN END]\n\n[FEEDBACK]\n" + feedback + \
        "\n\n[PLAN]\n"


VERIFY_QUESTION = ("Verify whether the above plan is valid. If it is, say 'The above plan is "
                   "valid.' Otherwise say 'The above plan is invalid.' and give the first action "
                   "with an unmet precondition or the unmet goal conditions.")


def backprompt(lm, spec: DomainSpec, queries: Sequence[Query], rounds: int = 15,
               style: str = "one_shot", intro: bool = True, max_tokens: int = 256,
               verifier: str = "validator", chat: bool = False, history: int | None = None,
               temperature: float = 0.0, seed: int | None = 0) -> list[dict]:
    """Back-prompting (Sec. 4): after an invalid plan the model gets PlanBench's feedback for
    the first failing action or the unmet goals and tries again, up to `rounds` plans.
    verifier='self' lets the model judge its own plan (self-critique); the validator still
    gives the final verdict. `history` keeps only the last k rounds (None: all). With `chat`
    the conversation is kept as messages, the feedback (PlanBench's text) as the user turn."""
    v = spec.verbalizer(intro)
    base = [make_prompt(spec, v, q, style, intro) for q in queries]
    convs: list[list[dict]] = [[{"role": "user", "content": p}] for p in base]
    turns: list[list[tuple[str, str]]] = [[] for _ in queries]  # (output, feedback)
    rows = [{"problem": q.problem.name, "mode": "backprompt", "verifier": verifier,
             "style": style, **q.meta, "prompt": p, "rounds": [], "valid": False,
             "rounds_used": 0, "stopped": "max rounds"} for q, p in zip(queries, base,
                                                                       strict=True)]
    gen = {"n": 1, "temperature": temperature, "max_tokens": max_tokens, "stop": STOPS,
           "seed": seed}
    active = list(range(len(queries)))
    for r in range(rounds):
        if not active:
            break
        if chat:
            outs = lm.chat([convs[i] for i in active], **gen)
        else:
            outs = lm.generate([_transcript(base[i], turns[i], history) for i in active], **gen)
        texts = [o[0] for o in outs]
        critiques = (_self_critiques(lm, [base[i] for i in active], texts, chat,
                                     {**gen, "temperature": 0.0})
                     if verifier == "self" else [None] * len(active))
        still = []
        for i, text, crit in zip(active, texts, critiques, strict=True):
            feedback = _record_round(rows[i], r + 1, text, judge(spec, v, queries[i].problem,
                                                                 text), crit, verifier)
            if feedback is not None:
                turns[i].append((plan_section(text), feedback))
                convs[i] += [{"role": "assistant", "content": text},
                             {"role": "user", "content": feedback}]
                still.append(i)
        active = still
    for row in rows:
        row["success_at"] = {k: any(x["valid"] for x in row["rounds"][:k])
                             for k in (1, 3, 5, 10, 15) if k <= rounds}
        if verifier == "self":  # the run's outcome is the last plan the model stood by
            row["valid"] = bool(row["rounds"]) and row["rounds"][-1]["valid"]
    return rows


def _transcript(base: str, turns: list[tuple[str, str]], history: int | None) -> str:
    """The completion prompt of the next round: the query, then the kept (plan, feedback)s."""
    kept = turns if history is None else turns[-history:] if history > 0 else []
    for out, fb in kept:
        base = _continue_text(base, out, fb)
    return base


def _self_critiques(lm, bases: list[str], texts: list[str], chat: bool, gen: dict) -> list[str]:
    """Self-critique: the model asked whether its own plan is valid."""
    prompts = [b + plan_section(t).rstrip() + "\n[PLAN END]\n\n" + VERIFY_QUESTION +
               "\n\n[VERIFICATION]\n" for b, t in zip(bases, texts, strict=True)]
    return [c[0] for c in ask(lm, prompts, chat, **gen)]


def _record_round(row: dict, k: int, text: str, verdict: dict, critique: str | None,
                  verifier: str) -> str | None:
    """Log round k into `row`; the feedback for the next round, or None when it stops."""
    rec = {"round": k, "raw_output": text, **verdict}
    feedback = verdict["feedback"]
    says_valid = None
    if critique is not None:
        low = critique.lower()
        says_valid = "plan is valid" in low and "invalid" not in low
        rec.update(self_critique=critique, self_says_valid=says_valid)
        feedback = critique.strip() or "The above plan is invalid."
    row["rounds"].append(rec)
    row["rounds_used"] = k
    if (verdict["valid"] if verifier == "validator" else says_valid):
        row["valid"] = verdict["valid"]
        row["stopped"] = "validator: valid" if verifier == "validator" else "model says valid"
        return None
    if verdict.get("no_plan") and verifier == "validator":
        row["stopped"] = "no plan extracted"  # PlanBench stops here too
        return None
    return feedback


def resample(lm, spec: DomainSpec, queries: Sequence[Query], samples: int = 15,
             temperature: float = 0.7, style: str = "one_shot", intro: bool = True,
             max_tokens: int = 256, seed: int | None = 0, chat: bool = False) -> list[dict]:
    """No-feedback control: `samples` independent plans per problem; success@k = one of the
    first k is valid (an oracle picks the first valid one)."""
    v = spec.verbalizer(intro)
    prompts = [make_prompt(spec, v, q, style, intro) for q in queries]
    outs = ask(lm, prompts, chat, n=samples, temperature=temperature, max_tokens=max_tokens,
               stop=STOPS, seed=seed)
    rows = []
    for q, p, o in zip(queries, prompts, outs, strict=True):
        valid = [judge(spec, v, q.problem, t)["valid"] for t in o]
        first = next((k + 1 for k, x in enumerate(valid) if x), None)
        rows.append({"problem": q.problem.name, "mode": "resample", **q.meta, "prompt": p,
                     "raw_outputs": list(o), "sample_valid": valid,
                     "samples": samples, "first_valid": first,
                     "success_at": {k: first is not None and first <= k
                                    for k in (1, 3, 5, 10, 15) if k <= samples}})
    return rows
