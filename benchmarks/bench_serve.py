"""SmolLM2-135M generation speed: in process vs through `neurips23 serve`, single and batched.

The reference is the same model generating in this process (`HFBackend.complete`); the server
runs in a thread of this process (`background_server`) and is queried over HTTP with the
official `openai` SDK: one request at a time, then `--batch` concurrent requests (the server's
micro-batcher joins them). Reported: completion tokens per second of wall time, and the ratio
server / in process for each shape. Writes benchmarks/results/bench_serve.json.

    python benchmarks/bench_serve.py [--tokens 64 --batch 16 --repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROMPT = "Write a short story about a robot who learns to paint. Once upon a time,"


def in_process(backend, prompts: list[str], tokens: int) -> tuple[int, float]:
    """(completion tokens, seconds) of one greedy generation call in this process."""
    t0 = time.perf_counter()
    outs = backend.complete(prompts, max_tokens=tokens, temperature=0.0)
    return sum(c.completion_tokens for g in outs for c in g), time.perf_counter() - t0


def through_server(client, prompts: list[str], tokens: int) -> tuple[int, float]:
    """(completion tokens, seconds) of one request per prompt, all sent concurrently."""
    def one(p: str) -> int:
        r = client.completions.create(model="smollm2-135m", prompt=p, max_tokens=tokens,
                                      temperature=0)
        return r.usage.completion_tokens

    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(prompts)) as pool:
        n = sum(pool.map(one, prompts))
    return n, time.perf_counter() - t0


def best_rate(fn, repeats: int) -> dict[str, float]:
    """Tokens per second of the fastest of `repeats` runs (after one warm-up)."""
    fn()
    runs = [fn() for _ in range(repeats)]
    n, s = max(runs, key=lambda r: r[0] / r[1])
    return {"tokens": n, "seconds": round(s, 3), "tokens_per_s": round(n / s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import openai

    from neurips23.lm.backends import load_backend
    from neurips23.serve import background_server, create_app
    from neurips23.utils import quiet_third_party, set_torch_threads

    quiet_third_party()
    threads = set_torch_threads()
    backend = load_backend("hf", "smollm2-135m")
    prompts = [f"{PROMPT} ({i})" for i in range(args.batch)]
    shapes = {"single": prompts[:1], f"batch of {args.batch}": prompts}
    results: dict[str, dict] = {}
    for shape, ps in shapes.items():
        results[f"in process, {shape}"] = best_rate(
            lambda ps=ps: in_process(backend, ps, args.tokens), args.repeats)
    app = create_app(backend, "smollm2-135m")
    with background_server(app) as url:
        client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0)
        for shape, ps in shapes.items():
            calls = app.state.batcher.calls
            results[f"server, {shape}"] = best_rate(
                lambda ps=ps: through_server(client, ps, args.tokens), args.repeats)
            results[f"server, {shape}"]["model_calls_per_run"] = (
                (app.state.batcher.calls - calls) / (args.repeats + 1))
    ratios = {shape: round(results[f"server, {shape}"]["tokens_per_s"]
                           / results[f"in process, {shape}"]["tokens_per_s"], 3)
              for shape in shapes}
    out = {"model": "smollm2-135m", "max_tokens": args.tokens, "torch_threads": threads,
           "loadavg": Path("/proc/loadavg").read_text().split()[:3]
           if os.path.exists("/proc/loadavg") else None,
           "results": results, "ratio_server_over_in_process": ratios}
    path = Path(__file__).parent / "results" / "bench_serve.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
