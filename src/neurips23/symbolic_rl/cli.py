"""`neurips23 symbolic-rl ...`: learn an optimistic model of a PDDL task used as a black-box
simulator, run the RL baselines on it, list the shipped tasks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from neurips23.core.cli_arguments import arguments
from neurips23.core.cli_config import config_command, param

app = typer.Typer(help="Optimistic exploration with symbolic model estimates (Sreedharan & Katz "
                       "2023): treat a PDDL domain + problem as a hidden simulator, learn an "
                       "optimistic action model by planning, find a goal-reaching plan.",
                  no_args_is_help=True)


def _check_positive(name: str, value: int) -> None:
    from neurips23.errors import UserError

    if value < 1:
        raise UserError(f"--{name} {value}: must be at least 1")


@dataclass
class LearnConfig:
    """What `symbolic-rl learn` does: explore one task until a plan reaches its goal."""

    domain: Path | None = param(None, "Ground-truth PDDL domain (hidden from the learner).")
    problem: Path | None = param(None, "PDDL problem: objects, initial state, goal.")
    out: Path | None = param(None, "Folder for plan.txt and the learned model (required).")
    lifted: bool = param(False, "Share effects and refutations across each action schema's "
                                "groundings.")
    seed: int = param(0, "Tie-breaking seed of the planner.")
    budget: int = param(100_000, "Most interactions (simulator steps).")
    k: int = param(10, "Plans per exploration round.")
    planner: str = param("kshortest", "kshortest (built in) | forbiditerative (if installed)")
    probe: bool = param(True, "Try every action in every state a failed plan visited (the "
                              "official learners' test_all_actions; each try is an interaction).")
    time_limit: float = param(600.0, "Seconds for the whole command: start-up, reading, "
                                     "grounding and exploration.")
    memory_limit: float | None = param(None, "Stop with an error when the process's peak "
                                             "resident memory passes this many MB (default: no limit).")

    def validate(self) -> None:
        """UserError naming the option that cannot run (before any file is read)."""
        from neurips23.errors import UserError

        if self.domain is None or self.problem is None:
            raise UserError("a PDDL domain and a problem file are required")
        if self.out is None:
            raise UserError("--out is required (the folder for plan.txt and the learned model)")
        _check_positive("budget", self.budget)
        _check_positive("k", self.k)
        if self.planner not in ("kshortest", "forbiditerative"):
            raise UserError(f"--planner {self.planner!r}: choose kshortest or forbiditerative")
        if self.time_limit <= 0 or (self.memory_limit is not None and self.memory_limit <= 0):
            raise UserError("--time-limit and --memory-limit must be positive")


@arguments(app, positional=("domain", "problem"))
@config_command(app, LearnConfig)
def learn(cfg: LearnConfig) -> None:
    """Explore until a plan reaches the goal. Exit 0 found, 1 not within the budget or the time
    limit, 2 bad input."""
    from neurips23.pddl.limits import Limits, OutOfTime, process_age
    from neurips23.symbolic_rl.explore import make_planner, optimistic_exploration
    from neurips23.symbolic_rl.model import OptimisticModel
    from neurips23.symbolic_rl.simulator import load_simulator

    limits = Limits.start(cfg.time_limit, cfg.memory_limit, already_spent=process_age())
    progress = ProgressLine()
    try:
        progress.say(f"reading and grounding {cfg.problem}")
        sim = load_simulator(cfg.domain, cfg.problem, limits)
        progress.say(f"grounded {len(sim.spec.actions)} actions; exploring")
        model = OptimisticModel(sim.spec, lifted=cfg.lifted)
        res = optimistic_exploration(sim, model, make_planner(cfg.planner, sim.spec, cfg.seed,
                                                              limits=limits),
                                     cfg.k, cfg.budget, limits=limits, progress=progress.round,
                                     probe=cfg.probe)
    except OutOfTime as e:
        typer.echo(f"timeout: {e} ({cfg.time_limit:g} s)")
        raise typer.Exit(1) from None
    _write_learned(sim, model, res, cfg.out, cfg.budget)


PROGRESS_SECONDS = 5.0
"""Least seconds between two progress lines (a run shorter than this prints none)."""


class ProgressLine:
    """Progress on stderr for long runs: at most one line per PROGRESS_SECONDS."""

    def __init__(self) -> None:
        import time

        self.t0 = self.last = time.perf_counter()

    def say(self, message: str) -> None:
        import time

        now = time.perf_counter()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            typer.echo(f"{now - self.t0:6.0f}s {message}", err=True)

    def round(self, iteration: int, interactions: int) -> None:
        self.say(f"round {iteration}: {interactions} interactions")


def _write_learned(sim, model, res, out: Path, budget: int) -> None:
    """plan.txt and the learned model in `out`; exit 0 with a plan, 1 without."""
    from neurips23.symbolic_rl.pddl_writer import learned_domain_pddl
    from neurips23.utils import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    dom_text, prob_text = learned_domain_pddl(model)
    atomic_write_text(out / "learned-domain.pddl", dom_text)
    atomic_write_text(out / "learned-problem.pddl", prob_text)
    typer.echo(f"interactions: {res.interactions}")
    if res.found:
        atomic_write_text(out / "plan.txt", "".join(sim.spec.action_str(a) + "\n"
                                                     for a in res.plan))
        typer.echo(f"found a goal-reaching plan of {len(res.plan)} steps after {res.iterations} "
                   f"rounds: {out / 'plan.txt'}")
    else:
        (out / "plan.txt").unlink(missing_ok=True)
        why = {"budget": f"no goal-reaching plan within {budget} interactions",
               "unreachable": "the optimistic model proves the goal unreachable",
               "planner-limit": "the planner hit its node limit"}[res.status]
        typer.echo(why)
    typer.echo(f"learned model: {out / 'learned-domain.pddl'}")
    raise typer.Exit(0 if res.found else 1)


@app.command()
def baseline(domain: Path, problem: Path,
             method: str = typer.Option("rmax", help="qlearning | qlearning_optimistic | rmax | "
                                        "random"),
             seed: int = typer.Option(0), budget: int = typer.Option(100_000),
             episode_steps: int = typer.Option(200, help="Steps before a reset.")) -> None:
    """An RL baseline on the same simulator: interactions to the first goal. Exit 0 / 1 / 2."""
    from neurips23.errors import UserError
    from neurips23.symbolic_rl.baselines import BASELINES, run_baseline
    from neurips23.symbolic_rl.simulator import load_simulator

    if method not in BASELINES:
        raise UserError(f"--method {method!r}: choose from {', '.join(BASELINES)}")
    _check_positive("budget", budget)
    _check_positive("episode-steps", episode_steps)
    sim = load_simulator(domain, problem)
    res = run_baseline(method, sim, budget, seed, episode_steps=episode_steps)
    typer.echo(f"interactions: {res.interactions}")
    typer.echo("reached the goal" if res.found else f"did not reach the goal within {budget}")
    raise typer.Exit(0 if res.found else 1)


@app.command()
def tasks() -> None:
    """The shipped tasks (domain and problem files) used by the reproduction."""
    from neurips23.symbolic_rl.domains import TASKS, task_files

    for name in TASKS:
        d, p = task_files(name)
        typer.echo(f"{name:<16} {d} {p}")
