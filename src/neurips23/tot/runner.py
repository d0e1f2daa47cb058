"""`neurips23 tot run`: one method on chosen Game of 24 puzzles with any backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neurips23.core.cli_config import param
from neurips23.errors import ConfigError
from neurips23.lm.backends import BackendOptions
from neurips23.lm.backends.base import Prices, Usage
from neurips23.tot.game24 import Game24Task, puzzles, read_puzzle_file
from neurips23.tot.game24.data import parse_index_range
from neurips23.tot.meter import Meter
from neurips23.tot.search import BFSConfig, bfs, sample_baseline


@dataclass
class RunConfig(BackendOptions):
    """What `tot run` does: one method on chosen puzzles with any backend (the options of the
    command, written to the run's config.resolved.yaml)."""

    method: Literal["tot", "io", "cot", "cot-sc"] = param("tot", "The method to run.")
    task: Literal["game24"] = param("game24", "The task (Game of 24).")
    puzzles: str = param("900-999", "0-based puzzle indices, e.g. 900-999,3.")
    puzzle_file: str = param("", "The paper's 24.csv (Puzzles column); default: our exhaustive "
                                 "puzzle list, sorted.")
    b: int = param(5, "ToT breadth (states kept per step).")
    n_evaluate: int = param(3, "Value samples per state.")
    k: int = param(100, "Samples for io / cot / cot-sc.")
    temperature: float = param(0.7, "Sampling temperature.")
    max_tokens: int = param(1000, "Most tokens per model call.")
    few_shot: bool = param(True, "The paper's few-shot prompts (off: zero-shot formats, for "
                                 "models trained on them).")
    chat: bool | None = param(None, "Send prompts as chat (default: on for openai).")
    chunk: int = param(10, "Puzzles searched together (one batch per step).")
    price_prompt: float = param(0.03, "USD per 1k prompt tokens (GPT-4's, as in the paper).")
    price_completion: float = param(0.06, "USD per 1k completion tokens.")
    seed: int = param(0, "Sampling seed.")
    runs_dir: str = param("runs", "Where the run record goes.")

    def validate(self) -> None:
        """Counts must be positive."""
        for name in ("chunk", "b", "k", "n_evaluate", "max_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be "
                                  "at least 1")

    @property
    def prices(self) -> Prices:
        """The prices cost is reported at."""
        return Prices(self.price_prompt, self.price_completion)

    @property
    def as_chat(self) -> bool:
        """Chat prompts: as asked, else for the openai backend."""
        return self.backend == "openai" if self.chat is None else self.chat


def select_puzzles(spec: str, puzzle_file: str = "") -> list[str]:
    """Puzzle texts by 0-based index: of the paper's 24.csv if given, else of `puzzles()`."""
    pool = read_puzzle_file(puzzle_file) if puzzle_file else list(puzzles())
    return [" ".join(map(str, pool[i])) for i in parse_index_range(spec, len(pool))]


def solve_chunk(s: RunConfig, task: Game24Task, model: Any, xs: list[str],
                cache: dict, on_step: Callable[[int], None] | None = None) -> list[dict]:
    """Per-puzzle rows (answer, correct, calls, tokens, cost) for one chunk of puzzles;
    `on_step` is called after each ToT search step (progress)."""
    prices = s.prices
    meter = Meter(model, chat=s.as_chat)
    rows = []
    if s.method == "tot":
        cfg = BFSConfig(n_select=s.b, n_evaluate=s.n_evaluate, temperature=s.temperature,
                        max_tokens=s.max_tokens, value_max_tokens=s.max_tokens, seed=s.seed)
        for r in bfs(task, model, xs, cfg, cache=cache, meter=meter, on_step=on_step):
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


def run_game24(s: RunConfig) -> Path:
    """Run `s.method` on the chosen puzzles; samples.jsonl per puzzle, results.json summary."""
    from rich.console import Console
    from rich.progress import Progress

    from neurips23.core.run import start_run

    s.validate()
    xs = select_puzzles(s.puzzles, s.puzzle_file)
    model = s.load()
    task = Game24Task(few_shot=s.few_shot)
    run = start_run("tot", s, Path(s.runs_dir), profile=f"run-{s.method}", kind="tool")
    rows: list[dict] = []
    cache: dict = {}
    with Progress(console=Console(stderr=True)) as progress:
        bar = progress.add_task(f"{s.method} on {len(xs)} puzzles", total=len(xs))
        for i in range(0, len(xs), max(1, s.chunk)):
            chunk = xs[i: i + s.chunk]

            def step_done(k: int, n: int = len(chunk)) -> None:  # a ToT step: n/steps puzzles
                progress.update(bar, advance=n / task.steps)

            chunk_rows = solve_chunk(s, task, model, chunk, cache, on_step=step_done)
            run.log_samples(chunk_rows)
            rows += chunk_rows
            progress.update(bar, completed=len(rows),
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
                       "cost_usd": total.cost(s.prices) / n},
    }
    if all("mean_correct" in r for r in rows):
        # the paper's IO/CoT figures are the mean over the k samples, not the first sample's
        metrics["mean_correct_over_samples"] = sum(r["mean_correct"] for r in rows) / n
    run.finish(metrics, [], seeds=[s.seed])
    return run.dir
