"""`neurips23 planning ...` (alias `plan`): validate, solve, generate, and eval (the paper's
modes on any model). The reproduction is `neurips23 reproduce planning`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import typer

from neurips23.core.cli_config import config_command, finite, param
from neurips23.lm.backends import BackendOptions

app = typer.Typer(help="LLM planning (PlanBench): PDDL validator, planners, instance "
                       "generators, and the autonomous / back-prompting / heuristic modes.",
                  no_args_is_help=True)


@app.command()
def validate(domain: Path, problem: Path, plan: Path,
             verbose: bool = typer.Option(False, "-v", "--verbose",
                                          help="Print VAL's plan-repair advice.")) -> None:
    """Validate PLAN for PROBLEM in DOMAIN (VAL semantics): an invalid plan's failing step
    (number, action and why) or unmet goals. Exit 0 valid, 1 invalid, 2 error."""
    from neurips23.pddl.validate import parse_plan, validate_plan
    from neurips23.utils import read_text_file

    dom, prob = _load(domain, problem)
    text = read_text_file(plan, "plan file")
    res = validate_plan(dom, prob, parse_plan(text, str(plan)), str(plan))
    typer.echo(res.val_output() if verbose else res.summary(), nl=False)
    raise typer.Exit(0 if res.valid else 1)


@app.command()
def solve(domain: Path, problem: Path,
          algorithm: str = typer.Option("astar", help="astar (optimal, h_max) | gbfs (h_FF)"),
          heuristic: str = typer.Option(None, help="hmax | hff | blind (default per algorithm)"),
          time_limit: float = typer.Option(60.0, help="Seconds for the whole command: start-up, "
                                           "reading, grounding and search.", callback=finite),
          memory_limit: float = typer.Option(None, help="Stop with an error when the process's "
                                             "peak resident memory passes this many MB.", callback=finite)
          ) -> None:
    """Plan with our sound planners. Exit 0 solved, 1 unsolvable or out of time."""
    from neurips23.errors import UserError
    from neurips23.pddl.limits import Limits, OutOfTime, process_age
    from neurips23.pddl.search import HEURISTICS, search
    from neurips23.pddl.task import ground

    if algorithm not in {"astar", "gbfs"}:
        raise UserError(f"--algorithm {algorithm!r}: choose astar or gbfs")
    if heuristic is not None and heuristic not in HEURISTICS:
        raise UserError(f"--heuristic {heuristic!r}: choose from {', '.join(HEURISTICS)}")
    if algorithm == "astar" and heuristic == "hff":
        raise UserError("--algorithm astar with --heuristic hff: h_FF is not admissible, so A* would "
                        "lose its optimality; use hmax or blind, or --algorithm gbfs")
    if time_limit <= 0 or (memory_limit is not None and memory_limit <= 0):
        raise UserError("--time-limit and --memory-limit must be positive")
    limits = Limits.start(time_limit, memory_limit, already_spent=process_age())
    dom, prob = _load(domain, problem)
    try:
        task = ground(dom, prob, limits)
    except OutOfTime as e:
        typer.echo(f"; timeout: {e} ({time_limit:g} s)")
        raise typer.Exit(1) from None
    res = search(task, algorithm, heuristic, limits=limits)
    for s in res.plan:
        typer.echo(s)
    typer.echo(f"; {res.status}: length {len(res.plan)}, {res.expanded} expanded, "
               f"{res.generated} generated, {res.seconds:.2f}s search, "
               f"{len(task.actions)} ground actions")
    raise typer.Exit(0 if res.solved else 1)


def _load(domain: Path, problem: Path):
    """Domain and problem, with the reader's notes (what it accepted but ignores) on stderr."""
    from neurips23.pddl.parser import load_domain, load_problem

    dom = load_domain(domain)
    for note in dom.notes:
        typer.echo(f"note: {note}", err=True)
    return dom, load_problem(problem, dom)


@app.command()
def generate(domain: str = typer.Option("blocksworld", help="blocksworld | mystery_blocksworld"
                                        " | random_blocksworld | logistics"),
             n: int = typer.Option(10, help="Number of instances."),
             seed: int = typer.Option(0),
             blocks: str = typer.Option("3,4,5", help="Block counts (Blocksworld variants)."),
             out: Path = typer.Option(Path("instances"), help="Output directory.")) -> None:
    """Write DOMAIN's PDDL, N random problems and their optimal plans (A* + h_max)."""
    import json

    from neurips23.errors import UserError
    from neurips23.pddl.parser import domain_to_pddl, problem_to_pddl
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.utils import atomic_write_text

    spec = get_domain(domain)
    try:
        nb = tuple(int(b) for b in blocks.split(","))
    except ValueError:
        raise UserError(f"--blocks {blocks!r}: expected comma-separated integers") from None
    if n < 1 or any(b < 2 for b in nb):
        raise UserError("--n must be >= 1 and every block count >= 2")
    insts = generate_instances(domain, n, seed=seed, blocks=nb)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "domain.pddl", domain_to_pddl(spec.domain))
    index = []
    for k, inst in enumerate(insts, start=1):
        atomic_write_text(out / f"instance-{k}.pddl", problem_to_pddl(inst.problem, spec.domain))
        atomic_write_text(out / f"instance-{k}.plan", "".join(s + "\n" for s in inst.plan))
        index.append({"instance": f"instance-{k}.pddl", "plan": f"instance-{k}.plan",
                      **inst.meta})
    atomic_write_text(out / "index.json", json.dumps(index, indent=1))
    typer.echo(f"wrote {len(insts)} {domain} instances with optimal plans to {out}")


