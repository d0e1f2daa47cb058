"""`neurips23 tot run`: one method on chosen Game of 24 puzzles with any backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurips23.lm.backends.base import Prices, Usage
from neurips23.tot.game24 import Game24Task, puzzles, read_puzzle_file
from neurips23.tot.game24.data import parse_index_range
from neurips23.tot.meter import Meter
from neurips23.tot.search import BFSConfig, bfs, sample_baseline


@dataclass
class RunSettings:
    """What `tot run` was asked to do (written as config.resolved.yaml)."""

    method: str = "tot"
    backend: str = "hf"
    model: str = ""
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    puzzles: str = "900-999"
    puzzle_file: str | None = None
    b: int = 5
    n_evaluate: int = 3
    k: int = 100
    temperature: float = 0.7
    max_tokens: int = 1000
    few_shot: bool = True
    chat: bool = False
    chunk: int = 10
    price_prompt: float = 0.03
    price_completion: float = 0.06
    seed: int = 0


def select_puzzles(spec: str, puzzle_file: str | None) -> list[str]:
    """Puzzle texts by 0-based index: of the paper's 24.csv if given, else of `puzzles()`."""
    pool = read_puzzle_file(puzzle_file) if puzzle_file else list(puzzles())
    return [" ".join(map(str, pool[i])) for i in parse_index_range(spec, len(pool))]


def solve_chunk(s: RunSettings, task: Game24Task, model: Any, xs: list[str],
                cache: dict) -> list[dict]:
    """Per-puzzle rows (answer, correct, calls, tokens, cost) for one chunk of puzzles."""
    prices = Prices(s.price_prompt, s.price_completion)
    meter = Meter(model, chat=s.chat)
    rows = []
    if s.method == "tot":
        cfg = BFSConfig(n_select=s.b, n_evaluate=s.n_evaluate, temperature=s.temperature,
                        max_tokens=s.max_tokens, value_max_tokens=s.max_tokens, seed=s.seed)
        for r in bfs(task, model, xs, cfg, cache=cache, meter=meter):
            finals_ok = [task.is_correct(r.x, y) for y in r.finals]
            rows.append({"puzzle": r.x, "answer": task.final_answer(r.x, r.top),
                         "correct": bool(finals_ok and finals_ok[0]), "any_correct": any(finals_ok),
                         "finals": r.finals, "values": r.values, **r.cost.as_dict(prices)})
    else:
        res = sample_baseline(task, model, xs, s.k,
                              cot=s.method != "io", temperature=s.temperature,
                              max_tokens=s.max_tokens, seed=s.seed, meter=meter)
        for r in res:
            if s.method == "cot-sc":
                answer, correct = r.majority, r.majority_correct
            else:
                answer, correct = r.samples[0], r.correct[0]
            rows.append({"puzzle": r.x, "answer": task.final_answer(r.x, answer),
                         "correct": correct, "mean_correct": r.mean, "any_correct": r.any,
                         **r.cost.as_dict(prices)})
    return rows


def run_game24(s: RunSettings, runs_dir: Path = Path("runs")) -> Path:
    """Run `s.method` on the chosen puzzles; samples.jsonl per puzzle, results.json summary."""
    from rich.progress import Progress

    from neurips23.lm.backends import load_backend
    from neurips23.report.records import start_run

    xs = select_puzzles(s.puzzles, s.puzzle_file)
    model = load_backend(s.backend, s.model, base_url=s.base_url, api_key_env=s.api_key_env)
    task = Game24Task(few_shot=s.few_shot)
    run = start_run("tot", s, runs_dir, profile=f"run-{s.method}")
    rows: list[dict] = []
    cache: dict = {}
    with Progress() as progress:
        bar = progress.add_task(f"{s.method} on {len(xs)} puzzles", total=len(xs))
        for i in range(0, len(xs), max(1, s.chunk)):
            chunk_rows = solve_chunk(s, task, model, xs[i: i + s.chunk], cache)
            run.log_samples(chunk_rows)
            rows += chunk_rows
            progress.update(bar, advance=len(chunk_rows),
                            description=f"{s.method}: {sum(r['correct'] for r in rows)}"
                                        f"/{len(rows)} solved")
    total = Usage()
    for r in rows:
        total.add(r["calls"], r["prompt_tokens"], r["completion_tokens"])
    n = len(rows)
    metrics = {
        "method": s.method, "model": s.model, "puzzles": n,
        "success": sum(r["correct"] for r in rows) / n,
        "any_correct": sum(r["any_correct"] for r in rows) / n,
        "per_puzzle": {"calls": total.calls / n, "prompt_tokens": total.prompt_tokens / n,
                       "completion_tokens": total.completion_tokens / n,
                       "cost_usd": total.cost(Prices(s.price_prompt, s.price_completion)) / n},
    }
    if all("mean_correct" in r for r in rows):
        # the paper's IO/CoT figures are the mean over the k samples, not the first sample's
        metrics["mean_correct_over_samples"] = sum(r["mean_correct"] for r in rows) / n
    run.finish(metrics, [], seeds=[s.seed])
    return run.dir
