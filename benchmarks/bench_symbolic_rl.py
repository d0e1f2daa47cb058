"""Optimistic exploration vs the RL baselines: interactions and wall time per method on the same
tasks and seeds; and planner calls per second of our pure-Python k-plans planner vs the
forbid-iterative diverse planner (`forbiditerative`, if installed) on the same optimistic models,
snapshotted along one lifted exploration run.

    python benchmarks/bench_symbolic_rl.py [--tasks blocksworld-4-1,gripper-4,doorkey-6x6]
        [--seeds 3] [--budget 200000] [--planner-task blocksworld-5-1] [--snapshots 6] [--k 10]
        [--out benchmarks/results/bench_symbolic_rl.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def methods_bench(tasks: list[str], seeds: int, budget: int) -> list[dict]:
    """Median interactions and mean wall seconds per (task, method)."""
    from neurips23.symbolic_rl.baselines import BASELINES
    from neurips23.symbolic_rl.config import BaselineSettings, LearnerSettings
    from neurips23.symbolic_rl.experiment import baseline, learn

    rows = []
    for task in tasks:
        for arm in ("lifted", "grounded", *BASELINES):
            runs = []
            for s in range(seeds):
                t0 = time.perf_counter()
                if arm in ("lifted", "grounded"):
                    r = learn(task, arm, s, budget, LearnerSettings())[0]
                else:
                    r = baseline(task, arm, s, budget, BaselineSettings())
                runs.append((r["interactions"], r["found"], time.perf_counter() - t0))
            rows.append({"task": task, "method": arm,
                         "median_interactions": statistics.median(x[0] for x in runs),
                         "found": f"{sum(x[1] for x in runs)}/{seeds}",
                         "mean_seconds": statistics.mean(x[2] for x in runs)})
            print(f"  {task:<16} {arm:<21} {rows[-1]['median_interactions']:>9,.0f} "
                  f"({rows[-1]['found']})  {rows[-1]['mean_seconds']:.2f}s", flush=True)
    return rows


def snapshots(task: str, n: int) -> tuple[list, object]:
    """`n` planning views spread over one lifted exploration run (the models the planner sees)."""
    from neurips23.symbolic_rl.domains import load_task
    from neurips23.symbolic_rl.explore import make_planner, optimistic_exploration
    from neurips23.symbolic_rl.model import OptimisticModel

    sim = load_task(task)
    inner = make_planner("kshortest", sim.spec, 0)
    views = []

    def record(view, init, goal, k):
        out = inner(view, init, goal, k)
        if out.plans:  # calls that only tell the explorer to raise failure bounds are skipped
            views.append(view)
        return out

    optimistic_exploration(sim, OptimisticModel(sim.spec, lifted=True), record, 10, 200_000)
    picks = sorted({round(j * (len(views) - 1) / max(1, n - 1)) for j in range(n)})
    return [views[j] for j in picks], sim.spec  # evenly spaced, the first and the last included


def planner_bench(task: str, n: int, k: int) -> dict:
    """Calls per second and mean first-plan length of both planners on the same views."""
    from neurips23.symbolic_rl.planner import (
        forbiditerative_available,
        forbiditerative_plans,
        k_shortest_plans,
    )

    views, spec = snapshots(task, n)
    out: dict = {"task": task, "views": len(views), "k": k}
    for name, heuristic in (("ours", "hadd"), ("ours_hmax", "hmax")):
        t0 = time.perf_counter()
        res = [k_shortest_plans(v, spec.init, spec.goal, k, heuristic=heuristic,
                                max_expansions=200_000) for v in views]
        secs = time.perf_counter() - t0
        out[name] = {"calls_per_s": len(views) / secs, "seconds": secs,
                     "plans_per_call": statistics.mean(len(r.plans) for r in res),
                     "first_plan_length": statistics.mean(len(r.plans[0]) for r in res
                                                          if r.plans)}
    if forbiditerative_available():
        t0 = time.perf_counter()
        fi = [forbiditerative_plans(v, spec.init, spec.goal, k, spec) for v in views]
        secs = time.perf_counter() - t0
        out["forbiditerative"] = {
            "calls_per_s": len(views) / secs, "seconds": secs,
            "plans_per_call": statistics.mean(len(r.plans) for r in fi),
            "first_plan_length": statistics.mean(len(r.plans[0]) for r in fi if r.plans)}
        out["ratio_calls_per_s_ours_vs_fi"] = (out["ours"]["calls_per_s"] /
                                               out["forbiditerative"]["calls_per_s"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default="blocksworld-4-1,gripper-4,doorkey-6x6")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--budget", type=int, default=200_000)
    ap.add_argument("--planner-task", default="blocksworld-5-1")
    ap.add_argument("--snapshots", type=int, default=6)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--out", default="benchmarks/results/bench_symbolic_rl.json")
    args = ap.parse_args()
    print("interactions to the first goal-reaching plan (median over seeds), wall s per run:")
    rows = methods_bench(args.tasks.split(","), args.seeds, args.budget)
    print(f"planner calls on {args.snapshots} optimistic models from a lifted run on "
          f"{args.planner_task} (k = {args.k}):")
    plan = planner_bench(args.planner_task, args.snapshots, args.k)
    for name in ("ours", "ours_hmax", "forbiditerative"):
        if name in plan:
            r = plan[name]
            print(f"  {name:<16} {r['calls_per_s']:.2f} calls/s, {r['plans_per_call']:.1f} plans "
                  f"per call, first plan {r['first_plan_length']:.1f} steps")
    if "ratio_calls_per_s_ours_vs_fi" in plan:
        print(f"  ratio (ours / forbiditerative): {plan['ratio_calls_per_s_ours_vs_fi']:.2f}x")
    results = {"methods": rows, "planner": plan, "settings": vars(args),
               "loadavg": open("/proc/loadavg").read().split()[:3] if os.path.exists(
                   "/proc/loadavg") else None}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
