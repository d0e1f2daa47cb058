"""`neurips23 serve` under load, on SmolLM2-135M: latency, overload and a soak, in one run.

Starts `neurips23 serve` (the CLI, a separate process, so that its memory is its own) on a free
port of 127.0.0.1 and drives it with concurrent /v1/completions requests (greedy, a fixed
number of tokens each). All traffic stays on 127.0.0.1; every phase is bounded in requests
and time.

1. Concurrency 1, 4, 16, 64: completion tokens per second of wall time, p50/p95 latency.
2. Overload: a burst of `--burst` (300) requests at once against `--max-pending` (64)
   admissions: how many are refused (429/503) and how fast, and the admitted ones' p95
   against the unloaded (concurrency 1) p95.
3. Soak: `--soak-seconds` (600) at concurrency 16, counting errors and sampling the server's
   resident memory (RSS) every second: first, last, peak and the fitted slope.

Writes benchmarks/results/bench_serve.json (or `--out`) with the load average before and
after. `--quick` (fewer requests, 8 tokens) with `--soak-seconds 10` checks that it runs.

    python benchmarks/bench_serve.py [--quick] [--soak-seconds 600] [--burst 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

PROMPT = "Write a short story about a robot who learns to paint. Once upon a time,"
HOST = "127.0.0.1"


def loadavg() -> list[str] | None:
    """The 1, 5 and 15 minute load averages."""
    path = Path("/proc/loadavg")
    return path.read_text().split()[:3] if path.exists() else None


def rss_mb(pid: int) -> float | None:
    """Resident memory of process `pid` in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def slope_per_min(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return None
    n = len(samples)
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    return 60 * sum((t - mx) * (v - my) for t, v in samples) / var if var else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, max_pending: int, batch_size: int) -> subprocess.Popen:
    """`neurips23 serve` on HOST:port; returns once /v1/models answers (at most 15 min)."""
    import httpx

    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "neurips23.cli", "serve", "--host", HOST,
                             "--port", str(port), "--max-pending", str(max_pending),
                             "--batch-size", str(batch_size)], env=env)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://{HOST}:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit("the server did not come up within 15 minutes")


async def one(client, tokens: int, i: int) -> dict:
    """One completion request: its status, latency and completion tokens."""
    t0 = time.perf_counter()
    try:
        r = await client.post("/completions", json={
            "model": "smollm2-135m", "prompt": f"{PROMPT} ({i})", "max_tokens": tokens,
            "temperature": 0})
        used = r.json().get("usage", {}).get("completion_tokens", 0) if r.status_code == 200 else 0
        return {"status": r.status_code, "s": time.perf_counter() - t0, "tokens": used,
                "server_s": server_seconds(r.headers.get("server-timing", ""))}
    except Exception as e:  # a transport error counts as an error, with its kind
        return {"status": type(e).__name__, "s": time.perf_counter() - t0, "tokens": 0}


def server_seconds(header: str) -> float | None:
    """The server's own time for a request, from its `Server-Timing: app;dur=<ms>` header."""
    for part in header.split(";"):
        if part.strip().startswith("dur="):
            return float(part.strip()[4:]) / 1000
    return None


def summary(rows: list[dict], wall: float) -> dict:
    """Counts, throughput and latency percentiles of finished requests."""
    ok = [r["s"] for r in rows if r["status"] == 200]
    return {"requests": len(rows), "ok": len(ok), "errors": len(rows) - len(ok),
            "seconds": round(wall, 3),
            "tokens_per_s": round(sum(r["tokens"] for r in rows) / wall, 2) if wall else None,
            "p50_s": _r(percentile(ok, 50)), "p95_s": _r(percentile(ok, 95))}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


async def at_concurrency(client, level: int, requests: int, tokens: int) -> dict:
    """`requests` requests, `level` at a time."""
    sem = asyncio.Semaphore(level)

    async def limited(i: int) -> dict:
        async with sem:
            return await one(client, tokens, i)

    t0 = time.perf_counter()
    rows = await asyncio.gather(*(limited(i) for i in range(requests)))
    return summary(list(rows), time.perf_counter() - t0)


async def burst(client, size: int, tokens: int, unloaded_p95: float | None) -> dict:
    """`size` requests at once: refused ones (429/503) and admitted ones, apart."""
    t0 = time.perf_counter()
    rows = await asyncio.gather(*(one(client, tokens, i) for i in range(size)))
    wall = time.perf_counter() - t0
    refused = [r["s"] for r in rows if r["status"] in (429, 503)]
    at_server = [r["server_s"] for r in rows if r["status"] in (429, 503) and r["server_s"]]
    admitted = [r["s"] for r in rows if r["status"] == 200]
    p95 = percentile(admitted, 95)
    return {"requests": size, "admitted": len(admitted), "refused": len(refused),
            "other": size - len(admitted) - len(refused), "seconds": round(wall, 3),
            "refused_p50_s": _r(percentile(refused, 50)),
            "refused_max_s": _r(max(refused) if refused else None),
            "refused_server_p50_s": _r(percentile(at_server, 50)),
            "refused_server_p95_s": _r(percentile(at_server, 95)),
            "refused_server_max_s": _r(max(at_server) if at_server else None),
            "admitted_p50_s": _r(percentile(admitted, 50)), "admitted_p95_s": _r(p95),
            "unloaded_p95_s": _r(unloaded_p95),
            "admitted_p95_over_unloaded": round(p95 / unloaded_p95, 2)
            if p95 and unloaded_p95 else None}


