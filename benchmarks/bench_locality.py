"""Locality throughput: the estimators' samples/s batched against one partial sample per
forward (same model, same items, same run), and the training cost of each training format
(data generation, tokens per sample, training tokens/s and seconds per 1,000 samples).

    python benchmarks/bench_locality.py [--out benchmarks/results/bench_locality.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from neurips23.lm.models import build_model
from neurips23.lm.train import TrainConfig, train_causal_lm
from neurips23.locality.config import MODEL_DIMS
from neurips23.locality.estimators import LMReader
from neurips23.locality.evaluation import ESTIMATORS, evaluate_estimators, mse
from neurips23.locality.formats import FORMATS
from neurips23.locality.training import packed_examples
from neurips23.locality.world import build_world
from neurips23.utils import set_torch_threads


def train_model(world, steps: int):
    """A model of the reproduction's size, briefly trained on local samples (so free
    generation walks like a trained model, not at random)."""
    tok, examples = packed_examples(world, "local_geom", 20_000, 0, 128)
    model = build_model(MODEL_DIMS, len(tok), max_position_embeddings=256)
    train_causal_lm(model, tok, examples, TrainConfig(steps=steps, batch_size=32, lr=3e-3,
                                                      warmup_steps=20, log_every=steps),
                    progress=False)
    return model, tok


def estimator_speed(world, model, tok, n_samples: int) -> dict:
    """Samples/s of each estimator with batched forwards (256 rows) and with one row per forward."""
    out = {}
    for label, batch in (("batched", 256), ("one_at_a_time", 1)):
        reader = LMReader(model, tok, world.net.n_vars, batch_size=batch)
        rows, timing = evaluate_estimators(reader, world.net, world.pair_tuples, n_samples, seed=0)
        out[label] = {e: round(timing[e]["samples_per_second"], 1) for e in ESTIMATORS}
        out[label + "_mse"] = {e: round(mse(rows, e), 5) for e in ("marginal", *ESTIMATORS)}
        out[label + "_free_mean_steps"] = round(float(np.mean([r["free_steps"] for r in rows])), 1)
    out["speedup"] = {e: round(out["batched"][e] / out["one_at_a_time"][e], 1) for e in ESTIMATORS}
    return out


def training_cost(world, n_samples: int, steps: int) -> list[dict]:
    """Per training format: data generation s per 1k samples, tokens per sample, training
    tokens/s at the reproduction's model size, and training s per 1k samples."""
    rows = []
    for fmt in FORMATS:
        t0 = time.perf_counter()
        tok, examples = packed_examples(world, fmt, n_samples, 0, 128)
        gen = time.perf_counter() - t0
        n_tokens = sum(len(ids) for ids in tok([e.response for e in examples],
                                               add_special_tokens=False)["input_ids"])
        model = build_model(MODEL_DIMS, len(tok), max_position_embeddings=256)
        res = train_causal_lm(model, tok, examples, TrainConfig(steps=steps, batch_size=32,
                                                                max_length=256, log_every=steps),
                              progress=False)
        per_sample = n_tokens / n_samples
        rows.append({"format": fmt, "data_s_per_1k_samples": round(1000 * gen / n_samples, 3),
                     "tokens_per_sample": round(per_sample, 1),
                     "train_tokens_per_s": round(res.tokens_per_second),
                     "train_s_per_1k_samples": round(1000 * per_sample / res.tokens_per_second, 2)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/results/bench_locality.json")
    ap.add_argument("--n-vars", type=int, default=50)
    ap.add_argument("--train-steps", type=int, default=200)
    ap.add_argument("--n-samples", type=int, default=10)
    args = ap.parse_args()
    set_torch_threads(1)
    world = build_world(args.n_vars, args.n_vars, 0, 10)
    model, tok = train_model(world, args.train_steps)
    result = {
        "setup": {"n_vars": args.n_vars, "held_out_pairs": len(world.pairs),
                  "items": 4 * len(world.pairs), "n_samples": args.n_samples,
                  "model": MODEL_DIMS, "train_steps": args.train_steps, "torch_threads": 1,
                  "loadavg": os.getloadavg()},
        "estimators": estimator_speed(world, model, tok, args.n_samples),
        "training_cost": training_cost(world, 5000, 30),
    }
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    assert np.isfinite(result["estimators"]["batched_mse"]["direct"])


if __name__ == "__main__":
    main()
