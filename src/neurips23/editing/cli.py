"""`neurips23 editing trace | edit | analyze | facts`: causal tracing, per-layer edits and the
layer-vs-tracing regression on any Hugging Face causal LM (thin glue over the library)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import typer

from neurips23.core.cli_config import config_command, param
from neurips23.editing.config import SweepSettings

app = typer.Typer(help="Localization vs editing (Hase et al. 2023): causal tracing, ROME and "
                       "constrained finetuning per layer, and whether tracing predicts edits.",
                  no_args_is_help=True)


@dataclass
class ModelOptions:
    """Which model, and its module templates when its type is not known."""

    model: str = param("smollm2-135m", "Model name or path (a built-in, a local dir, a hub name).")
    device: str = param("", "Device (cpu, cuda); empty: the model's default.")
    layer_template: str = param("", "Block module template, e.g. 'model.layers.{}'.")
    mlp_template: str = param("", "MLP module template.")
    attn_template: str = param("", "Attention module template.")
    down_proj_template: str = param("", "MLP down-projection template (the edited matrix).")
    embed_template: str = param("", "Token embedding module name.")


@dataclass
class TraceConfig(ModelOptions):
    """Causal tracing of the facts in a JSONL file."""

    facts: str = param("", "JSONL of facts (subject, prompt with {}, target_true, ...).")
    out: str = param("editing_traces", "Output directory (traces.jsonl and heatmaps).")
    kind: Literal["layer", "mlp", "attn"] = param("layer", "What is restored.")
    window: int = param(10, "Window of mlp/attn layers restored together (ROME: 10).")
    samples: int = param(10, "Noised runs (ROME: 10).")
    noise_multiple: float = param(3.0, "σ as a multiple of the subject embeddings' std.")
    noise: float = param(0.0, "Absolute σ (overrides noise_multiple when > 0).")
    layers: list[int] = param([], "Layers to trace (empty: all).")
    max_rows: int = param(256, "Rows per forward pass (memory bound).")
    plots: int = param(10, "Heatmaps for the first N facts.")


@dataclass
class EditConfig(ModelOptions, SweepSettings):
    """Edit every fact at every layer with every method/problem and score the edits."""

    facts: str = param("", "JSONL of facts; target_new is needed for error_injection.")
    out: str = param("editing_edits", "Output directory (rows.jsonl, r2.json).")
    corpus: str = param("", "Text file (one text per line) for the keys' second moment C; "
                        "empty: the model's own samples.")
    corpus_texts: int = param(200, "Sampled texts for C when no corpus is given.")
    corpus_length: int = param(48, "Tokens per sampled text.")


@dataclass
class AnalyzeConfig:
    """Regress edit scores on layer and tracing."""

    rows: str = param("", "rows.jsonl written by `neurips23 editing edit`.")
    score: Literal["rewrite", "paraphrase", "neighbourhood"] = param("rewrite", "Score to explain.")
    tracing: Literal["tracing", "tracing_last"] = param("tracing", "Tracing effect at the best "
                                                        "token or the last subject token.")


@dataclass
class FactsConfig:
    """Write the built-in candidate facts a model knows."""

    model: str = param("smollm2-135m", "Model name or path.")
    out: str = param("known_facts.jsonl", "Output JSONL.")
    seed: int = param(0, "Seed of the counterfactual objects and neighbours.")


def _load(opts: ModelOptions):
    from neurips23.editing.modules import layer_names
    from neurips23.lm.models import load_model
    from neurips23.utils import quiet_third_party, set_torch_threads

    quiet_third_party()
    set_torch_threads()
    model, tok = load_model(opts.model, device=opts.device or None)
    model.requires_grad_(False)
    names = layer_names(model, opts.layer_template, opts.mlp_template, opts.attn_template,
                        opts.down_proj_template, opts.embed_template)
    return model, tok, names


def _facts(path: str):
    from neurips23.editing.facts import read_facts
    from neurips23.errors import ConfigError

    if not path:
        raise ConfigError("--facts is required (a JSONL file of facts)")
    return read_facts(path)


@config_command(app, TraceConfig)
def trace(cfg: TraceConfig) -> None:
    """Causal tracing (ROME): p(o) clean, with the subject noised, and restored per state."""
    import json

    from rich.console import Console
    from rich.table import Table

    from neurips23.editing.tracing import layer_effects, row_labels, subject_embedding_std, trace_fact
    from neurips23.utils import atomic_write_text

    facts = _facts(cfg.facts)
    model, tok, names = _load(cfg)
    std = subject_embedding_std(model, tok, [f.subject for f in facts], names)
    noise = cfg.noise if cfg.noise > 0 else cfg.noise_multiple * std
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    table = Table("subject", "answer", "p clean", "p noised", "peak layer", "peak effect")
    lines = []
    for i, f in enumerate(facts):
        tr = trace_fact(model, tok, f.text, f.subject, f.target_true, noise=noise, kind=cfg.kind,
                        window=cfg.window, samples=cfg.samples, layers=cfg.layers or None,
                        names=names, max_rows=cfg.max_rows)
        eff = layer_effects(tr)
        peak = int(tr.layers[int(eff.argmax())]) if eff.size and not all(eff != eff) else -1
        table.add_row(f.subject, tr.answer.strip(), f"{tr.p_clean:.3f}", f"{tr.p_low:.3f}",
                      str(peak), f"{float(eff.max()):.2f}" if peak >= 0 else "-")
        lines.append(json.dumps({**tr.as_dict(), "effect": eff.tolist()}))
        if i < cfg.plots:
            _heatmap(tr, row_labels(tr, tok), out / f"trace_{i:03d}.png")
    atomic_write_text(out / "traces.jsonl", "\n".join(lines) + "\n")
    Console().print(table)
    Console(stderr=True).print(f"σ = {noise:.4g} (embedding std {std:.4g}); wrote "
                               f"{out / 'traces.jsonl'}")


def heatmap_figure(tr, labels: list[str]):
    """p(o) restored per (token, layer); rows labelled with `labels` (`tracing.row_labels`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.3 * len(tr.tokens) + 1.5))
    im = ax.imshow(tr.scores, aspect="auto", cmap="Purples")
    ax.set_yticks(range(len(tr.tokens)), labels, fontsize=7)
    ax.set_xticks(range(len(tr.layers)), tr.layers, fontsize=7)
    ax.set(xlabel="layer", title=f"p({tr.answer.strip()}) restoring {tr.kind} (* subject)")
    fig.colorbar(im, ax=ax)
    return fig


