"""Benchmark: plan validations per second, ours vs unified-planning's validator (same plans,
same run); our planners' expansions and time vs Fast Downward (A* + LM-cut) on the same
instances; and how closely `plan solve --time-limit T` keeps its limit (wall / T) on generated
problems the size of IPC visitall pfile30 and thoughtful p11_6_65. Writes
benchmarks/results/bench_planning.json.

    python benchmarks/bench_planning.py [--instances 40] [--fd-instances 6] [--limit 5]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def validation_bench(n_instances: int, seed: int = 0) -> dict:
    from neurips23.pddl.task import ground
    from neurips23.pddl.validate import parse_plan, validate_plan
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.refs import UPValidator, up_plan, up_problem

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "planning"))
    from test_planning_validate import mutants  # the same generator the tests use

    rng = random.Random(seed)
    cases = []
    for name in ("blocksworld", "logistics"):
        dom = get_domain(name).domain
        for inst in generate_instances(name, n_instances // 2, seed=seed):
            task = ground(dom, inst.problem)
            for plan in mutants(task, inst.plan, rng, inst.problem.objects):
                cases.append((dom, inst.problem, plan))
    # ours: from plan text to verdict
    texts = ["\n".join(p) for _, _, p in cases]
    t0 = time.perf_counter()
    ours = [validate_plan(d, p, parse_plan(t)).valid for (d, p, _), t in zip(cases, texts,
                                                                              strict=True)]
    t_ours = time.perf_counter() - t0
    # unified-planning: problems and plans built beforehand; only validate() is timed
    upv = UPValidator()
    probs = {}
    built = []
    for d, p, plan in cases:
        key = id(p)
        if key not in probs:
            probs[key] = up_problem(d, p)
        built.append((probs[key], up_plan(probs[key], plan)))
    t0 = time.perf_counter()
    theirs = [upv.is_valid(up, pl) for up, pl in built]
    t_up = time.perf_counter() - t0
    assert ours == theirs, "verdicts disagree"
    n = len(cases)
    return {"plans": n, "valid": sum(ours), "ours_per_s": n / t_ours, "up_per_s": n / t_up,
            "ratio": t_up / t_ours}


def fd_run(domain_pddl: str, problem_pddl: str) -> tuple[int, int, float, float]:
    from neurips23.planning.refs import fast_downward_script

    with tempfile.TemporaryDirectory() as d:
        Path(d, "d.pddl").write_text(domain_pddl)
        Path(d, "p.pddl").write_text(problem_pddl)
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, str(fast_downward_script()), "d.pddl", "p.pddl",
                              "--search", "astar(lmcut())"], cwd=d, capture_output=True,
                             text=True, timeout=300).stdout
        secs = time.perf_counter() - t0
    exp = int(re.search(r"Expanded (\d+) state", out).group(1))
    length = int(re.search(r"Plan length: (\d+)", out).group(1))
    search_s = float(re.search(r"Search time: ([\d.]+)s", out).group(1))
    return length, exp, secs, search_s


def planner_bench(n: int, seed: int = 0) -> list[dict]:
    from neurips23.pddl.parser import domain_to_pddl, problem_to_pddl
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground
    from neurips23.planning.domains.registry import generate_instances, get_domain

    rows = []
    for name, kw in (("blocksworld", {"blocks": (5, 6)}), ("logistics", {})):
        dom = get_domain(name).domain
        for inst in generate_instances(name, n // 2, seed=seed, **kw):
            t0 = time.perf_counter()
            task = ground(dom, inst.problem)
            a = search(task, "astar")
            ta = time.perf_counter() - t0
            g = search(task, "gbfs")
            fl, fe, ft, fs = fd_run(domain_to_pddl(dom), problem_to_pddl(inst.problem, dom))
            assert len(a.plan) == fl, (inst.problem.name, len(a.plan), fl)
            rows.append({"instance": inst.problem.name, "optimal": fl, "astar_expanded":
                         a.expanded, "astar_s": ta, "gbfs_len": len(g.plan),
                         "gbfs_expanded": g.expanded, "gbfs_s": g.seconds,
                         "fd_expanded": fe, "fd_s": ft, "fd_search_s": fs})
    return rows


def limits_bench(limit: float) -> list[dict]:
    """Wall time of grounding + search under one deadline, as a fraction of the limit."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "planning"))
    from test_planning_limits import write_cards, write_visitall

    from neurips23.pddl.limits import Limits, OutOfTime
    from neurips23.pddl.parser import load_domain, load_problem
    from neurips23.pddl.search import search
    from neurips23.pddl.task import ground

    rows = []
    with tempfile.TemporaryDirectory() as d:
        for name, make, algorithm in (("visitall-30x30", write_visitall, "gbfs"),
                                      ("cards-65 (5-parameter moves)", write_cards, "astar")):
            dp, pp = make(Path(d))
            t0 = time.perf_counter()
            limits = Limits.start(limit)
            dom = load_domain(dp)
            prob = load_problem(pp, dom)
            try:
                task = ground(dom, prob, limits)
                t_ground = time.perf_counter() - t0
                status = search(task, algorithm, limits=limits).status
                n_actions = len(task.actions)
            except OutOfTime:
                t_ground, status, n_actions = float("nan"), "timeout in grounding", None
            wall = time.perf_counter() - t0
            rows.append({"problem": name, "limit_s": limit, "wall_s": wall,
                         "wall_over_limit": wall / limit, "grounding_s": t_ground,
                         "ground_actions": n_actions, "status": status})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=40)
    ap.add_argument("--fd-instances", type=int, default=6)
    ap.add_argument("--limit", type=float, default=5.0, help="time limit of the limits bench")
    args = ap.parse_args()
    from neurips23.utils import set_torch_threads

    set_torch_threads()
    v = validation_bench(args.instances)
    print(f"validation: {v['plans']} plans ({v['valid']} valid), verdicts identical")
    print(f"  ours {v['ours_per_s']:.0f}/s  unified-planning {v['up_per_s']:.1f}/s  "
          f"ratio {v['ratio']:.0f}x (goal >= 20x)")
    rows = planner_bench(args.fd_instances)
    print("planner: instance optimal | A*(hmax) expanded, s | GBFS(hFF) len, expanded, s | "
          "FD A*(LM-cut) expanded, search s, wall s (incl. translator)")
    for r in rows:
        print(f"  {r['instance']:<14} {r['optimal']:>3} | {r['astar_expanded']:>6} "
              f"{r['astar_s']:.3f} | {r['gbfs_len']:>3} {r['gbfs_expanded']:>5} "
              f"{r['gbfs_s']:.3f} | {r['fd_expanded']:>6} {r['fd_search_s']:.3f} "
              f"{r['fd_s']:.3f}")
    ta, tf = sum(r["astar_s"] for r in rows), sum(r["fd_s"] for r in rows)
    tfs = sum(r["fd_search_s"] for r in rows)
    ea, ef = sum(r["astar_expanded"] for r in rows), sum(r["fd_expanded"] for r in rows)
    print(f"  totals: A* {ea} expanded {ta:.2f}s (grounding included); FD {ef} expanded, "
          f"search {tfs:.2f}s, wall {tf:.2f}s")
    print(f"  ratios ours/FD: expansions {ea / ef:.2f}, time vs FD search "
          f"{ta / max(tfs, 1e-9):.1f}, time vs FD wall {ta / tf:.2f}")
    limits = limits_bench(args.limit)
    for r in limits:
        print(f"time limit {r['limit_s']:g}s on {r['problem']}: returned after {r['wall_s']:.2f}s "
              f"({r['wall_over_limit']:.2f} x limit), {r['status']}")
    out = Path(__file__).parent / "results" / "bench_planning.json"
    out.write_text(json.dumps({"validation": v, "planners": rows, "time_limits": limits,
                               "load_average": Path("/proc/loadavg").read_text().split()[:3]
                               if Path("/proc/loadavg").exists() else None}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
