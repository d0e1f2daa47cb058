"""Benchmark: wall time of the emergence family sweep and how it grows with the largest model.

Each family member is built and trained fresh for a few steps with the reproduction's
settings, then evaluated exactly as in the sweep (greedy answers + teacher-forced scoring on
the standard test set). Reported per member: seconds per training step, evaluation seconds,
and the cumulative sweep time of the family truncated at that member, as a ratio to the
smallest member (the reference, measured in the same run). From the per-step times it
extrapolates the wall time of `--profile quick` and `--profile full`.

    python benchmarks/bench_emergence.py            # the full family plus d128l4 (~1M)
    python benchmarks/bench_emergence.py --steps 20 --family d16l1,d32l2,d64l3
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="training steps timed per member")
    ap.add_argument("--family", default=None,
                    help="comma-separated members (default: the full family plus d128l4)")
    ap.add_argument("--json", default="benchmarks/results/bench_emergence.json",
                    help="where the figures go as JSON")
    args = ap.parse_args()

    import numpy as np

    from neurips23.config import load_config
    from neurips23.emergence.arithmetic import ALPHABET
    from neurips23.emergence.config import PROFILES, EmergenceConfig
    from neurips23.emergence.sweep import (
        MAX_POSITIONS,
        build_data,
        evaluate_member,
        member_size,
        train_config,
    )
    from neurips23.lm.models import build_model, count_parameters
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import train_causal_lm
    from neurips23.utils import set_torch_threads

    threads = set_torch_threads()
    full = load_config(EmergenceConfig, base=PROFILES["full"])
    quick = load_config(EmergenceConfig, base=PROFILES["quick"])
    family = args.family.split(",") if args.family else [*full.family, "d128l4"]
    cfg = replace(full, family=family, train=replace(full.train, steps=args.steps, warmup_steps=0),
                  seeds=[0], progress=False)
    tok = build_char_tokenizer(ALPHABET)
    data = build_data(cfg)
    std = replace(cfg, large_test_factor=1)
    std_data = build_data(std)
    rows = []
    for member in family:
        t0 = time.perf_counter()
        model = build_model(member_size(member), vocab_size=len(tok),
                            max_position_embeddings=MAX_POSITIONS)
        result = train_causal_lm(model, tok, data.train, train_config(cfg, 0), progress=False)
        t1 = time.perf_counter()
        evaluate_member(model, tok, std_data, cfg.eval_batch_size)
        t2 = time.perf_counter()
        rows.append({"member": member, "params": count_parameters(model),
                     "step_s": result.wall_seconds / args.steps,
                     "setup_s": (t1 - t0) - result.wall_seconds, "eval_s_per_100": t2 - t1})
        print(f"{member:>7} {rows[-1]['params']:>9,} params  {rows[-1]['step_s'] * 1e3:7.1f} "
              f"ms/step  setup (tokenise train set) {rows[-1]['setup_s']:.1f}s  eval "
              f"{rows[-1]['eval_s_per_100']:.2f}s per 100 problems/task", flush=True)

    def sweep_seconds(c: EmergenceConfig) -> float:
        per = {r["member"]: r for r in rows}
        missing = [m for m in c.family if m not in per]
        if missing:
            return float("nan")
        n_eval = c.test_size * c.large_test_factor / 100
        setup = per[c.family[0]]["setup_s"] * min(1.0, c.n_train / cfg.n_train)
        return len(c.seeds) * sum(per[m]["step_s"] * c.train.steps + per[m]["eval_s_per_100"] * n_eval
                                  + setup for m in c.family)  # setup: tokenising the train set

    def member_seconds(r: dict, c: EmergenceConfig) -> float:
        n_eval = c.test_size * c.large_test_factor / 100
        return r["step_s"] * c.train.steps + r["setup_s"] + r["eval_s_per_100"] * n_eval

    base = member_seconds(rows[0], full)
    print(f"\nfamily truncated at member: sweep time per seed at the full profile's "
          f"{full.train.steps} steps (extrapolated), ratio to the smallest member alone")
    cum = 0.0
    for r in rows:
        cum += member_seconds(r, full)
        r["cumulative_full_s"] = cum
        r["ratio_to_smallest"] = cum / base
        print(f"  up to {r['member']:>7} ({r['params']:>9,}): {cum / 60:6.1f} min  "
              f"×{cum / base:6.1f}")
    logp = np.log([r["params"] for r in rows])
    logt = np.log([r["step_s"] for r in rows])
    slope = float(np.polyfit(logp, logt, 1)[0])
    print(f"\nstep time grows as params^{slope:.2f} (log-log fit over the family)")
    est = {"quick": sweep_seconds(quick), "full": sweep_seconds(full)}
    print(f"estimated wall time on this machine ({threads} torch thread(s)): "
          f"quick {est['quick']:.0f}s, full {est['full'] / 60:.1f} min (sequential, workers=1)")
    if args.json:
        import os

        with open(args.json, "w") as f:
            json.dump({"rows": rows, "step_time_exponent": slope, "estimates_s": est,
                       "threads": threads, "timed_steps": args.steps,
                       "loadavg": os.getloadavg()}, f, indent=2)


if __name__ == "__main__":
    main()
