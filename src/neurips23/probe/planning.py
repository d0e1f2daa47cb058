"""Planning probe (PlanBench, Valmeekam et al.): does this model plan Blocksworld problems
poorly, and does its success collapse when the names are obfuscated?

Measurement: the planning package's one-shot prompts, parser and validator
(`planning.experiment.autonomous_experiment`) on generated problems, then the same problems in
the Mystery vocabulary (`obfuscated_queries`). Only completions are needed: any backend applies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from neurips23.core.claims import measured_claim
from neurips23.core.stats import bootstrap_ci, wilson_interval
from neurips23.probe.base import ProbeResult, measured, needs_completions
from neurips23.probe.config import PlanningBudget

NAME = "planning"
VERSION = "2"
FINDING = ("LLMs plan poorly on their own: GPT-4's one-shot Blocksworld plans are 34% valid, "
           "and 3% once actions and predicates are renamed (PlanBench, Table 1 and §3)")


def applies(subject) -> str | None:
    """Every backend that completes text can plan."""
    return needs_completions(subject)


def measure(subject, b: PlanningBudget, log: Callable[[str], None]) -> dict:
    """Per problem: valid Blocksworld plan, whether any action was read, and the same for each
    obfuscated vocabulary."""
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.experiment import autonomous_experiment, obfuscated_queries
    from neurips23.planning.modes import Query

    insts = generate_instances("blocksworld", b.problems + 1, seed=b.seed, blocks=tuple(b.blocks))
    queries = [Query(inst.problem, insts[k], {"domain": "blocksworld", **inst.meta})
               for k, inst in enumerate(insts[1:])]  # PlanBench: the previous one is the example
    log(f"planning: {len(queries)} Blocksworld problems, one-shot")
    _, rows = autonomous_experiment(subject.lm, get_domain("blocksworld"), queries,
                                    max_tokens=b.max_tokens)
    out = {"blocksworld": [bool(r["valid"]) for r in rows],
           "formatted": [bool(r["plan"]) for r in rows], "obfuscated": {},
           "rows": [{"vocabulary": "blocksworld", "problem": r["problem"], "valid": r["valid"],
                     "actions read": len(r["plan"]), "output": r["raw_output"][:200]} for r in rows]}
    for name in b.vocabularies:
        log(f"planning: the same problems in {name}")
        _, orows = autonomous_experiment(subject.lm, get_domain(name),
                                         obfuscated_queries(name, queries), max_tokens=b.max_tokens)
        out["obfuscated"][name] = [bool(r["valid"]) for r in orows]
        out["rows"] += [{"vocabulary": name, "problem": r["problem"], "valid": r["valid"],
                         "actions read": len(r["plan"]), "output": r["raw_output"][:200]}
                        for r in orows]
    return out


def decide(data: dict, b: PlanningBudget) -> ProbeResult:
    """Claims from per-problem results: success below one half (Wilson), and the paired collapse
    under obfuscation (bootstrap)."""
    bw: Sequence[bool] = data["blocksworld"]
    n = len(bw)
    fmt = sum(data["formatted"]) / n if n else 0.0
    formatted = (f"the model writes plans in the asked format ({fmt:.0%} of outputs have an "
                 f"action we read, need {b.min_format:.0%})", fmt >= b.min_format)
    lo, hi = wilson_interval(sum(bw), n, b.plans_poorly.confidence) if n else (float("nan"),) * 2
    claims = [measured_claim(FINDING, "valid one-shot Blocksworld plans", sum(bw) / max(1, n),
                             (lo, hi), b.plans_poorly, n=n, preconditions=[formatted])]
    solves = (f"the model solves some Blocksworld problems ({sum(bw)}/{n}): there is success "
              "to collapse", sum(bw) > 0)
    for name, obf in data["obfuscated"].items():
        d = [o - b.retained * x for o, x in zip(obf, bw, strict=True)]
        est, dlo, dhi = bootstrap_ci(d, lambda xs: sum(xs) / len(xs), seed=b.seed,
                                     confidence=b.collapse.confidence)
        claims.append(measured_claim(
            FINDING, f"{name} success - {b.retained:g} x Blocksworld success (paired)", est,
            (dlo, dhi), b.collapse, n=len(d), preconditions=[formatted, solves]))
    metrics = {"blocksworld_success": sum(bw) / max(1, n), "formatted": fmt, "n": n,
               **{f"{k}_success": sum(v) / max(1, len(v)) for k, v in data["obfuscated"].items()}}
    return measured(NAME, FINDING, claims, metrics, data.get("rows", []))


def run(subject, b: PlanningBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)
