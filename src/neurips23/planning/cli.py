"""`neurips23 plan ...`: validate, solve, generate, eval (the paper's modes) and reproduce."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

app = typer.Typer(help="LLM planning (PlanBench): PDDL validator, planners, instance "
                       "generators, and the autonomous / back-prompting / heuristic modes.",
                  no_args_is_help=True)


@app.command()
def validate(domain: Path, problem: Path, plan: Path,
             verbose: bool = typer.Option(False, "-v", "--verbose",
                                          help="Print VAL's plan-repair advice.")) -> None:
    """Validate PLAN for PROBLEM in DOMAIN (VAL semantics). Exit 0 valid, 1 invalid, 2 error."""
    from neurips23.planning.pddl import load_domain, load_problem
    from neurips23.planning.validate import parse_plan, validate_plan
    from neurips23.utils import read_text_file

    dom = load_domain(domain)
    prob = load_problem(problem, dom)
    text = read_text_file(plan, "plan file")
    res = validate_plan(dom, prob, parse_plan(text, str(plan)), str(plan))
    out = res.val_output()
    if not verbose:  # VAL without -v: the verdict lines only
        out = "\n".join(x for x in out.splitlines() if not x.startswith(("(", "Plan Repair",
                                                                          "    ", "The goal")))
        out += "\n"
    typer.echo(out, nl=False)
    raise typer.Exit(0 if res.valid else 1)


@app.command()
def solve(domain: Path, problem: Path,
          algorithm: str = typer.Option("astar", help="astar (optimal, h_max) | gbfs (h_FF)"),
          heuristic: str = typer.Option(None, help="hmax | hff | blind (default per algorithm)"),
          time_limit: float = typer.Option(60.0, help="Seconds before giving up.")) -> None:
    """Plan with our sound planners. Exit 0 solved, 1 unsolvable or out of time."""
    from neurips23.errors import UserError
    from neurips23.planning.pddl import load_domain, load_problem
    from neurips23.planning.search import HEURISTICS, search
    from neurips23.planning.task import ground

    if algorithm not in {"astar", "gbfs"}:
        raise UserError(f"--algorithm {algorithm!r}: choose astar or gbfs")
    if heuristic is not None and heuristic not in HEURISTICS:
        raise UserError(f"--heuristic {heuristic!r}: choose from {', '.join(HEURISTICS)}")
    if algorithm == "astar" and heuristic == "hff":
        raise UserError("--algorithm astar with --heuristic hff: h_FF is not admissible, so A* would "
                        "lose its optimality; use hmax or blind, or --algorithm gbfs")
    dom = load_domain(domain)
    res = search(ground(dom, load_problem(problem, dom)), algorithm, heuristic, time_limit)
    for s in res.plan:
        typer.echo(s)
    typer.echo(f"; {res.status}: length {len(res.plan)}, {res.expanded} expanded, "
               f"{res.generated} generated, {res.seconds:.2f}s")
    raise typer.Exit(0 if res.solved else 1)


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
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.pddl import domain_to_pddl, problem_to_pddl
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


MODES = ("autonomous", "backprompt", "self-critique", "heuristic")


@app.command("eval")
def eval_cmd(
    mode: str = typer.Option("autonomous", help=" | ".join(MODES)),
    backend: str = typer.Option("hf", help="hf (local transformers) | openai (any compatible "
                                "endpoint)"),
    model: str = typer.Option(..., help="HF name/path, or the endpoint's model name."),
    base_url: str = typer.Option(None, help="OpenAI-compatible base URL (openai backend)."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="Env var holding the API key."),
    domain: str = typer.Option("blocksworld"),
    n: int = typer.Option(20, help="Test problems."),
    seed: int = typer.Option(0),
    blocks: str = typer.Option("3,4,5"),
    style: str = typer.Option("one_shot", help="one_shot | zero_shot | pddl | pddl_zero"),
    rounds: int = typer.Option(15, help="Back-prompting rounds."),
    chat: bool = typer.Option(False, help="Send back-prompting turns as chat messages."),
    intro: bool = typer.Option(True, help="Include PlanBench's domain description."),
    max_tokens: int = typer.Option(512),
    planner: str = typer.Option("auto", help="Heuristic mode: auto | lpg | local"),
    word_level: bool = typer.Option(False, help="The model is one of our word-level tiny "
                                    "LMs (newlines travel as <nl>)."),
    runs_dir: Path = typer.Option(Path("runs")),
) -> None:
    """Run one of the paper's modes on generated problems; writes a run with samples.jsonl."""
    from neurips23.errors import UserError
    from neurips23.lm.backends import load_backend
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.modes import STYLES, Query, autonomous, backprompt
    from neurips23.report.records import start_run

    if mode not in MODES:
        raise UserError(f"--mode {mode!r}: choose from {', '.join(MODES)}")
    if style not in STYLES:
        raise UserError(f"--style {style!r}: choose from {', '.join(STYLES)}")
    spec = get_domain(domain)
    try:
        nb = tuple(int(b) for b in blocks.split(","))
    except ValueError:
        raise UserError(f"--blocks {blocks!r}: expected comma-separated integers") from None
    if n < 1 or rounds < 1 or any(b < 2 for b in nb):
        raise UserError("--n and --rounds must be >= 1 and every block count >= 2")
    insts = generate_instances(domain, n + 1, seed=seed, blocks=nb)
    queries = []
    for k, inst in enumerate(insts[1:]):
        ex = insts[k]  # PlanBench: the previous instance is the example
        queries.append(Query(inst.problem, ex, {"domain": domain, **inst.meta}))
    lm = load_backend(backend, model, base_url=base_url, api_key_env=api_key_env)
    if word_level:
        from neurips23.planning.experiment import WordLM

        lm = WordLM(lm)
    run = start_run("planning", {"mode": mode, "backend": backend, "model": model,
                                 "domain": domain, "n": n, "seed": seed, "style": style,
                                 "rounds": rounds, "intro": intro}, runs_dir, profile=None)
    if mode == "autonomous":
        rows = autonomous(lm, spec, queries, style, intro, max_tokens)
        metrics = {"success": sum(r["valid"] for r in rows) / len(rows)}
    elif mode in {"backprompt", "self-critique"}:
        rows = backprompt(lm, spec, queries, rounds, style, intro, max_tokens,
                          verifier="self" if mode == "self-critique" else "validator", chat=chat)
        metrics = {"success": sum(r["valid"] for r in rows) / len(rows),
                   "success_at": {k: sum(r["success_at"][k] for r in rows) / len(rows)
                                  for k in rows[0]["success_at"]}}
    else:
        metrics, rows = _heuristic_eval(lm, spec, queries, style, intro, max_tokens, planner,
                                        seed)
    run.log_samples(rows)
    metrics["usage"] = lm.usage.snapshot() if hasattr(lm.usage, "snapshot") else {}
    path = run.finish(metrics, seeds=[seed])
    typer.echo(f"{mode}: {metrics} -> {path}")


