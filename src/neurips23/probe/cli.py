"""`neurips23 probe [options]` (run the probes, write the card) and `neurips23 probe compare A B`."""

from __future__ import annotations

import inspect
from pathlib import Path

import typer

from neurips23.core.cli_config import config_command
from neurips23.probe.config import ProbeConfig

app = typer.Typer(help="Test a model or an endpoint against the papers' model-facing findings; "
                       "one card per model.", invoke_without_command=True)
_commands = typer.Typer()


def probe(cfg: ProbeConfig) -> None:
    """Run every probe (or --only / --skip some) on one model; writes <out>/<model>/card.html."""
    from rich.console import Console

    from neurips23.probe.run import probe_model
    from neurips23.utils import set_torch_threads

    set_torch_threads()
    err = Console(stderr=True)
    out = probe_model(cfg, log=lambda m: err.print(m, highlight=False))
    _print_card(out / "card.json")
    err.print(f"card: {out / 'card.html'}")


def _group_callback(command):
    """`command` (options from ProbeConfig) as the group's callback: it runs when no
    subcommand is named, so `neurips23 probe --model M` probes and `probe compare` compares."""
    params = list(inspect.signature(command).parameters.values())

    def callback(ctx: typer.Context, **kwargs):
        if ctx.invoked_subcommand is None:
            command(**kwargs)

    callback.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=typer.Context)] + params)
    callback.__doc__ = command.__doc__
    return callback


config_command(_commands, ProbeConfig, name="probe")(probe)
app.callback(invoke_without_command=True)(
    _group_callback(_commands.registered_commands[0].callback))


def _print_card(path: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from neurips23.probe.base import card_verdict
    from neurips23.probe.card import read_card

    card = read_card(path)
    t = Table("probe", "this model", "measured", show_lines=True,
              title=f"{card['model']} ({card['budget']} budget)")
    for p in card["probes"]:
        measured_text = p.get("reason") or "\n".join(
            f"{c['ours']} -> {card_verdict(c['verdict'])}" for c in p["claims"])
        t.add_row(p["probe"], p["says"], escape(measured_text))
    Console().print(t)


@app.command()
def compare(a: Path = typer.Argument(..., help="A card.json or the folder holding it."),
            b: Path = typer.Argument(..., help="The other card."),
            out: Path = typer.Option(Path("probe/compare.html"), help="The HTML comparison.")
            ) -> None:
    """Put two models' cards side by side (HTML and the console)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from neurips23.probe.card import compare_html, comparison_rows, read_card
    from neurips23.utils import atomic_write_text

    ca, cb = read_card(a), read_card(b)
    t = Table("probe", f"A: {escape(ca['model'])}", f"B: {escape(cb['model'])}", show_lines=True)
    for r in comparison_rows(ca, cb):
        t.add_row(r["probe"], r["A"], r["B"])
    Console().print(t)
    atomic_write_text(out, compare_html(ca, cb))
    Console(stderr=True).print(f"comparison: {out}")