async def soak(client, pid: int, seconds: float, level: int, tokens: int) -> dict:
    """`level` clients sending requests back to back for `seconds`; RSS sampled each second."""
    stop_at = time.monotonic() + seconds
    rows: list[dict] = []
    samples: list[tuple[float, float]] = []
    t0 = time.monotonic()

    async def worker(w: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            rows.append(await one(client, tokens, w * 1_000_000 + i))
            i += 1

    async def sampler() -> None:
        while time.monotonic() < stop_at:
            mb = rss_mb(pid)
            if mb is not None:
                samples.append((time.monotonic() - t0, mb))
            await asyncio.sleep(1.0)

    await asyncio.gather(sampler(), *(worker(w) for w in range(level)))
    out = summary(rows, time.monotonic() - t0)
    errors: dict[str, int] = {}
    for r in rows:
        if r["status"] != 200:
            errors[str(r["status"])] = errors.get(str(r["status"]), 0) + 1
    mbs = [v for _, v in samples]
    out.update({"concurrency": level, "error_kinds": errors,
                "rss_mb": {"first": _r(mbs[0]) if mbs else None,
                           "last": _r(mbs[-1]) if mbs else None,
                           "peak": _r(max(mbs)) if mbs else None,
                           "slope_mb_per_min": _r(slope_per_min(samples)),
                           "samples": len(mbs)}})
    return out


async def drive(args, port: int, pid: int) -> dict:
    import httpx

    tokens = 8 if args.quick else args.tokens
    limits = httpx.Limits(max_connections=args.burst + 16, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}/v1", limits=limits,
                                 timeout=httpx.Timeout(900, connect=60)) as client:
        await one(client, tokens, -1)  # warm-up
        levels = {}
        for level in (1, 4, 16, 64):
            requests = max(level, 4) if args.quick else max(2 * level, 8)
            levels[str(level)] = await at_concurrency(client, level, requests, tokens)
        overload = await burst(client, args.burst, tokens, levels["1"]["p95_s"])
        soaked = await soak(client, pid, args.soak_seconds, 16, tokens)
    return {"max_tokens": tokens, "concurrency": levels, "burst": overload, "soak": soaked}


async def latency_sized_burst(args, port: int) -> dict:
    """The burst again, against a server whose admission limit is sized for latency
    (--burst-max-pending): its own unloaded p95 first, then the burst."""
    import httpx

    tokens = 8 if args.quick else args.tokens
    limits = httpx.Limits(max_connections=args.burst + 16, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}/v1", limits=limits,
                                 timeout=httpx.Timeout(900, connect=60)) as client:
        await one(client, tokens, -1)  # warm-up
        unloaded = await at_concurrency(client, 1, 4 if args.quick else 8, tokens)
        out = await burst(client, args.burst, tokens, unloaded["p95_s"])
    return {"max_pending": args.burst_max_pending, **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=32, help="completion tokens per request")
    ap.add_argument("--burst", type=int, default=300)
    ap.add_argument("--soak-seconds", type=float, default=600.0)
    ap.add_argument("--max-pending", type=int, default=64, help="the server's admission limit")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--burst-max-pending", type=int, default=4,
                    help="the admission limit of a second server, sized for latency, that takes "
                         "the burst again (0: skip)")
    ap.add_argument("--quick", action="store_true", help="fewer requests, 8 tokens each")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "bench_serve.json")
    args = ap.parse_args()
    if not (0 < args.burst <= 1000 and 0 < args.soak_seconds <= 3600):
        raise SystemExit("--burst must be in 1..1000 and --soak-seconds in (0, 3600]")

    port = free_port()
    before = loadavg()
    proc = start_server(port, args.max_pending, args.batch_size)
    try:
        results = asyncio.run(drive(args, port, proc.pid))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    if args.burst_max_pending > 0:
        port = free_port()
        proc = start_server(port, args.burst_max_pending, args.batch_size)
        try:
            results["burst_latency_sized"] = asyncio.run(latency_sized_burst(args, port))
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    out = {"model": "smollm2-135m", "server": {"max_pending": args.max_pending,
                                               "batch_size": args.batch_size,
                                               "torch_threads": os.environ.get(
                                                   "NEURIPS23_THREADS", "default")},
           "quick": args.quick, "loadavg_before": before, "loadavg_after": loadavg(),
           **results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