Mode = Literal["autonomous", "backprompt", "self-critique", "resample", "heuristic"]


@dataclass
class EvalConfig(BackendOptions):
    """One of the paper's modes on any model (local transformers or an OpenAI-compatible
    endpoint), on generated problems."""

    model: str = param("", "HF name/path, or the endpoint's model name (required).")
    mode: Mode = param("autonomous", "Which of the paper's modes to run.")
    domain: Literal["blocksworld", "mystery_blocksworld", "random_blocksworld",
                    "logistics"] = param("blocksworld", "Benchmark domain of generated problems.")
    instances: Path | None = param(None, "Read problems from this directory instead: "
                                   "PlanBench's instances/<domain> (generated_domain.pddl + "
                                   "generated_basic/instance-N.pddl) or a `plan generate` folder.")
    n: int = param(20, "Test problems.")
    seed: int = param(0, "Seed of the generated problems and of sampling.")
    blocks: list[int] = param([3, 4, 5], "Block counts (Blocksworld variants).")
    style: Literal["one_shot", "zero_shot", "pddl", "pddl_zero"] = param(
        "one_shot", "PlanBench's prompt style.")
    rounds: int = param(15, "Back-prompting rounds.")
    samples: int = param(15, "Resampling: independent samples per problem.")
    temperature: float = param(0.7, "Resampling: sampling temperature.")
    chat: bool = param(False, "Send prompts as chat messages (for chat-only endpoints).")
    intro: bool = param(True, "Include PlanBench's domain description.")
    max_tokens: int = param(512, "Tokens per generated plan.")
    planner: Literal["auto", "lpg", "local"] = param("auto", "Heuristic mode: LPG-td if "
                                                    "installed (auto), or our local search.")
    planner_seeds: int = param(1, "Heuristic mode: planner seeds per seed plan.")
    word_level: bool = param(False, "The model is one of our word-level tiny LMs (newlines "
                             "travel as <nl>).")
    runs_dir: Path = param(Path("runs"), "Where the run record goes.")

    def validate(self) -> None:
        """ConfigError naming the option that cannot run."""
        from neurips23.errors import ConfigError

        if not self.model:
            raise ConfigError("--model is required (HF name/path or the endpoint's model name)")
        for name in ("n", "rounds", "samples", "max_tokens", "planner_seeds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got "
                                  f"{getattr(self, name)}")
        if any(b < 2 for b in self.blocks):
            raise ConfigError(f"--blocks {self.blocks}: every block count must be >= 2")


@config_command(app, EvalConfig, name="eval")
def eval_cmd(cfg: EvalConfig) -> None:
    """Run one of the paper's modes on generated problems or PlanBench's instance files; writes
    a run with samples.jsonl."""
    import random

    from neurips23.core.run import start_run
    from neurips23.errors import ConfigError
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.experiment import (
        autonomous_experiment,
        backprompting_experiment,
        heuristic_experiment,
        resampling_experiment,
    )
    from neurips23.planning.modes import Query
    from neurips23.utils import readable_items

    if cfg.instances is not None:
        from neurips23.planning.domains.instance_dir import read_instances

        spec, insts = read_instances(cfg.instances, cfg.n + 1)
        if len(insts) < 2:
            raise ConfigError(f"--instances {cfg.instances}: one-shot prompts need at least two "
                              "instances (the previous one is the example)")
    else:
        spec = get_domain(cfg.domain)
        insts = generate_instances(cfg.domain, cfg.n + 1, seed=cfg.seed,
                                   blocks=tuple(cfg.blocks))
    queries = [Query(inst.problem, insts[k], {"domain": spec.name, **inst.meta})
               for k, inst in enumerate(insts[1:])]  # PlanBench: the previous one is the example
    lm = cfg.load()
    if cfg.word_level:
        from neurips23.planning.wordlm import WordLM

        lm = WordLM(lm)
    run = start_run("planning", cfg, cfg.runs_dir, profile=None, kind="tool")
    common = {"style": cfg.style, "intro": cfg.intro, "max_tokens": cfg.max_tokens,
              "chat": cfg.chat}
    if cfg.mode in ("autonomous", "heuristic"):
        metrics, rows = autonomous_experiment(lm, spec, queries, **common)
        if cfg.mode == "heuristic":  # the model's plans, valid or not, seed the planner
            m, hrows = heuristic_experiment(spec, queries, rows, random.Random(cfg.seed),
                                            cfg.planner, cfg.planner_seeds, timeout=60)
            metrics, rows = {**metrics, **m}, rows + hrows
    elif cfg.mode == "resample":
        m, rows = resampling_experiment(lm, spec, queries, cfg.samples, cfg.temperature,
                                        seed=cfg.seed, **common)
        metrics = {"resample": m}
    else:
        metrics, rows = backprompting_experiment(
            lm, spec, queries, cfg.rounds,
            verifier="self" if cfg.mode == "self-critique" else "validator", **common)
    run.log_samples(rows)
    metrics["usage"] = lm.usage.snapshot() if hasattr(lm.usage, "snapshot") else {}
    path = run.finish(metrics, seeds=[cfg.seed])
    typer.echo(f"{cfg.mode}: results → {path}")
    for name, value in readable_items(metrics):
        typer.echo(f"  {name}: {value}")
