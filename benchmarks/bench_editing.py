"""Causal tracing: our batched trace vs ROME's per-state loop, same model, facts and noise.

ROME's `trace_important_states` runs one forward of 1 clean + 10 noised rows per (token,
layer). `trace_fact` puts many restorations in one forward and starts each at the first
restored layer, replaying the corrupted run's lower layers from cache. Both give the same
grid (checked here); the ratio is wall time loop / batched.

    python benchmarks/bench_editing.py [--facts 4] [--smollm2-facts 1]
                                       [--out benchmarks/results/bench_editing.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def _time(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_model(name, model, tok, facts, kinds, window, samples, max_rows, layers=None) -> list:
    import numpy as np

    from neurips23.editing.modules import layer_names
    from neurips23.editing.tracing import subject_embedding_std, trace_fact, trace_fact_loop

    names = layer_names(model)
    noise = 3 * subject_embedding_std(model, tok, [f[1] for f in facts], names)
    rows = []
    for kind in kinds:
        loop_s = batched_s = 0.0
        diff = 0.0
        for prompt, subject, target in facts:
            kw = dict(noise=noise, kind=kind, window=window, samples=samples, layers=layers,
                      names=names)
            tb, fast = _time(lambda kw=kw, p=prompt, s=subject, t=target: trace_fact(
                model, tok, p, s, t, max_rows=max_rows, **kw))
            tl, slow = _time(lambda kw=kw, p=prompt, s=subject, t=target: trace_fact_loop(
                model, tok, p, s, t, **kw))
            batched_s += tb
            loop_s += tl
            diff = max(diff, float(np.abs(fast.scores - slow.scores).max()))
        rows.append({"model": name, "kind": kind, "window": window if kind != "layer" else 1,
                     "facts": len(facts), "layers": len(layers or range(names.n_layers)),
                     "loop_s": round(loop_s, 3), "batched_s": round(batched_s, 3),
                     "speedup": round(loop_s / batched_s, 2), "max_abs_diff": diff})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--facts", type=int, default=4)
    ap.add_argument("--smollm2-facts", type=int, default=1, help="0 skips SmolLM2-135M")
    ap.add_argument("--smollm2-layers", default="0,5,10,15,20,25,29",
                    help="layers traced on SmolLM2 (the loop is minutes per fact for all 30)")
    ap.add_argument("--max-rows", type=int, default=256)
    ap.add_argument("--out", default="benchmarks/results/bench_editing.json")
    args = ap.parse_args()

    from neurips23.editing.known_facts import candidate_facts
    from neurips23.editing.synthetic import make_world, world_tokenizer
    from neurips23.lm.models import build_model, load_model
    from neurips23.utils import set_torch_threads

    set_torch_threads(1)
    world = make_world(300, 0)
    tok = world_tokenizer(world)
    # the tiny profile's architecture (timing does not depend on training)
    model = build_model(dict(hidden_size=128, num_hidden_layers=8, num_attention_heads=4,
                             intermediate_size=512), len(tok), arch="gpt2", seed=0)
    facts = []
    for s in world.subjects[:args.facts]:
        prompt, obj = world.sentence(s, "home", 1)  # "the home of {} is": tokens before it too
        facts.append((prompt, s, obj))
    results = bench_model("tiny GPT-2 (8 layers, d=128)", model, tok, facts,
                          ["layer", "mlp", "attn"], 3, 10, args.max_rows)
    if args.smollm2_facts:
        model, tok = load_model("smollm2-135m")
        sm = [(f.text, f.subject, f.target_true) for f in candidate_facts()][:args.smollm2_facts]
        layers = [int(x) for x in args.smollm2_layers.split(",")]
        results += bench_model("SmolLM2-135M", model, tok, sm, ["mlp"], 5, 10, args.max_rows,
                               layers=layers)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    out = {"results": results, "loadavg_after": load, "threads": 1}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} (load average {' '.join(load)})")


if __name__ == "__main__":
    main()
