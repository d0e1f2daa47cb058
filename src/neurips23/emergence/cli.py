"""CLI of the emergence-mirage method: `neurips23 emergence analyze` (the reproduction is
`neurips23 reproduce emergence`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from neurips23.core.cli_arguments import arguments
from neurips23.core.cli_config import config_command, param

app = typer.Typer(
    help="Emergent abilities mirage (Schaeffer et al. 2023): re-score the same outputs under "
         "sharp and smooth metrics across model scale.",
    no_args_is_help=True,
)


@dataclass
class AnalyzeConfig:
    """What `emergence analyze` reads and where it writes."""

    results: Path | None = param(None, "Our per-sample JSONL (or a run dir holding samples.jsonl), "
                                       "or an lm-evaluation-harness --output_path directory "
                                       "written with --log_samples.")
    size: list[str] = param([], "MODEL=PARAMS (e.g. pythia-70m=70M) for models whose size the "
                                "results lack.")
    sizes: Path | None = param(None, "JSON/YAML mapping model name → params (default: none).")
    tokens: str = param("char", "Edit distance over 'char' or 'word' tokens.")
    out: Path = param(Path("emergence_analysis"), "Where analysis.json and the per-task plots go.")

    def validate(self) -> None:
        """ConfigError when no results are named (the command line always names them)."""
        from neurips23.errors import ConfigError

        if self.results is None:
            raise ConfigError("results: name the per-sample JSONL, run dir or harness output")


@arguments(app, positional=("results",), repeatable=("size",))
@config_command(app, AnalyzeConfig)
def analyze(cfg: AnalyzeConfig) -> None:
    """Per task: every metric's curve across model size and its emergence score, with a plot.
    A sharp exact-match curve beside a smooth edit-distance curve on the same outputs points to
    a metric artefact."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from neurips23.emergence.analysis import analyze as run_analysis
    from neurips23.emergence.analysis import plot_task
    from neurips23.emergence.harness import read_harness_logs
    from neurips23.emergence.results import load_results, parse_size_overrides, read_size_file
    from neurips23.utils import atomic_write_json

    console = Console()
    results, tokens, out = cfg.results, cfg.tokens, cfg.out
    mapping = read_size_file(cfg.sizes) if cfg.sizes else {}
    mapping.update(parse_size_overrides(cfg.size))
    runs = []
    if results.is_dir() and any(results.rglob("samples_*.jsonl")):
        logs = read_harness_logs(results, mapping)
        recs, runs = logs.records, [r.summary() for r in logs.runs]
        for r in runs:
            if r["tasks_skipped"]:
                console.print(f"[yellow]not pooled[/]: {r['results']} ({r['model']}, "
                              f"{r['date']}): a newer run of {', '.join(r['tasks_skipped'])} "
                              "is used instead")
    else:
        recs = load_results(results, mapping)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        job = bar.add_task("scoring samples", total=len(recs))
        tasks = run_analysis(recs, tokens=tokens, progress=lambda k: bar.advance(job, k))
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib.pyplot as plt

    short = {"exact_match": "EM", "token_edit_distance": "TED", "per_token_accuracy": "tok acc",
             "per_token_ce": "CE/token", "multiple_choice_grade": "MC grade",
             "multiple_choice_brier": "MC Brier", "target_probability": "p(target)",
             "target_loglikelihood": "log p(target)", "document_loglikelihood": "log p(doc)"}
    for ta in tasks.values():
        curves = list(ta.curves.values())
        table = Table(title=f"{ta.task} (resolution limit {ta.resolution_limit:.3g})")
        table.add_column("model")
        table.add_column("params", justify="right")
        for c in curves:
            table.add_column(short.get(c.metric, c.metric), justify="right")
        models = sorted({(p, m) for c in curves for m, p in zip(c.models, c.params, strict=True)})
        for p, m in models:
            cells = []
            for c in curves:
                cells.append(f"{c.value[c.models.index(m)]:.4g}" if m in c.models else "")
            table.add_row(m, f"{p:.3g}", *cells)
        table.add_row("[dim]better[/]", "", *["↑" if c.higher_is_better else "↓" for c in curves])
        table.add_row("[bold]emergence score[/]", "", *[f"{c.emergence:.3g}" for c in curves])
        console.print(table)
        fig = plot_task(ta)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in ta.task)
        fig.savefig(out / f"{safe}.png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    atomic_write_json(out / "analysis.json", {
        "source": str(results), "tokens": tokens, "harness_runs": runs,
        "tasks": {t: {"resolution_limit": ta.resolution_limit, "skipped": ta.skipped,
                      "curves": {n: c.as_dict() for n, c in ta.curves.items()}}
                  for t, ta in tasks.items()},
    }, strict=True)  # standard JSON: a non-finite value (log p = -inf) is written as null
    console.print(f"{len(recs)} samples, {len(tasks)} task(s): wrote {out / 'analysis.json'} "
                  f"and one plot per task to {out}/")