def _heatmap(tr, labels: list[str], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = heatmap_figure(tr, labels)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


@config_command(app, EditConfig)
def edit(cfg: EditConfig) -> None:
    """Trace each fact, edit it at every layer with every method and problem, score it."""
    import json

    from rich.console import Console

    from neurips23.editing.experiment import model_corpus, prepare, r2_table, sweep_fact
    from neurips23.utils import atomic_write_json, atomic_write_text, read_text_file

    facts = _facts(cfg.facts)
    model, tok, _ = _load(cfg)
    corpus = ([x for x in read_text_file(cfg.corpus, "corpus").splitlines() if x.strip()]
              if cfg.corpus else model_corpus(model, tok, cfg.context_starts, cfg.corpus_texts,
                                              cfg.corpus_length, seed=cfg.seed + 17))
    err = Console(stderr=True)
    shared = prepare(model, tok, facts, corpus, cfg, log=err.print)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, f in enumerate(facts):
        r, _ = sweep_fact(model, tok, f, shared, cfg, fact_id=i)
        rows += r
        err.print(f"fact {i + 1}/{len(facts)} {f.subject!r}: {len(r)} edits")
        atomic_write_text(out / "rows.jsonl", "".join(json.dumps(x) + "\n" for x in rows))
    fits = {f"{m}/{p}": v for (m, p), v in r2_table(rows).items()}
    atomic_write_json(out / "r2.json", fits)
    _print_fits(fits)


def _print_fits(fits: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table("method/problem", "R² layer", "R² tracing", "R² both", "ΔR²", "p (F-test)", "rows")
    for k, v in fits.items():
        if "error" in v:
            Console(stderr=True).print(f"{k}: no regression ({v['error']})")
            continue
        t.add_row(k, *(f"{v[x]:.3f}" for x in ("r2_layer", "r2_trace", "r2_both", "delta_r2")),
                  f"{v['p_value']:.2g}", str(v["n"]))
    Console().print(t)


@config_command(app, AnalyzeConfig)
def analyze(cfg: AnalyzeConfig) -> None:
    """R² of score ~ layer, ~ tracing and ~ layer × tracing per method and problem."""
    from neurips23.editing.experiment import r2_table
    from neurips23.errors import ConfigError
    from neurips23.lm.data import read_jsonl

    if not cfg.rows:
        raise ConfigError("--rows is required (rows.jsonl from `neurips23 editing edit`)")
    need = ["method", "problem", "layer", cfg.score, cfg.tracing]
    rows = read_jsonl(cfg.rows, required=need)
    _print_fits({f"{m}/{p}": v for (m, p), v in r2_table(rows, cfg.score, cfg.tracing).items()})


@config_command(app, FactsConfig)
def facts(cfg: FactsConfig) -> None:
    """Keep the built-in candidate facts (capitals, languages, ...) the model completes."""
    from rich.console import Console

    from neurips23.editing.facts import write_facts
    from neurips23.editing.known_facts import candidate_facts, known_facts
    from neurips23.lm.models import load_model
    from neurips23.utils import quiet_third_party, set_torch_threads

    quiet_third_party()
    set_torch_threads()
    model, tok = load_model(cfg.model)
    known = known_facts(model, tok, seed=cfg.seed)
    write_facts(known, cfg.out)
    Console(stderr=True).print(f"{cfg.model} knows {len(known)} of {len(candidate_facts())} "
                               f"candidate facts; wrote {cfg.out}")
