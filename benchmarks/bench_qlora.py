"""QLoRA benchmarks, each against a reference in the same run, reported as ratios.

1. Our NF4 codec (quantize_nf4 / dequantize_nf4, with and without DQ) vs bitsandbytes'
   quantize_4bit / dequantize_4bit on CPU, one thread: a 4096 x 4096 matrix and the 210 linear
   weight matrices of SmolLM2-135M, in fp32 and bf16. Ratio = ours / bnb time (< 1 is faster).
   Times are the minimum over repeats (as timeit recommends) of the process CPU time and of
   wall-clock time, ours and bitsandbytes' interleaved; both ratios are written. On a shared
   machine the CPU-time minimum is the steadier of the two.
2. Peak memory of one LoRA step on SmolLM2-135M, NF4+DQ vs bf16 base, each in a fresh process
   (`neurips23.qlora.step_memory`). Ratio = NF4+DQ / bf16.

    python benchmarks/bench_qlora.py [--repeats 7] [--skip-memory] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # bitsandbytes' CPU kernels: one thread too


def _pair(ours, ref, repeats: int) -> dict:
    """Minimum CPU and wall seconds of `ours` and `ref`, called alternately after a warm-up."""
    ours(), ref()
    best = {(k, clock): float("inf") for k in ("ours", "bnb") for clock in ("cpu", "wall")}
    for _ in range(repeats):
        for k, fn in (("ours", ours), ("bnb", ref)):
            c, w = time.process_time(), time.perf_counter()
            fn()
            best[(k, "cpu")] = min(best[(k, "cpu")], time.process_time() - c)
            best[(k, "wall")] = min(best[(k, "wall")], time.perf_counter() - w)
    return {"ours_cpu_s": best[("ours", "cpu")], "bnb_cpu_s": best[("bnb", "cpu")],
            "ratio_cpu": best[("ours", "cpu")] / best[("bnb", "cpu")],
            "ours_wall_s": best[("ours", "wall")], "bnb_wall_s": best[("bnb", "wall")],
            "ratio_wall": best[("ours", "wall")] / best[("bnb", "wall")]}


def bench_matrices(name: str, weights: list, repeats: int) -> list[dict]:
    """Our codec vs bitsandbytes on a list of matrices (timed as one batch), fp32 and bf16."""
    import bitsandbytes.functional as F
    import torch

    from neurips23.qlora.quant import dequantize_nf4, quantize_nf4

    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        ws = [w.to(dtype) for w in weights]
        for dq in (False, True):
            ours_q = [quantize_nf4(w, 64, dq) for w in ws]
            ref_q = [F.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=dq)
                     for w in ws]
            same = all(torch.equal(o.packed, r[0]) for o, r in zip(ours_q, ref_q, strict=True))
            quant = _pair(lambda ws=ws, dq=dq: [quantize_nf4(w, 64, dq) for w in ws],
                          lambda ws=ws, dq=dq: [F.quantize_4bit(w, blocksize=64, quant_type="nf4",
                                                                compress_statistics=dq) for w in ws],
                          repeats)
            deq = _pair(lambda q=ours_q: [dequantize_nf4(s) for s in q],
                        lambda q=ref_q: [F.dequantize_4bit(p, s) for p, s in q], repeats)
            for op, r in (("quantize", quant), ("dequantize", deq)):
                rows.append({"weights": name, "op": op, "dtype": str(dtype).replace("torch.", ""),
                             "dq": dq, **r, "bytes_identical": same})
    return rows


def smollm2_weights() -> list:
    """SmolLM2-135M's linear weight matrices (every one but the embeddings / tied LM head)."""
    import torch

    from neurips23.lm.adapters import adaptable_linears
    from neurips23.lm.models import load_model

    model, _ = load_model("smollm2-135m", dtype=torch.float32)
    mods = dict(model.named_modules())
    return [mods[n].weight.detach().clone() for n in adaptable_linears(model)]


def bench_step_memory(repeats: int = 1) -> dict:
    """One LoRA step on SmolLM2, NF4+DQ vs bf16 base, fresh processes (see qlora.step_memory)."""
    from dataclasses import asdict

    from neurips23.qlora.step_memory import measure_step_memory

    runs = {w: [measure_step_memory("smollm2-135m", w, seed=i) for i in range(repeats)]
            for w in ("nf4", "bf16")}
    ratio = statistics.mean(q.step_bytes / b.step_bytes
                            for q, b in zip(runs["nf4"], runs["bf16"], strict=True))
    return {"runs": {w: [asdict(m) | {"step_bytes": m.step_bytes, "model_bytes": m.model_bytes}
                         for m in ms] for w, ms in runs.items()},
            "step_memory_ratio": ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_qlora.json"))
    args = ap.parse_args()
    import torch

    from neurips23.utils import quiet_third_party, set_torch_threads

    quiet_third_party()
    set_torch_threads(1)
    torch.manual_seed(0)
    rows = bench_matrices("4096x4096", [torch.randn(4096, 4096) * 0.02], args.repeats)
    rows += bench_matrices("SmolLM2-135M (210 matrices)", smollm2_weights(), max(3, args.repeats // 3))
    print("codec vs bitsandbytes, CPU, 1 thread (ratio = ours / bnb; < 1 is faster)")
    for r in rows:
        print(f"  {r['weights']:28s} {r['op']:10s} {r['dtype']:8s} DQ={r['dq']!s:5s} "
              f"cpu {r['ours_cpu_s'] * 1e3:7.1f} / {r['bnb_cpu_s'] * 1e3:7.1f} ms = "
              f"{r['ratio_cpu']:.2f}   wall ratio {r['ratio_wall']:.2f}   "
              f"bytes identical: {r['bytes_identical']}")
    out = {"codec": rows, "loadavg": os.getloadavg(), "threads": torch.get_num_threads()}
    if not args.skip_memory:
        mem = bench_step_memory()
        out["step_memory"] = mem
        print(f"one LoRA step on SmolLM2-135M: step memory NF4+DQ / bf16 = "
              f"{mem['step_memory_ratio']:.3f}")
    print(f"load average during the run: {os.getloadavg()}")
    from neurips23.utils import atomic_write_json

    atomic_write_json(args.out, out)


if __name__ == "__main__":
    main()
