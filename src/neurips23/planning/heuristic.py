"""Heuristic mode (Valmeekam et al. 2023, Sec. 5): the model's plan, valid or not, seeds a sound
local-search planner. LPG-td (`up-lpg` binary, `-input_plan`) when installed, else our own
seeded search; effort = LPG's search steps ("Total Num Flips") or our skipped steps +
expansions."""

from __future__ import annotations

import random
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from neurips23.planning.pddl import Domain, Problem, domain_to_pddl, problem_to_pddl
from neurips23.planning.task import GroundTask, ground
from neurips23.planning.validate import validate_plan


@dataclass
class RepairResult:
    """What a seeded planner returned: plan, search steps (flips), and whether it solved."""

    solved: bool
    flips: int
    plan: list[str] = field(default_factory=list)
    planner: str = ""
    seconds: float = 0.0


def levenshtein(a: list[str], b: list[str]) -> int:
    """Edit distance between two action sequences (insert, delete, substitute)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def random_seed_plan(task: GroundTask, length: int, rng: random.Random) -> list[str]:
    """The random-seed control: `length` ground actions drawn uniformly."""
    return [str(task.actions[rng.randrange(len(task.actions))]) for _ in range(length)]


# ------------------------------------------------------------------ LPG-td


_FLIPS = re.compile(r"Total Num Flips:\s*(\d+)")
_STEP = re.compile(r"^\s*\d+(?:\.\d+)?:\s*(\([^)]*\))")


def run_lpg(binary: Path, domain: Domain, problem: Problem, seed_plan: list[str] | None,
            lpg_seed: int = 1, timeout: float = 60.0) -> RepairResult:
    """LPG-td with `-input_plan` (omitted for the empty seed); parses 'Total Num Flips'."""
    import time

    with tempfile.TemporaryDirectory(prefix="lpg-") as d:
        dp, pp = Path(d) / "domain.pddl", Path(d) / "problem.pddl"
        dp.write_text(domain_to_pddl(domain))
        pp.write_text(problem_to_pddl(problem, domain))
        cmd = [str(binary), "-o", str(dp), "-f", str(pp), "-n", "1", "-seed", str(lpg_seed),
               "-out", str(Path(d) / "out"), "-cputime", str(int(max(1, timeout)))]
        if seed_plan:
            sp = Path(d) / "seed.SOL"
            sp.write_text("".join(f"{k}: {s.upper()} [1]\n" for k, s in enumerate(seed_plan)))
            cmd += ["-input_plan", str(sp)]
        t0 = time.perf_counter()
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5,
                                 cwd=d).stdout
        except subprocess.TimeoutExpired:
            return RepairResult(False, -1, [], "lpg", time.perf_counter() - t0)
        secs = time.perf_counter() - t0
    m = _FLIPS.search(out)
    plan = []
    if "Plan computed:" in out:
        for line in out.split("Plan computed:", 1)[1].splitlines():
            mm = _STEP.match(line)
            if mm:
                plan.append(mm.group(1).lower())
    solved = m is not None and validate_plan(domain, problem, plan).valid
    return RepairResult(solved, int(m.group(1)) if m else -1, plan, "lpg", secs)


# ------------------------------------------------------------------ our seeded search


def seeded_search_repair(task: GroundTask, seed_plan: list[str], time_limit: float = 60.0
                         ) -> RepairResult:
    """A pure-Python stand-in for LPG's seeded repair: commit to the seed's executable part
    (execute it, skipping steps whose preconditions fail or that name unknown actions), then
    complete the plan with GBFS + h_FF from the state reached; if that state cannot reach
    the goal, search again from the initial state. Effort = skipped steps + expansions (the
    unit differs from LPG's flips; compare seeds with one planner only)."""
    import time

    from neurips23.planning.search import search

    t0 = time.perf_counter()
    s = task.init
    kept: list[str] = []
    skipped = 0
    for step in seed_plan:
        i = task.by_name.get(step)
        if i is None or task.pre[i] & s != task.pre[i]:
            skipped += 1
            continue
        s = task.progress(s, i)
        kept.append(step)
    saved = task.init
    task.init = s
    try:
        res = search(task, "gbfs", time_limit=time_limit)
    finally:
        task.init = saved
    effort = skipped + res.expanded
    plan = kept + res.plan
    if not res.solved:
        res2 = search(task, "gbfs", time_limit=time_limit)
        effort += res2.expanded
        plan = res2.plan
        res = res2
    return RepairResult(res.solved, effort, plan if res.solved else [], "seeded-gbfs",
                        time.perf_counter() - t0)


def repair(domain: Domain, problem: Problem, seed_plan: list[str], planner: str = "auto",
           rng_seed: int = 1, timeout: float = 60.0, task: GroundTask | None = None) -> RepairResult:
    """Seeded planning with LPG-td if available (planner='auto'|'lpg'), else local search."""
    from neurips23.errors import UserError
    from neurips23.planning.refs import lpg_binary

    binary = lpg_binary() if planner in {"auto", "lpg"} else None
    if planner == "lpg" and binary is None:
        raise UserError("LPG-td is not installed: pip install 'neurips23[lpg]' (up-lpg; "
                        "research-use licence) or use --planner local")
    if binary is not None:
        return run_lpg(binary, domain, problem, seed_plan, rng_seed, timeout)
    return seeded_search_repair(task or ground(domain, problem), seed_plan, timeout)
