"""Tree-of-Thoughts probe (Yao et al.): does deliberate search beat sampling on this model?

Measurement: the tot package's Game of 24 task, its CoT sampling baseline
(`tot.search.sample_baseline`) and its ToT breadth-first search (`tot.search.bfs`) on the same
puzzles. Only completions are needed: any backend applies.
"""

from __future__ import annotations

from collections.abc import Callable

from neurips23.core.claims import measured_claim
from neurips23.core.stats import bootstrap_ci
from neurips23.probe.base import ProbeResult, measured, needs_completions
from neurips23.probe.config import TotBudget

NAME = "tot"
VERSION = "2"
FINDING = ("Deliberate search beats sampling: on Game of 24 GPT-4 solves 74% of puzzles with "
           "Tree of Thoughts (b=5) and 4% with chain-of-thought prompting (ToT §4.1, Table 2)")


def applies(subject) -> str | None:
    """Every backend that completes text can search."""
    return needs_completions(subject)


def measure(subject, b: TotBudget, log: Callable[[str], None]) -> dict:
    """Per puzzle: the CoT success rate over k samples and whether ToT's top answer is right."""
    from neurips23.tot.game24.task import Game24Task
    from neurips23.tot.meter import Meter
    from neurips23.tot.runner import select_puzzles
    from neurips23.tot.search import BFSConfig, bfs, sample_baseline

    xs = select_puzzles(b.puzzles)
    task = Game24Task(few_shot=True)
    log(f"tot: CoT, {b.k} samples on {len(xs)} puzzles")
    cot = sample_baseline(task, subject.lm, xs, b.k, cot=True, temperature=b.temperature,
                          max_tokens=b.max_tokens, seed=b.seed, meter=Meter(subject.lm))
    log(f"tot: ToT-BFS (b={b.b}) on {len(xs)} puzzles")
    cfg = BFSConfig(n_select=b.b, n_evaluate=b.n_evaluate, temperature=b.temperature,
                    max_tokens=b.max_tokens, value_max_tokens=b.max_tokens, seed=b.seed)
    tot = bfs(task, subject.lm, xs, cfg, meter=Meter(subject.lm))
    tot_ok = [bool(r.finals) and task.is_correct(r.x, r.top) for r in tot]
    return {"cot": [r.mean for r in cot], "tot": tot_ok,
            "rows": [{"puzzle": x, "CoT success": c.mean, "ToT correct": t,
                      "ToT answer": task.final_answer(x, r.top)[:80]}
                     for x, c, t, r in zip(xs, cot, tot_ok, tot, strict=True)]}


def decide(data: dict, b: TotBudget) -> ProbeResult:
    """Per puzzle ToT success minus CoT success rate, bootstrap over puzzles."""
    tot, cot = data["tot"], data["cot"]
    d = [float(t) - c for t, c in zip(tot, cot, strict=True)]
    est, lo, hi = bootstrap_ci(d, lambda xs: sum(xs) / len(xs), seed=b.seed,
                               confidence=b.search_helps.confidence)
    some = (f"some method solves a puzzle (ToT {sum(tot)}, CoT {sum(c > 0 for c in cot)} of "
            f"{len(d)}): with none solved the comparison says nothing", any(tot) or any(cot))
    claim = measured_claim(FINDING, "ToT success - CoT success (per puzzle)", est, (lo, hi),
                           b.search_helps, n=len(d), preconditions=[some])
    metrics = {"tot_success": sum(tot) / max(1, len(tot)),
               "cot_success": sum(cot) / max(1, len(cot)), "n": len(d)}
    return measured(NAME, FINDING, [claim], metrics, data.get("rows", []))


def run(subject, b: TotBudget, log: Callable[[str], None]) -> ProbeResult:
    """Measure, then decide."""
    return decide(measure(subject, b, log), b)
