"""The `neurips23` command: reproduce, report, models, serve, and one group per landed method."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import typer
from rich.console import Console

from neurips23.errors import UserError

console = Console(stderr=True)

METHODS: list[tuple[str, str]] = [
    # (package under neurips23, CLI group name)
    ("qlora", "qlora"),
    ("dpo", "dpo"),
    ("tot", "tot"),
    ("planning", "plan"),
    ("emergence", "emergence"),
]
PROFILES = ("quick", "full")

app = typer.Typer(help="Methods of a NeurIPS 2023 roundup as tested software: tiny CPU defaults, "
                       "real models at scale.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
models_app = typer.Typer(help="The cache of trained tiny models.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def landed_methods() -> list[tuple[str, str]]:
    """The (package, group) of every method whose package has a `cli` module."""
    out = []
    for pkg, group in METHODS:
        try:
            found = importlib.util.find_spec(f"neurips23.{pkg}.cli") is not None
        except ModuleNotFoundError:
            found = False
        if found:
            out.append((pkg, group))
    return out


for _pkg, _group in landed_methods():
    app.add_typer(importlib.import_module(f"neurips23.{_pkg}.cli").app, name=_group)


@app.command()
def reproduce(
    methods: list[str] = typer.Argument(None, help="Methods to reproduce (default: all landed)."),
    profile: str = typer.Option("quick", help="quick (minutes, CPU) or full (the claim's settings)."),
    runs_dir: Path = typer.Option(Path("runs"), help="Where run records go."),
    set_: list[str] = typer.Option([], "--set", help="Config override key=value (one method only)."),
    report: bool = typer.Option(True, help="Build report/index.html afterwards."),
) -> None:
    """Run the paper reproductions, then gather the report."""
    if profile not in PROFILES:
        raise UserError(f"--profile {profile!r}: choose from {', '.join(PROFILES)}")
    landed = {pkg: group for pkg, group in landed_methods()}
    names = methods or list(landed)
    unknown = [m for m in names if m not in landed and m != "substrate"]
    if unknown:
        raise UserError(f"unknown method {unknown[0]!r}; landed methods: "
                        f"{', '.join(landed) or 'none'} (and 'substrate')")
    if set_ and len(names) != 1:
        raise UserError("--set overrides apply to one method: name exactly one method")
    if not names:
        names = ["substrate"]
    for name in names:
        console.rule(f"[bold]reproduce {name} ({profile})")
        if name == "substrate":
            from neurips23.lm.substrate import substrate_check
            run_dir = substrate_check(profile, runs_dir, tuple(set_))
        else:
            mod = importlib.import_module(f"neurips23.{name}.cli")
            run_dir = mod.reproduce(profile=profile, runs_dir=runs_dir, overrides=tuple(set_))
        console.print(f"[green]✓[/green] {name}: {run_dir}")
        _print_claims(Path(run_dir))
    if report:
        from neurips23.report.html import build_report
        console.print(f"report: {build_report(runs_dir)}")


def _print_claims(run_dir: Path) -> None:
    import json

    from rich.table import Table

    path = run_dir / "results.json"
    if not path.exists():
        return
    claims = json.loads(path.read_text()).get("claims", [])
    if claims:
        t = Table("paper", "ours", "verdict", show_lines=True)
        for c in claims:
            t.add_row(c["paper"], c["ours"], c["verdict"])
        console.print(t)


@app.command("report")
def report_cmd(runs_dir: Path = typer.Option(Path("runs")),
               out: Path = typer.Option(Path("report"), help="Output directory.")) -> None:
    """Gather every run under runs/ into report/index.html."""
    from neurips23.report.html import build_report
    console.print(f"report: {build_report(runs_dir, out)}")


@models_app.command("list")
def models_list() -> None:
    """List the cached tiny models."""
    from rich.table import Table

    from neurips23.lm.cache import cache_dir, list_models
    entries = list_models()
    t = Table("key", "kind", "size", "task", "seed", "MB", title=f"{cache_dir()}")
    for m in entries:
        s = m.get("spec", {})
        t.add_row(m["key"], str(s.get("kind", "")), str(s.get("size", "")), str(s.get("task", "")),
                  str(s.get("train", {}).get("seed", s.get("seed", ""))),
                  f"{m['size_bytes'] / 1e6:.1f}")
    Console().print(t)


@models_app.command("show")
def models_show(key: str) -> None:
    """Show one cached model's metadata (key or unique prefix)."""
    import json

    from neurips23.lm.cache import show_model
    typer.echo(json.dumps(show_model(key), indent=2))


@models_app.command("train")
def models_train(
    task: str = typer.Option("reverse", help="A registered synthetic task."),
    size: str = typer.Option("micro", help="nano | micro | mini | small"),
    seed: int = typer.Option(0),
    steps: int = typer.Option(400),
    arch: str = typer.Option("llama", help="llama | gpt2"),
) -> None:
    """Train (or reuse) a tiny model of SIZE on TASK and print its cache path."""
    from neurips23.lm.models import TINY_CONFIGS
    from neurips23.lm.substrate import SubstrateConfig, cached_task_model
    from neurips23.lm.tasks import get_task
    from neurips23.lm.train import TrainConfig

    get_task(task)
    if size not in TINY_CONFIGS:
        raise UserError(f"--size {size!r}: choose from {', '.join(TINY_CONFIGS)}")
    cfg = SubstrateConfig(size=size, task=task, arch=arch,
                          train=TrainConfig(steps=steps, batch_size=32, lr=3e-3, log_every=20,
                                            seed=seed))
    typer.echo(str(cached_task_model(cfg)))


@app.command()
def serve(model: str = typer.Option(..., help="Model dir, cache key path or hub name."),
          host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          model_name: str = typer.Option(None, help="Name clients ask for (default: --model)."),
          api_key_env: str = typer.Option(None, help="Require the key in this env variable.")) -> None:
    """Serve a model as an OpenAI-compatible API (/v1/completions, /v1/chat/completions)."""
    from neurips23.lm.serve import serve as run_server
    run_server(model, host=host, port=port, model_name=model_name, api_key_env=api_key_env)


def main() -> None:
    """Console entry point: one clear line per error; --debug for the traceback."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        app()
    except UserError as e:
        if debug:
            raise
        console.print(f"[bold red]error:[/bold red] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - a crash still gets one line without --debug
        if debug:
            raise
        console.print(f"[bold red]error:[/bold red] internal error {type(e).__name__}: {e} "
                      "(run with --debug for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
