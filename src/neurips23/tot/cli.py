"""`neurips23 tot ...`: run ToT / IO / CoT / CoT-SC on Game of 24 with any backend; reproduce."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from neurips23.errors import UserError

app = typer.Typer(help="Tree of Thoughts (Yao et al. 2023): BFS over LM thoughts, Game of 24.",
                  no_args_is_help=True)

METHODS = ("tot", "io", "cot", "cot-sc")


@app.command()
def run(
    task: str = typer.Option("game24", help="Task (game24)."),
    method: str = typer.Option("tot", help="tot | io | cot | cot-sc"),
    backend: str = typer.Option("hf", help="hf (in-process model) | openai (any compatible API)"),
    model: str = typer.Option(..., help="Model name or path (hf) or endpoint model name."),
    base_url: str = typer.Option(None, help="OpenAI-compatible base URL (openai backend)."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="Env var holding the API key."),
    puzzles: str = typer.Option("900-999", help="0-based puzzle indices, e.g. 900-999,3."),
    puzzle_file: Path = typer.Option(None, help="The paper's 24.csv (Puzzles column); "
                                     "default: our exhaustive puzzle list, sorted."),
    b: int = typer.Option(5, help="ToT breadth (states kept per step)."),
    n_evaluate: int = typer.Option(3, help="Value samples per state."),
    k: int = typer.Option(100, help="Samples for io / cot / cot-sc."),
    temperature: float = typer.Option(0.7),
    max_tokens: int = typer.Option(1000),
    few_shot: bool = typer.Option(True, help="The paper's few-shot prompts (off: zero-shot "
                                  "formats, for models trained on them)."),
    chat: bool = typer.Option(None, help="Send prompts as chat (default: on for openai)."),
    chunk: int = typer.Option(10, help="Puzzles searched together (one batch per step)."),
    price_prompt: float = typer.Option(0.03, help="USD per 1k prompt tokens (GPT-4 default)."),
    price_completion: float = typer.Option(0.06, help="USD per 1k completion tokens."),
    runs_dir: Path = typer.Option(Path("runs"), help="Where the run record goes."),
) -> None:
    """Solve Game of 24 puzzles; writes per-puzzle results and a summary (runs/tot/<id>/)."""
    from neurips23.tot.runner import RunSettings, run_game24

    if task != "game24":
        raise UserError(f"--task {task!r}: only 'game24' is implemented")
    if method not in METHODS:
        raise UserError(f"--method {method!r}: choose from {', '.join(METHODS)}")
    for name, value in (("--chunk", chunk), ("--b", b), ("--k", k), ("--n-evaluate", n_evaluate),
                        ("--max-tokens", max_tokens)):
        if value < 1:
            raise UserError(f"{name} {value}: must be at least 1")
    settings = RunSettings(method=method, backend=backend, model=model, base_url=base_url,
                           api_key_env=api_key_env, puzzles=puzzles,
                           puzzle_file=str(puzzle_file) if puzzle_file else None, b=b,
                           n_evaluate=n_evaluate, k=k, temperature=temperature,
                           max_tokens=max_tokens, few_shot=few_shot,
                           chat=(backend == "openai") if chat is None else chat, chunk=chunk,
                           price_prompt=price_prompt, price_completion=price_completion)
    run_dir = run_game24(settings, runs_dir)
    typer.echo(str(run_dir))


@app.command()
def solve(numbers: list[int] = typer.Argument(..., help="Four numbers, e.g. 4 5 6 10")) -> None:
    """Solve a puzzle exactly (the reference solver, no model)."""
    from neurips23.tot.game24 import solve as solve_exact

    if len(numbers) != 4:
        raise UserError(f"give four numbers, got {len(numbers)}")
    answer = solve_exact(numbers)
    typer.echo(f"Answer: {answer} = 24" if answer else "no solution")


def run_notes(holdout: str, profile: str) -> str:
    """The run record's note: which hold-out, and what a quick run can show."""
    regime = ("strict hold-out: every test sub-state with >=2 numbers removed from propose/value "
              "training" if holdout == "strict" else "hold-out of the test puzzles only: the "
              "evaluator may have seen test sub-states from other puzzles (leaky regime)")
    note = f"Tiny char-level model trained from scratch; {regime}."
    if profile == "quick":
        note += " Quick profile: too small for the model to learn the task; tests the code path."
    return note


def reproduce(profile: str = "quick", runs_dir: Path = Path("runs"),
              overrides: Sequence[str] = ()) -> Path:
    """Tiny-model ToT vs IO/CoT/CoT-SC on Game of 24 (strict hold-out); writes the run record."""
    from rich.console import Console

    from neurips23.config import load_config
    from neurips23.errors import ConfigError
    from neurips23.report.records import start_run
    from neurips23.tot.experiment import PROFILES, ToTReproConfig, claims_from, reproduce_tot
    from neurips23.utils import set_torch_threads

    if profile not in PROFILES:
        raise ConfigError(f"profile {profile!r}: choose from {', '.join(PROFILES)}")
    set_torch_threads()
    cfg = load_config(ToTReproConfig, overrides=overrides, base=PROFILES[profile])
    if cfg.holdout not in ("strict", "puzzles"):
        raise ConfigError(f"holdout={cfg.holdout!r}: expected 'strict' or 'puzzles'")
    console = Console(stderr=True)
    run = start_run("tot", cfg, runs_dir, profile)
    metrics = reproduce_tot(cfg, run, log=lambda s: console.log(s))
    run.finish(metrics, claims_from(metrics), seeds=list(cfg.seeds),
               notes=run_notes(cfg.holdout, profile))
    return run.dir


@app.command("reproduce")
def reproduce_cmd(profile: str = typer.Option("quick"),
                  runs_dir: Path = typer.Option(Path("runs")),
                  set_: list[str] = typer.Option([], "--set", help="Override key=value.")) -> None:
    """Run the reproduction (same as `neurips23 reproduce tot`)."""
    typer.echo(str(reproduce(profile, runs_dir, tuple(set_))))
