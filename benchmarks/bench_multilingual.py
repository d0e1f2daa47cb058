"""Benchmark: near-duplicate search and language ID, each as a ratio to a reference in the same run.

1. Near-duplicate removal: our MinHash + LSH (`dedup.near_duplicate_groups`) against brute-force
   exact Jaccard over every kept text (`near_duplicates_brute_force`, the same greedy rule), on
   the shipped parallel text plus perturbed copies (a few characters edited, a word dropped).
   Reported: seconds each, speed-up, and the share of texts on which the two agree.
2. Language ID: our guarded `detect_many` with the langid backend against raw
   `langid.classify` on the same texts, pinned to one BLAS thread like the backend (the cost of
   the `und` guards), raw langid with numpy's default threads (what pinning buys), and the
   lingua backend's throughput against raw langid's.

    python benchmarks/bench_multilingual.py                 # 3,000 texts for dedup
    python benchmarks/bench_multilingual.py --n 6000 --out benchmarks/results/bench_multilingual.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path


def corpus(n: int, seed: int = 0) -> list[str]:
    """The 720 parallel texts, then perturbed copies of random ones, shuffled, `n` in all."""
    from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences

    base = [t for d in (parallel_sentences(), parallel_questions()) for texts in d.values() for t in texts]
    rng = random.Random(seed)
    out = list(base)
    while len(out) < n:
        text = list(rng.choice(base))
        for _ in range(rng.randint(0, 3)):
            text[rng.randrange(len(text))] = rng.choice("aeiouxyz ")
        words = "".join(text).split(" ")
        if len(words) > 4 and rng.random() < 0.5:
            del words[rng.randrange(len(words))]
        out.append(" ".join(words))
    rng.shuffle(out)
    return out[:n]


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    res = fn(*args, **kw)
    return res, time.perf_counter() - t0


def bench_dedup(texts: list[str], threshold: float) -> dict:
    from neurips23.multilingual.dedup import near_duplicate_groups, near_duplicates_brute_force

    ours, t_ours = timed(near_duplicate_groups, texts, threshold)
    ref, t_ref = timed(near_duplicates_brute_force, texts, threshold)
    agree = sum((a is None) == (b is None) for a, b in zip(ours, ref, strict=True)) / len(texts)
    return {"texts": len(texts), "threshold": threshold,
            "minhash_lsh_s": t_ours, "brute_force_s": t_ref, "speedup_vs_brute_force": t_ref / t_ours,
            "duplicates_minhash": sum(x is not None for x in ours),
            "duplicates_brute_force": sum(x is not None for x in ref), "agreement": agree}


def bench_langid(texts: list[str]) -> dict:
    from neurips23.multilingual.langid import detect_many, langid_identifier

    ident = langid_identifier()
    detect_many(texts[:5], "langid")   # load models outside the timings
    detect_many(texts[:5], "lingua")
    from threadpoolctl import threadpool_limits

    def raw_pinned():
        with threadpool_limits(limits=1):
            return [ident.classify(t) for t in texts]

    _, t_raw = timed(lambda: [ident.classify(t) for t in texts])
    _, t_pinned = timed(raw_pinned)
    guarded, t_guard = timed(detect_many, texts, "langid")
    _, t_lingua = timed(detect_many, texts, "lingua")
    n = len(texts)
    return {"texts": n, "raw_langid_per_s": n / t_raw, "raw_langid_one_thread_per_s": n / t_pinned,
            "guarded_langid_per_s": n / t_guard, "lingua_per_s": n / t_lingua,
            "one_thread_speedup_of_raw_langid": t_raw / t_pinned,
            "guard_overhead_ratio_vs_one_thread_raw": t_guard / t_pinned,
            "lingua_vs_one_thread_raw_langid_time_ratio": t_lingua / t_pinned,
            "und_share_guarded_langid": sum(d.language == "und" for d in guarded) / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="texts in the dedup corpus")
    ap.add_argument("--threshold", type=float, default=0.8, help="near-duplicate Jaccard threshold")
    ap.add_argument("--out", default="benchmarks/results/bench_multilingual.json")
    args = ap.parse_args()

    from neurips23.utils import quiet_third_party

    quiet_third_party()
    texts = corpus(args.n)
    results = {"dedup": bench_dedup(texts, args.threshold), "langid": bench_langid(texts[:720]),
               "loadavg": Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else None,
               "settings": vars(args)}
    text = json.dumps(results, indent=2)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
