"""`neurips23 locality`: make a world (net + held-out pairs), query it exactly, write training
samples, train a tiny model on them, and run the estimators on any causal LM."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from neurips23.core.cli_config import config_command, param
from neurips23.locality.formats import FORMATS

app = typer.Typer(help="Why think step by step (Prystawski et al. 2023): Bayes-net worlds, local "
                       "training samples, and reasoning estimators scored against exact conditionals.",
                  no_args_is_help=True)


@dataclass
class NetConfig:
    """A random world: net size, seed and how many held-out pairs."""

    out: Path = param(Path("world.json"), "Where to write the world (JSON).")
    n_vars: int = param(50, "Binary variables X0 … X{n-1}.")
    n_edges: int = param(50, "Edges (random pairs, random direction, redrawn until acyclic).")
    seed: int = param(0, "Seed of the net, its held-out pairs and its wrong-local partner net.")
    n_pairs: int = param(10, "Held-out pairs (drawn from the 2n most dependent non-adjacent pairs).")
    min_distance: int = param(2, "Minimum undirected distance of a held-out pair.")


@config_command(app, NetConfig)
def net(cfg: NetConfig) -> None:
    """Write a random world and show its held-out pairs with their scaffolds."""
    from rich.console import Console
    from rich.table import Table

    from neurips23.locality.scaffold import scaffold
    from neurips23.locality.world import build_world, save_world

    world = build_world(cfg.n_vars, cfg.n_edges, cfg.seed, cfg.n_pairs, cfg.min_distance)
    save_world(world, cfg.out)
    t = Table("pair", "distance", "MI (nats)", "scaffold X_a → X_b",
              title=f"{cfg.out}: {world.net.n_vars} variables, {len(world.net.edges)} edges")
    for p in world.pairs:
        t.add_row(f"X{p.a} – X{p.b}", str(p.distance), f"{p.mi:.3f}",
                  " ".join(f"X{v}" for v in scaffold(world.net, p.b, p.a)))
    Console().print(t)


@app.command()
def query(world: Path = typer.Argument(..., help="A world or net JSON file."),
          target: str = typer.Argument(..., help="The variable, e.g. X5."),
          given: list[str] = typer.Option([], "--given", help="Evidence VAR=0|1 (repeatable)."),
          pgmpy: bool = typer.Option(False, help="Also ask pgmpy's variable elimination.")) -> None:
    """Print the exact P(target = 1 | given) (our variable elimination)."""
    from neurips23.errors import UserError
    from neurips23.locality.bayesnet import exact_conditional, to_pgmpy
    from neurips23.locality.world import load_world

    w = load_world(world)
    evidence = {}
    for item in given:
        var, _, val = item.partition("=")
        if val not in ("0", "1"):
            raise UserError(f"--given {item!r}: expected VAR=0 or VAR=1")
        evidence[var.strip()] = int(val)
    p = exact_conditional(w.net, target, evidence)
    typer.echo(f"P({target}=1 | {', '.join(given) or 'nothing'}) = {p:.6f}")
    if pgmpy:
        from pgmpy.inference import VariableElimination

        names = {f"X{w.net.index(k)}": v for k, v in evidence.items()}
        ref = VariableElimination(to_pgmpy(w.net)).query([f"X{w.net.index(target)}"], evidence=names,
                                                          show_progress=False)
        typer.echo(f"pgmpy: {float(ref.values[1]):.6f}")


@dataclass
class DataConfig:
    """Training samples of one format from a world file."""

    world: Path = param(Path("world.json"), "The world file (from `locality net`).")
    format: str = param("local_geom", "Training format: " + ", ".join(FORMATS) + ".")
    n: int = param(100_000, "Number of samples.")
    seed: int = param(0, "Sampling seed.")
    out: Path = param(Path("samples.jsonl"), "Output JSONL, one {\"text\": sample} per line.")
    geom_p: float = param(0.5, "Local radius ~ Geometric(geom_p).")
    zipf_k: float = param(2.0, "Local radius ~ Zipf(zipf_k).")
    keep_p: float = param(0.8, "Each neighbour kept with this probability.")


@config_command(app, DataConfig)
def data(cfg: DataConfig) -> None:
    """Write sample strings (held-out pairs never together) for training any causal LM."""
    import json

    from neurips23.locality.formats import Locality, check_format, training_strings
    from neurips23.locality.world import load_world
    from neurips23.utils import atomic_write_text

    check_format(cfg.format)
    w = load_world(cfg.world)
    texts = training_strings(w.net, cfg.format, cfg.n, cfg.seed, w.pair_tuples, w.other,
                             Locality(cfg.geom_p, cfg.zipf_k, cfg.keep_p))
    atomic_write_text(cfg.out, "".join(json.dumps({"text": t}) + "\n" for t in texts))
    typer.echo(f"{len(texts)} {cfg.format} samples → {cfg.out}")


@dataclass
class TrainModelConfig:
    """A tiny causal LM trained from scratch on one format's samples of a world."""

    world: Path = param(Path("world.json"), "The world file (from `locality net`).")
    format: str = param("local_geom", "Training format: " + ", ".join(FORMATS) + ".")
    out: Path = param(Path("locality-model"), "Model directory (also holds the resumable checkpoint).")
    n_train: int = param(600_000, "Training samples.")
    seed: int = param(0, "Data and initialisation seed.")
    block_tokens: int = param(128, "Pack samples into blocks of at most this many tokens.")
    hidden_size: int = param(64, "Model width.")
    layers: int = param(3, "Transformer layers.")
    heads: int = param(4, "Attention heads.")
    steps: int = param(2500, "Optimizer steps.")
    batch_size: int = param(32, "Blocks per step.")
    lr: float = param(3e-3, "Peak learning rate (cosine schedule, 100 warmup steps).")
    checkpoint_every: int = param(250, "Steps between resumable checkpoints.")


