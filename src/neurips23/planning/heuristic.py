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

from neurips23.pddl.parser import Domain, Problem, domain_to_pddl, problem_to_pddl
from neurips23.pddl.task import GroundTask, ground
from neurips23.pddl.validate import validate_plan


@dataclass
class RepairResult:
    """What a seeded planner returned: plan, search steps (flips), and how it ended.

    status: solved | unsolved (the planner finished without a valid plan) | timeout |
    crashed (the planner exited abnormally; `message` holds its last words).
    """

    solved: bool
    flips: int
    plan: list[str] = field(default_factory=list)
    planner: str = ""
    seconds: float = 0.0
    status: str = "solved"
    message: str = ""
    seed_steps_dropped: int = 0  # seed steps the planner cannot read, removed before seeding


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
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 5,
                                  cwd=d)
        except subprocess.TimeoutExpired:
            return RepairResult(False, -1, [], "lpg", time.perf_counter() - t0, "timeout")
        secs = time.perf_counter() - t0
    out = proc.stdout
    m = _FLIPS.search(out)
    plan = []
    if "Plan computed:" in out:
        for line in out.split("Plan computed:", 1)[1].splitlines():
            mm = _STEP.match(line)
            if mm:
                plan.append(mm.group(1).lower())
    if m is None:
        last = [x.strip() for x in (out + "\n" + proc.stderr).splitlines() if x.strip()]
        why = f"exit code {proc.returncode}" + (f": {last[-1]}" if last else "")
        status = "crashed" if proc.returncode != 0 else "unsolved"
        return RepairResult(False, -1, plan, "lpg", secs, status, why)
    solved = validate_plan(domain, problem, plan).valid
    return RepairResult(solved, int(m.group(1)), plan, "lpg", secs,
                        "solved" if solved else "unsolved")


def lpg_readable_seed(task: GroundTask, seed_plan: list[str], distinct_args: bool = False
                      ) -> list[str]:
    """The seed steps LPG can read: ground actions of the task (an unknown action or object,
    or the wrong arity, makes LPG exit or crash); with `distinct_args`, also without repeated
    arguments (LPG's grounding drops actions like (stack a a), and a seed naming one crashes
    it)."""
    out = []
    for step in seed_plan:
        if step not in task.by_name:
            continue
        args = step.strip("()").split()[1:]
        if distinct_args and len(set(args)) < len(args):
            continue
        out.append(step)
    return out


# ------------------------------------------------------------------ our seeded search


def seeded_search_repair(task: GroundTask, seed_plan: list[str], time_limit: float = 60.0
                         ) -> RepairResult:
    """A pure-Python stand-in for LPG's seeded repair: commit to the seed's executable part
    (execute it, skipping steps whose preconditions fail or that name unknown actions), then
    complete the plan with GBFS + h_FF from the state reached; if that state cannot reach
    the goal, search again from the initial state. Effort = skipped steps + expansions (the
    unit differs from LPG's flips; compare seeds with one planner only)."""
    import time

    from neurips23.pddl.search import search

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
                        time.perf_counter() - t0, "solved" if res.solved else
                        "timeout" if res.status == "timeout" else "unsolved")


def repair(domain: Domain, problem: Problem, seed_plan: list[str], planner: str = "auto",
           rng_seed: int = 1, timeout: float = 60.0, task: GroundTask | None = None
           ) -> RepairResult:
    """Seeded planning with LPG-td if available (planner='auto'|'lpg'), else local search.

    LPG gets only the seed steps it can read (`lpg_readable_seed`); the number removed is
    reported in `seed_steps_dropped`. A crash with an empty seed is LPG failing on its own,
    an error rather than a data point."""
    from neurips23.errors import BackendError, UserError
    from neurips23.planning.refs import lpg_binary

    binary = lpg_binary() if planner in {"auto", "lpg"} else None
    if planner == "lpg" and binary is None:
        raise UserError("LPG-td is not installed: pip install 'neurips23[lpg]' (up-lpg; "
                        "research-use licence) or use --planner local")
    task = task or ground(domain, problem)
    if binary is None:
        return seeded_search_repair(task, seed_plan, timeout)
    seed = lpg_readable_seed(task, seed_plan)
    res = run_lpg(binary, domain, problem, seed, rng_seed, timeout)
    if res.status == "crashed" and seed:
        distinct = lpg_readable_seed(task, seed, distinct_args=True)
        if distinct != seed:
            seed = distinct
            res = run_lpg(binary, domain, problem, seed, rng_seed, timeout)
    if res.status == "crashed" and not seed:
        raise BackendError(f"LPG-td crashed on problem '{problem.name}' with an empty seed "
                           f"({res.message}); use --planner local")
    res.seed_steps_dropped = len(seed_plan) - len(seed)
    return res
