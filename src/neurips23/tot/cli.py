"""`neurips23 tot ...`: run ToT / IO / CoT / CoT-SC on Game of 24 with any backend; solve a
puzzle exactly. The reproduction is `neurips23 reproduce tot`."""

from __future__ import annotations

import typer

from neurips23.core.cli_config import config_command
from neurips23.errors import UserError
from neurips23.tot.runner import RunConfig

app = typer.Typer(help="Tree of Thoughts (Yao et al. 2023): BFS over LM thoughts, Game of 24.",
                  no_args_is_help=True)


@config_command(app, RunConfig)
def run(cfg: RunConfig) -> None:
    """Solve Game of 24 puzzles; writes per-puzzle results and a summary (runs/tot/<id>/)."""
    from neurips23.tot.runner import run_game24

    typer.echo(str(run_game24(cfg)))


@app.command()
def solve(numbers: list[int] = typer.Argument(..., help="Four numbers, e.g. 4 5 6 10")) -> None:
    """Solve a puzzle exactly (the reference solver, no model)."""
    from neurips23.tot.game24 import solve as solve_exact

    if len(numbers) != 4:
        raise UserError(f"give four numbers, got {len(numbers)}")
    answer = solve_exact(numbers)
    typer.echo(f"Answer: {answer} = 24" if answer else "no solution")