@config_command(app, TrainModelConfig)
def train(cfg: TrainModelConfig) -> None:
    """Train a tiny model on a world's samples; an interrupted run resumes from its checkpoint."""
    from neurips23.locality.training import train_on_world

    path = train_on_world(cfg)
    typer.echo(f"model → {path}")


@dataclass
class EstimateConfig:
    """The estimators on a world's held-out pairs with any causal LM trained on its samples."""

    model: str = param("locality-model", "Model directory or Hugging Face name.")
    world: Path = param(Path("world.json"), "The world file the model was trained on.")
    estimators: list[str] = param(["direct", "scaffolded", "negative", "free"], "Which estimators.")
    n_samples: int = param(10, "Samples per item (scaffolded, negative, free).")
    max_steps: int | None = param(None, "Free generation: most variables one sample generates "
                                  "before it counts as never naming the target (default: the "
                                  "net's size, as in the reproduction).")
    seed: int = param(0, "Sampling seed.")
    batch_size: int = param(64, "Partial samples per forward pass.")
    device: str = param("", "torch device (default: the model's).")
    out: Path = param(Path("estimates.jsonl"), "Per-item rows (truth, marginal, estimates).")


@config_command(app, EstimateConfig)
def estimate(cfg: EstimateConfig) -> None:
    """MSE of each estimator against the exact conditionals of the held-out pairs."""
    import json

    from rich.console import Console
    from rich.table import Table

    from neurips23.errors import UserError
    from neurips23.lm.models import load_model
    from neurips23.locality.estimators import LMReader
    from neurips23.locality.evaluation import ESTIMATORS, evaluate_estimators, mse
    from neurips23.locality.world import load_world
    from neurips23.utils import atomic_write_text

    unknown = [e for e in cfg.estimators if e not in ESTIMATORS]
    if unknown:
        raise UserError(f"estimator {unknown[0]!r}: choose from {', '.join(ESTIMATORS)}")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise UserError(f"--max-steps {cfg.max_steps}: free generation needs at least one step")
    w = load_world(cfg.world)
    if not w.pairs:
        raise UserError(f"{cfg.world}: no held-out pairs (write the world with `locality net`)")
    model, tok = load_model(cfg.model, device=cfg.device or None)
    reader = LMReader(model, tok, w.net.n_vars, cfg.batch_size)
    with free_generation_bar(4 * len(w.pairs) * cfg.n_samples,
                             cfg.max_steps or w.net.n_vars) as on_free_step:
        rows, timing = evaluate_estimators(reader, w.net, w.pair_tuples, cfg.n_samples, cfg.seed,
                                           cfg.estimators, cfg.max_steps, on_free_step)
    atomic_write_text(cfg.out, "".join(json.dumps(r) + "\n" for r in rows))
    t = Table("estimator", "MSE", "samples/s", title=f"{cfg.model} on {cfg.world}: {len(rows)} items")
    t.add_row("marginal (control)", f"{mse(rows, 'marginal'):.4f}", "")
    for e in cfg.estimators:
        t.add_row(e, f"{mse(rows, e):.4f}", f"{timing[e]['samples_per_second']:.0f}")
    Console().print(t)
    typer.echo(f"rows → {cfg.out}")


@contextmanager
def free_generation_bar(samples: int, max_steps: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar of free generation on stderr (drawn on a terminal only): its step of
    `max_steps` and how many of the `samples` samples have named their target."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        job = bar.add_task("free generation", total=max_steps, visible=False)

        def on_step(step: int, finished: int) -> None:
            bar.update(job, completed=step, visible=True,
                       description=f"free generation: step {step}/{max_steps}, "
                                   f"{finished}/{samples} samples reached the target")

        yield on_step
