"""The `neurips23` command: reproduce, report, models, serve, probe, and one group per landed
method."""

from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console

from neurips23.errors import UserError
from neurips23.registry import METHODS

console = Console(stderr=True)

app = typer.Typer(help="Methods of a NeurIPS 2023 roundup as tested software: tiny CPU defaults, "
                       "real models at scale.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
models_app = typer.Typer(help="The cache of trained tiny models and the built-in real model.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(importlib.import_module("neurips23.probe.cli").app, name="probe")

for _m in METHODS:
    if _m.cli:
        _group = importlib.import_module(f"neurips23.{_m.name}.cli").app
        app.add_typer(_group, name=_m.group)
        for _alias in _m.aliases:
            app.add_typer(_group, name=_alias, hidden=True)


@app.command()
def reproduce(
    methods: list[str] = typer.Argument(None, help="Methods to reproduce (default: all)."),
    profile: str = typer.Option("quick", help="quick (minutes, CPU; a pipeline check) or full "
                                "(the settings each claim is tested on)."),
    config: Path = typer.Option(None, "--config", help="YAML file of config keys (one method)."),
    set_: list[str] = typer.Option([], "--set", help="Config override key=value (one method)."),
    runs_dir: Path = typer.Option(Path("runs"), help="Where run records go."),
    report: bool = typer.Option(True, help="Build report/index.html afterwards."),
    resume: str = typer.Option(None, "--resume", help="Continue this unfinished run (its id "
                               "under runs/<method>/, one method, same config): its finished "
                               "per-seed units are reused."),
    show_config: bool = typer.Option(False, "--show-config", help="Print each method's resolved "
                                     "config as YAML (profile, --config and --set applied) and "
                                     r"exit without running. \[default: off]"),
) -> None:
    """Run the paper reproductions, then gather the report."""
    from neurips23.core.reproduction import get_reproduction, resolve_config
    from neurips23.core.reproduction import reproduce as run_reproduction
    from neurips23.registry import find_method

    names = [find_method(m).name for m in methods] if methods else [m.name for m in METHODS]
    if (set_ or config) and len(names) != 1:
        raise UserError("--config and --set apply to one method: name exactly one method")
    if resume and len(names) != 1:
        raise UserError("--resume applies to one method: name exactly one method")
    # resolve every config first: a typo fails before hours of work
    resolved = {name: resolve_config(get_reproduction(name), profile, config, set_) for name in names}
    if show_config:
        typer.echo(show_configs(resolved, profile), nl=False)
        return
    for name in names:
        console.rule(f"[bold]reproduce {name} ({profile})")
        run_dir = run_reproduction(name, profile, config, set_, runs_dir, resume=resume)
        console.print(f"[green]✓[/green] {name}: {run_dir}")
        _print_claims(Path(run_dir))
    if report:
        from neurips23.report.html import build_report
        console.print(f"report: {build_report(runs_dir)}")


def show_configs(resolved: dict, profile: str) -> str:
    """The resolved configs as YAML: one document per method, each headed `# method (profile)`."""
    from neurips23.config import dump_yaml

    return "---\n".join(f"# {name} ({profile})\n{dump_yaml(cfg)}" for name, cfg in resolved.items())


def _print_claims(run_dir: Path) -> None:
    import json

    from rich.markup import escape
    from rich.table import Table

    path = run_dir / "results.json"
    if not path.exists():
        return
    results = json.loads(path.read_text())
    claims = results.get("claims", [])
    if claims:
        title = None if results.get("finding", True) else (
            f"{results.get('profile')} profile: a pipeline check, not a finding")
        from neurips23.report.provenance import verdict_label

        t = Table("paper", "ours", "verdict", show_lines=True, title=title)
        for c in claims:  # claim text is data, not markup: "[0.1, 0.3]" must print as written
            t.add_row(escape(str(c["paper"])), escape(str(c["ours"])),
                      escape(verdict_label(c, results.get("finding", True))))
        console.print(t)


@app.command("report")
def report_cmd(runs_dir: Path = typer.Option(Path("runs")),
               out: Path = typer.Option(Path("report"), help="Output directory."),
               docs: Path = typer.Option(None, help="Also rewrite the marked result blocks of "
                                         "the markdown pages in this folder (e.g. docs/)."),
               accept: list[str] = typer.Option([], "--accept", help="Run id whose block may be "
                                                "generated although its tree was dirty, HEAD "
                                                "moved or its rules were overridden (the block "
                                                "says so).")) -> None:
    """Gather every run under runs/ into report/index.html (and the docs' result tables)."""
    from neurips23.core.run import load_unfinished
    from neurips23.report.html import build_report
    console.print(f"report: {build_report(runs_dir, out)}")
    for r in load_unfinished(runs_dir):  # listed, never silently left out
        why = f" ({r['error']})" if r["error"] else ""
        console.print(f"unfinished: {r['method']}/{r['run_id']}: {r['status']}{why}",
                      highlight=False, soft_wrap=True)
    if docs is not None:
        from neurips23.report.docs import update_docs
        for page, method, run_id in update_docs(runs_dir, docs, tuple(accept)):
            console.print(f"{page}: {method} results from run {run_id}")


@models_app.command("list")
def models_list() -> None:
    """List the built-in real models and the cached tiny models."""
    from rich.table import Table

    from neurips23.lm.builtin import builtin_status
    from neurips23.lm.cache import cache_dir, list_models
    out = Console()
    b = Table("name", "status", "description", title="built-in models")
    for name, status, description in builtin_status():
        b.add_row(name, status, description)
    out.print(b)
    entries = list_models()
    t = Table("key", "kind", "size", "task", "seed", "MB", title=f"{cache_dir()}")
    for m in entries:
        s = m.get("spec", {})
        t.add_row(m["key"], str(s.get("kind", "")), str(s.get("size", s.get("name", ""))),
                  str(s.get("task", "")), str(s.get("train", {}).get("seed", s.get("seed", ""))),
                  f"{m['size_bytes'] / 1e6:.1f}")
    out.print(t)


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
    from neurips23.lm.tasks import get_task
    from neurips23.lm.train import TrainConfig
    from neurips23.substrate.config import SubstrateConfig
    from neurips23.substrate.reproduce import cached_task_model

    get_task(task)
    if size not in TINY_CONFIGS:
        raise UserError(f"--size {size!r}: choose from {', '.join(TINY_CONFIGS)}")
    cfg = SubstrateConfig(size=size, task=task, arch=arch,
                          train=TrainConfig(steps=steps, batch_size=32, lr=3e-3, log_every=20,
                                            seed=seed))
    typer.echo(str(cached_task_model(cfg)))


@app.command()
def serve(model: str = typer.Option("smollm2-135m", help="Built-in model name, cached model "
                                    "key, model directory or hub name."),
          host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          model_name: str = typer.Option(None, help="Name clients ask for (default: --model)."),
          device: str = typer.Option(None, help="cpu | cuda | auto (default: where it loads)."),
          dtype: str = typer.Option(None, help="auto | float32 | bfloat16 | float16."),
          max_tokens: int = typer.Option(1024, help="Most tokens one completion may generate "
                                         "(also the length of a reply without max_tokens)."),
          batch_size: int = typer.Option(64, help="Most sequences per forward pass."),
          max_pending: int = typer.Option(64, help="Most requests admitted at once (waiting "
                                          "or running); more get 429 with Retry-After."),
          max_request_tokens: int = typer.Option(32768, help="Most prompts x n x max_tokens "
                                                 "one request may ask for."),
          request_timeout: float = typer.Option(600.0, help="Seconds a request may take "
                                                "before it is abandoned (504)."),
          max_body_bytes: int = typer.Option(4 * 2**20, help="Largest request body (413)."),
          api_key_env: str = typer.Option(None, help="Require the key in this env variable.")) -> None:
    """Serve a model as an OpenAI-compatible API (/v1/completions, /v1/chat/completions)."""
    from neurips23.serve import serve as run_server
    from neurips23.serve.state import Limits
    limits = Limits(token_limit=max_tokens, max_pending=max_pending,
                    request_tokens=max_request_tokens, timeout_s=request_timeout,
                    body_bytes=max_body_bytes)
    run_server(model, host=host, port=port, model_name=model_name, api_key_env=api_key_env,
               device=device, dtype=dtype, batch_size=batch_size, limits=limits)


def _internal_error(e: BaseException, debug: bool) -> None:
    """A bug: the traceback with --debug, else one line; exit 1."""
    if debug:
        raise e
    console.print(f"[bold red]error:[/bold red] internal error {type(e).__name__}: {e} "
                  "(run with --debug for the traceback)", highlight=False, soft_wrap=True)
    sys.exit(1)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a command as Ctrl-C does: cleanup runs (workers stopped, the run marked
    interrupted), then exit 130."""
    raise KeyboardInterrupt


def _own_process() -> bool:
    """Whether this process was started to run the command (the console script or
    `python -m neurips23.cli`), not a host such as pytest that calls `main` in-process."""
    host = os.path.basename(sys.orig_argv[0] if getattr(sys, "orig_argv", None) else "")
    script = os.path.basename(sys.orig_argv[1]) if len(getattr(sys, "orig_argv", [])) > 1 else ""
    return (host.startswith("neurips23") or script.startswith("neurips23")
            or "neurips23.cli" in getattr(sys, "orig_argv", []))


def main() -> None:
    """Console entry point: one clear line per error; --debug for the traceback."""
    from neurips23.utils import mark_command_start

    # a process started for this command counts its start-up toward time limits; a command run
    # inside a longer-lived process (a test session) counts from here
    mark_command_start(own_process=_own_process())
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
        os.environ["NEURIPS23_DEBUG"] = "1"
    from neurips23.utils import quiet_third_party
    quiet_third_party()
    previous = signal.signal(signal.SIGTERM, _terminated)
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
    except OSError as e:  # a path the system refused (unwritable --out, a file as a folder)
        if debug or e.filename is None:
            _internal_error(e, debug)
        name = f"{e.filename} -> {e.filename2}" if e.filename2 else str(e.filename)
        console.print(f"[bold red]error:[/bold red] {name}: {e.strerror or e}", highlight=False,
                      soft_wrap=True)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - a crash still gets one line without --debug
        _internal_error(e, debug)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
