"""QLoRA benchmarks, each against a reference in the same run, reported as ratios.

1. Our NF4 codec (quantize_nf4 / dequantize_nf4, with and without DQ) vs bitsandbytes'
   quantize_4bit / dequantize_4bit on CPU, 4096 x 4096 fp32 and bf16. Ratio = ours / bnb time.
2. Peak resident memory of one QLoRA (NF4+DQ) training step vs one 16-bit LoRA step on the largest
   tiny config ("small"), each in its own subprocess so the peaks don't mix. Ratio = QLoRA / LoRA.
   At this size the process (torch + transformers, ~0.5 GB) dwarfs the weights (15 MB in bf16);
   `--size 1024,8,16,2752` (~100M params) shows the ratio where the weights dominate.

    python benchmarks/bench_qlora.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def _time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_codec(repeats: int) -> list[dict]:
    import bitsandbytes.functional as F
    import torch

    from neurips23.qlora.quant import dequantize_nf4, quantize_nf4

    torch.manual_seed(0)
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        w = (torch.randn(4096, 4096) * 0.02).to(dtype)
        for dq in (False, True):
            ours_q = _time(partial(quantize_nf4, w, 64, dq), repeats)
            ref_q = _time(partial(F.quantize_4bit, w, blocksize=64, quant_type="nf4",
                                  compress_statistics=dq), repeats)
            st = quantize_nf4(w, 64, dq)
            packed, ref_state = F.quantize_4bit(w, blocksize=64, quant_type="nf4",
                                                compress_statistics=dq)
            ours_d = _time(partial(dequantize_nf4, st), repeats)
            ref_d = _time(partial(F.dequantize_4bit, packed, ref_state), repeats)
            same = torch.equal(st.packed, packed)
            for op, ours, ref in (("quantize", ours_q, ref_q), ("dequantize", ours_d, ref_d)):
                rows.append({"op": op, "dtype": str(dtype).replace("torch.", ""), "dq": dq,
                             "ours_s": ours, "bnb_s": ref, "ratio": ours / ref,
                             "bytes_identical": same})
    return rows


STEP_SCRIPT = r"""
import json, os, sys
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")
import torch
torch.set_num_threads(1)
from neurips23.lm.adapters import trainable_parameters
from neurips23.qlora.finetune import FinetuneConfig, load_base, attach_lora
from neurips23.qlora.comparison import storage_bytes

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
weights, base = sys.argv[1], sys.argv[2]
cfg = FinetuneConfig(weights=weights, double_quant=True, compute_dtype="bfloat16", rank=16)
before = rss("VmRSS:")
model, tok = load_base(base, cfg)
model = attach_lora(model, cfg)
params = trainable_parameters(model)
stored = storage_bytes(model)
opt = torch.optim.AdamW(params, lr=1e-4)
x = torch.randint(4, len(tok), (4, 64))
model.train()
after_load = rss("VmRSS:")
try:  # reset the peak so loading (which reads the 32-bit checkpoint) is not counted
    open("/proc/self/clear_refs", "w").write("5")
    reset = True
except OSError:
    reset = False
for _ in range(2):
    loss = model(input_ids=x, labels=x).loss
    loss.backward(); opt.step(); opt.zero_grad()
print(json.dumps({"weights": weights, "rss_before_load": before, "rss_after_load": after_load,
                  "peak_step": rss("VmHWM:"), "peak_reset": reset,
                  "linear_weight_bytes": stored["linear_bytes"]}))
"""


def _size(size: str):
    """A tiny config name, or 'hidden,layers,heads,intermediate' for a custom width."""
    if "," not in size:
        return size
    h, n, a, i = (int(v) for v in size.split(","))
    return {"hidden_size": h, "num_hidden_layers": n, "num_attention_heads": a,
            "intermediate_size": i}


def bench_step_memory(size: str = "small") -> dict:
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tok = build_char_tokenizer("0123456789abcdefghijklmnopqrstuvwxyz =")
        save_model(build_model(_size(size), vocab_size=len(tok)), tok, Path(tmp) / "base")
        out = {}
        for weights in ("nf4", "bf16"):
            res = subprocess.run([sys.executable, "-c", STEP_SCRIPT, weights, str(Path(tmp) / "base")],
                                 capture_output=True, text=True, check=True)
            out[weights] = json.loads(res.stdout.strip().splitlines()[-1])
    q, l16 = out["nf4"], out["bf16"]
    return {
        "size": size, "qlora": q, "lora16": l16,
        "peak_ratio": q["peak_step"] / l16["peak_step"],
        "model_rss_ratio": (q["rss_after_load"] - q["rss_before_load"])
        / max(1, l16["rss_after_load"] - l16["rss_before_load"]),
        "linear_weight_bytes_ratio": q["linear_weight_bytes"] / l16["linear_weight_bytes"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--skip-codec", action="store_true", help="only the memory comparison")
    ap.add_argument("--size", default="small",
                    help="tiny config name or 'hidden,layers,heads,intermediate'")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    codec = [] if args.skip_codec else bench_codec(args.repeats)
    if codec:
        print("codec, 4096x4096, CPU 1 thread (ratio = ours / bitsandbytes; < 1 is faster)")
    for r in codec:
        print(f"  {r['op']:10s} {r['dtype']:8s} DQ={r['dq']!s:5s} ours {r['ours_s'] * 1e3:7.1f} ms  "
              f"bnb {r['bnb_s'] * 1e3:7.1f} ms  ratio {r['ratio']:.2f}  "
              f"bytes identical: {r['bytes_identical']}")
    mem = bench_step_memory(args.size)
    mb = 1 / 2**20
    print(f"peak RSS of a training step, tiny '{mem['size']}' Llama (subprocess each)")
    for k in ("qlora", "lora16"):
        m = mem[k]
        print(f"  {k:7s} process peak {m['peak_step'] * mb:7.1f} MiB   model load adds "
              f"{(m['rss_after_load'] - m['rss_before_load']) * mb:6.1f} MiB")
    print(f"  peak ratio QLoRA / 16-bit LoRA: {mem['peak_ratio']:.3f}   "
          f"load-added RSS ratio: {mem['model_rss_ratio']:.3f}   "
          f"linear-weight bytes ratio (from the tensors): {mem['linear_weight_bytes_ratio']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"codec": codec, "step_memory": mem}, indent=2))


if __name__ == "__main__":
    main()
