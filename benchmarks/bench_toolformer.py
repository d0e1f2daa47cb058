"""Filter throughput (sampled calls scored per second: L_i(ε), L_i(e(c, ε)), L_i(e(c, r)) each)
with our batched scoring vs a one-call-per-forward transcription, same model, same calls.

The transcription is how the filter reads in the paper: for every call, three forward passes
over the whole text with z in front, then the weighted loss of the 5 tokens after position i.
Ours puts many sequences in one left-padded forward pass, cuts each right after its last
weighted token, and scores a shared L_i(ε) once. Both must give the same losses.

    python benchmarks/bench_toolformer.py [--models micro,smollm2-135m] [--calls 300,30]
                                          [--batch-size 64] [--out benchmarks/results/bench_toolformer.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def transcription_losses(model, tok, requests, window: int = 5) -> list[float]:
    """One forward pass per (call, z): the whole text after z, no batching, no sharing."""
    import torch

    from neurips23.toolformer.filtering import (
        PREFIX_SEPARATOR,
        filter_weights,
        special_prefix,
        weighted_loss,
    )

    weights = filter_weights(window)
    specials = special_prefix(tok)
    out = []
    with torch.no_grad():
        for r in requests:
            head = list(specials) + (tok.encode(r.z + PREFIX_SEPARATOR, add_special_tokens=False)
                                     if r.z else [])
            ids = torch.tensor([head + list(r.text.ids)])
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
            first = len(head) + r.position
            targets = ids[0, first:first + window]
            lp = logp[first - 1:first - 1 + len(targets)].gather(-1, targets[:, None])[:, 0]
            out.append(weighted_loss(lp.tolist(), weights))
    return out


def requests_for(tok, n_calls: int, seed: int = 0):
    """Three requests per call (ε, e(c, ε), e(c, r)) at the answer of synthetic texts."""
    from neurips23.toolformer import synthetic as S
    from neurips23.toolformer.calls import APICall, format_call
    from neurips23.toolformer.filtering import LossRequest, tokenize_text

    rng = random.Random(seed)
    reqs = []
    for _ in range(n_calls):
        item = S.arithmetic_item(rng)
        x = tokenize_text(tok, item.text)
        off = item.text.rindex(str(item.answer))
        i = x.token_index(off)
        if i is None:  # a BPE boundary elsewhere: take the nearest token start
            i = max(k for k, s in enumerate(x.starts) if s <= off)
        call = APICall("Calculator", f"{item.a}{item.op}{item.b}")
        reqs += [LossRequest(x, i), LossRequest(x, i, format_call(call, "")),
                 LossRequest(x, i, format_call(call, str(item.answer)))]
    return reqs


def load(name: str):
    """A tiny model size (untrained, the reproduction's tokenizer) or any model name/path."""
    if name in ("nano", "micro", "mini", "small"):
        from neurips23.lm.models import build_model
        from neurips23.toolformer.synthetic import build_tokenizer

        tok = build_tokenizer()
        return build_model(name, len(tok), max_position_embeddings=256), tok
    from neurips23.lm.models import load_model

    return load_model(name)


def bench_model(name: str, calls: int, batch_size: int) -> dict:
    """Both scorers on the same calls of one model: seconds, calls/s, ratio, largest loss gap."""
    from neurips23.toolformer.filtering import weighted_losses

    model, tok = load(name)
    model.eval()
    reqs = requests_for(tok, calls)
    weighted_losses(model, tok, reqs[:6], batch_size=batch_size)  # warm-up
    t0 = time.perf_counter()
    ours = weighted_losses(model, tok, reqs, batch_size=batch_size)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = transcription_losses(model, tok, reqs)
    ref_s = time.perf_counter() - t0
    diff = max(abs(a - b) for a, b in zip(ours, ref, strict=True))
    assert diff < 1e-3, f"{name}: batched and per-call losses differ by {diff}"
    return {"calls": calls,
            "batched": {"seconds": ours_s, "calls_per_s": calls / ours_s},
            "one_call_per_forward": {"seconds": ref_s, "calls_per_s": calls / ref_s},
            "ratio": ref_s / ours_s, "max_abs_loss_diff": diff,
            "loadavg": open("/proc/loadavg").read().split()[:3]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="micro,smollm2-135m",
                    help="comma-separated: tiny sizes, smollm2-135m, or any model name/path")
    ap.add_argument("--calls", default="300,30", help="calls per model (comma-separated)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", default="benchmarks/results/bench_toolformer.json")
    args = ap.parse_args()

    from neurips23.utils import set_torch_threads

    set_torch_threads(1)
    models = args.models.split(",")
    calls = [int(c) for c in args.calls.split(",")]
    calls += [calls[-1]] * (len(models) - len(calls))
    results = {"models": {m: bench_model(m, n, args.batch_size)
                          for m, n in zip(models, calls, strict=False)},
               "settings": vars(args) | {"threads": 1}}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