def _heuristic_eval(lm, spec, queries, style, intro, max_tokens, planner, seed):
    import random

    from neurips23.planning.heuristic import levenshtein, random_seed_plan, repair
    from neurips23.planning.modes import autonomous
    from neurips23.planning.task import ground

    rng = random.Random(seed)
    rows = autonomous(lm, spec, queries, style, intro, max_tokens)
    eff: dict[str, list[float]] = {"model": [], "empty": [], "random": []}
    for q, r in zip(queries, rows, strict=True):
        task = ground(spec.domain, q.problem)
        for k, sp in (("model", r["plan"]), ("empty", []),
                      ("random", random_seed_plan(task, len(r["plan"]), rng))):
            res = repair(spec.domain, q.problem, sp, planner=planner, task=task)
            r[f"effort_{k}"] = res.flips if res.solved else None
            r[f"solved_{k}"] = res.solved
            r["planner"] = res.planner
            if res.solved:  # an unsolved search (or an LPG timeout, flips=-1) has no effort to average
                eff[k].append(res.flips)
            if k == "model":
                r["levenshtein_seed_final"] = levenshtein(sp, res.plan)
    metrics = {f"mean_effort_{k}": (sum(v) / len(v) if v else None) for k, v in eff.items()}
    metrics.update({f"solved_rate_{k}": len(v) / len(rows) for k, v in eff.items()})
    return metrics, rows


def reproduce(profile: str = "quick", runs_dir: Path = Path("runs"),
              overrides: Sequence[str] = ()) -> Path:
    """Train the tiny LM, run the three modes with baselines and controls, write the run."""
    from neurips23.config import load_config
    from neurips23.errors import ConfigError
    from neurips23.planning.experiment import (
        PROFILES,
        PlanningConfig,
        make_claims,
        make_plots,
        run_experiment,
    )
    from neurips23.report.records import start_run

    if profile not in PROFILES:
        raise ConfigError(f"profile {profile!r}: choose from {', '.join(PROFILES)}")
    cfg = load_config(PlanningConfig, None, overrides, base=PROFILES[profile])
    run = start_run("planning", cfg, runs_dir, profile=profile)
    metrics, _ = run_experiment(cfg, run)
    make_plots(run, metrics)
    run.finish(metrics, make_claims(metrics), seeds=[cfg.seed],
               notes="Tiny word-level LM trained from scratch on PlanBench-format Blocksworld; "
                     "GPT-4 figures are the paper's, for reference only.")
    return run.dir


@app.command("reproduce")
def reproduce_cmd(profile: str = typer.Option("quick"), runs_dir: Path = typer.Option(Path("runs")),
                  set_: list[str] = typer.Option([], "--set", help="key=value overrides")) -> None:
    """Run the reproduction (same as `neurips23 reproduce planning`)."""
    typer.echo(str(reproduce(profile, runs_dir, tuple(set_))))
