"""Substrate throughput: training and generation tokens/s per tiny config, torch threads 1 vs 2,
and our batched KV-cache generation against `model.generate` on the same prompts (same run).

    python benchmarks/bench_lm.py [--out benchmarks/results/bench_lm.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from neurips23.lm.generate import generate
from neurips23.lm.models import TINY_CONFIGS, build_model, count_parameters
from neurips23.lm.tasks import get_task
from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.lm.train import TrainConfig, train_causal_lm
from neurips23.utils import set_torch_threads


def train_speed(size: str, steps: int) -> dict:
    task = get_task("reverse")
    tok = build_char_tokenizer(task.alphabet)
    model = build_model(size, len(tok))
    res = train_causal_lm(model, tok, task.make(2000, 0),
                          TrainConfig(steps=steps, batch_size=32, log_every=steps), progress=False)
    return {"size": size, "params": count_parameters(model),
            "train_tokens_per_s": round(res.tokens_per_second)}


def generation_speed(size: str, n_prompts: int = 64, new_tokens: int = 32) -> dict:
    import torch

    task = get_task("reverse")
    tok = build_char_tokenizer(task.alphabet)
    model = build_model(size, len(tok))
    prompts = [e.prompt for e in task.make(n_prompts, 1)]
    t0 = time.perf_counter()
    ours = generate(model, tok, prompts, max_new_tokens=new_tokens, batch_size=64)
    t_ours = time.perf_counter() - t0
    ours_tokens = sum(o[0].completion_tokens for o in ours)
    # Reference: transformers' own generate, one prompt at a time (no padding to get wrong).
    t0 = time.perf_counter()
    ref_tokens = 0
    for p in prompts:
        ids = torch.tensor([tok.encode(p)])
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                             do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=0)
        ref_tokens += out.shape[1] - ids.shape[1]
    t_ref = time.perf_counter() - t0
    # Reference 2: transformers' generate on the same left-padded batch.
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True)
    t0 = time.perf_counter()
    model.generate(**enc, max_new_tokens=new_tokens, do_sample=False,
                   eos_token_id=tok.eos_token_id, pad_token_id=0)
    t_ref_batch = time.perf_counter() - t0
    return {"size": size, "gen_tokens_per_s_ours": round(ours_tokens / t_ours),
            "gen_tokens_per_s_hf_one_by_one": round(ref_tokens / t_ref),
            "speedup_vs_hf_one_by_one": round(t_ref / t_ours, 2),
            "speedup_vs_hf_batched": round(t_ref_batch / t_ours, 2)}


def threads_child(n: int) -> float:
    set_torch_threads(n)
    return train_speed("mini", 30)["train_tokens_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/bench_lm.json")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--threads-child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads_child:
        print(threads_child(args.threads_child))
        return
    set_torch_threads(1)
    rows = []
    for size in TINY_CONFIGS:
        row = {**train_speed(size, args.steps), **generation_speed(size)}
        rows.append(row)
        print(json.dumps(row))
    threads = {}
    for n in (1, 2):  # each in a fresh process so the thread pool is set before any work
        r = subprocess.run([sys.executable, __file__, "--threads-child", str(n)],
                           capture_output=True, text=True, check=True)
        threads[n] = float(r.stdout.strip().splitlines()[-1])
    result = {"configs": rows, "mini_train_tokens_per_s_by_threads": threads,
              "threads_2_over_1": round(threads[2] / threads[1], 2)}
    print(json.dumps(result["mini_train_tokens_per_s_by_threads"]), "2/1 ratio:",
          result["threads_2_over_1"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
