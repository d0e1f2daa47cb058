"""CLI of the multilingual method: `neurips23 aya detect | data | template | stats | eval | winrate`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

from neurips23.core.cli_config import config_command, param
from neurips23.lm.backends import BackendOptions

app = typer.Typer(help="Aya-style multilingual data and evaluation: language ID, cleaning, per-language "
                       "token cost, language fidelity and both-order win rates.",
                  no_args_is_help=True)

FIXTURES = ("fixture:questions", "fixture:translate")


@app.command()
def detect(texts: list[str] = typer.Argument(..., help="Texts to identify."),
           backend: str = typer.Option("lingua", help="lingua, langid or script."),
           languages: str = typer.Option("", help="Comma-separated candidate ISO 639-3 codes."),
           verbose: bool = typer.Option(False, "--verbose", "-v", help="Also print confidence and why und.")) -> None:
    """Print the ISO 639-3 code of each text (`und` when unsure or unsupported)."""
    from neurips23.multilingual.langid import detect_many

    cands = [c.strip() for c in languages.split(",") if c.strip()] or None
    for _t, d in zip(texts, detect_many(texts, backend, cands), strict=True):
        typer.echo(f"{d.language}\t{d.confidence:.3f}\t{d.reason}" if verbose else d.language)


@app.command("langid-recall")
def langid_recall_cmd(backend: str = typer.Option("lingua", help="lingua, langid or script.")) -> None:
    """Per-language recall of the pipeline's language-ID stage on the shipped parallel text."""
    from neurips23.errors import UserError
    from neurips23.multilingual.experiment import parallel_items
    from neurips23.multilingual.langid import BACKENDS
    from neurips23.multilingual.pipeline import langid_recall

    if backend not in BACKENDS:
        raise UserError(f"--backend {backend!r}: choose from {', '.join(BACKENDS)}")
    from neurips23.multilingual.fixtures import parallel_sentences

    for lang, r in langid_recall(parallel_items(list(parallel_sentences())), backend).items():
        why = "; ".join(f"{n} {w}" for w, n in r["dropped_as"].items())
        typer.echo(f"{lang}\t{r['kept']}/{r['n']}\t{r['recall']:.3f}\t{why}")


@dataclass
class DataConfig:
    """The cleaning pipeline over a JSONL file of records."""

    input: str = param("", "JSONL of records (inputs, targets, language_code, ...).")
    out: str = param("clean.jsonl", "Where the kept records go.")
    stages: list[str] = param(["normalize", "langid", "script", "quality", "dedup"], "Stages in order.")
    langid: str = param("lingua", "Language-ID backend: lingua, langid or script.")
    languages: list[str] = param([], "Candidate languages for language ID (default: a built-in set).")
    min_confidence: float = param(-1.0, "Language-ID confidence threshold (-1: the backend's default).")
    near_dup_threshold: float = param(0.8, "Jaccard similarity from which two records are duplicates.")
    report: str = param("", "Write the per-stage report here (JSON; default: next to --out).")
    rejected: str = param("", "Also write dropped records with their stage and reason (JSONL).")


@config_command(app, DataConfig)
def data(cfg: DataConfig) -> None:
    """Clean records: normalise, language ID, script check, quality filters, dedup; report per stage."""
    from neurips23.errors import ConfigError
    from neurips23.multilingual.pipeline import default_stages, run_pipeline
    from neurips23.multilingual.records import read_records, write_records
    from neurips23.utils import atomic_write_json

    if not cfg.input:
        raise ConfigError("--input: give the JSONL file of records to clean")
    if not 0 < cfg.near_dup_threshold <= 1:
        raise ConfigError(f"near_dup_threshold = {cfg.near_dup_threshold}: must be in (0, 1]")
    rejected: list[dict] = []
    stages = default_stages(cfg.stages, cfg.langid, cfg.languages or None, cfg.near_dup_threshold,
                            None if cfg.min_confidence < 0 else cfg.min_confidence)
    kept, report = run_pipeline(read_records(cfg.input), stages, on_drop=lambda r, s, why: rejected.append(
        {**r.to_dict(), "_stage": s, "_reason": why, "_where": r.where}))
    n = write_records(kept, cfg.out)
    report_path = Path(cfg.report or Path(cfg.out).with_suffix(".report.json"))
    atomic_write_json(report_path, {"config": asdict(cfg), **report})
    if cfg.rejected:
        from neurips23.utils import atomic_write_text
        atomic_write_text(Path(cfg.rejected), "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejected))
    _print_report(report)
    typer.echo(f"kept {n} of {report['records_in']} records -> {cfg.out} (report: {report_path})")


def _print_report(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table("stage", "in", "kept", "dropped (reason: count)")
    for s in report["stages"]:
        t.add_row(s["stage"], str(s["seen"]), str(s["kept"]),
                  "; ".join(f"{k}: {v}" for k, v in s["dropped"].items()))
    Console(stderr=True).print(t)


@app.command()
def template(rows: Path = typer.Argument(..., help="JSONL of rows with the template's fields."),
             set_id: str = typer.Option(..., "--template", help="Template set id (e.g. translate-en-x)."),
             language: str = typer.Option(..., help="ISO 639-3 code of the records to make."),
             out: Path = typer.Option(Path("templated.jsonl"), help="Output JSONL of records."),
             templates: Path = typer.Option(None, help="YAML of template sets (default: the shipped one)."),
             dataset_name: str = typer.Option("", help="dataset_name of the records.")) -> None:
    """Turn structured rows into instruction records through a per-language template."""
    from neurips23.errors import DataError
    from neurips23.lm.data import read_jsonl
    from neurips23.multilingual.records import write_records
    from neurips23.multilingual.templates import apply_templates, load_templates

    sets = load_templates(templates)
    if set_id not in sets:
        raise DataError(f"no template set {set_id!r}; sets: {', '.join(sets)}")
    data_rows = [{**r, "_where": f"{rows}:{r['_line']}"} for r in read_jsonl(rows)]
    n = write_records(apply_templates(data_rows, sets[set_id], language, dataset_name), out)
    typer.echo(f"wrote {n} records to {out}")


@dataclass
class StatsConfig:
    """Per-language cost: of a records file, and the token premium on parallel text."""

    data: str = param("", "JSONL of records to describe per language (optional).")
    parallel: str = param("", "Parallel JSONL ({id, <iso639-3>: text, ...}); default: the shipped text.")
    tokenizers: list[str] = param(["bytes", "smollm2-135m"], "Tokenizers: bytes, chars, smollm2-135m, "
                                  "tiktoken:<enc>, or any HF name/path.")
    out: str = param("aya_stats", "Output folder (stats.json, token_premium.png).")


@config_command(app, StatsConfig)
def stats(cfg: StatsConfig) -> None:
    """Counts, bytes, tokens, fertility and the token premium over English, per language."""
    from neurips23.multilingual.cost import language_stats, load_counter, parallel_cost, plot_premiums
    from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences, read_parallel
    from neurips23.multilingual.records import read_records
    from neurips23.utils import atomic_write_json

    counters = [load_counter(t) for t in cfg.tokenizers]
    if cfg.parallel:
        par = read_parallel(cfg.parallel)
    else:
        s, q = parallel_sentences(), parallel_questions()
        par = {k: s[k] + q[k] for k in s}
    tables = {c.name: parallel_cost(par, c) for c in counters}
    result = {"parallel": {name: {lang: {k: v for k, v in row.items() if k != "per_sentence"}
                                  for lang, row in t.items()} for name, t in tables.items()}}
    if cfg.data:
        result["records"] = language_stats(read_records(cfg.data), counters)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "stats.json", result)
    fig = plot_premiums(tables)
    fig.savefig(out / "token_premium.png", dpi=110, bbox_inches="tight")
    _print_premiums(result["parallel"])
    typer.echo(f"wrote {out / 'stats.json'} and {out / 'token_premium.png'}")


def _print_premiums(tables: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    names = list(tables)
    t = Table("language", *[f"premium [{n}]" for n in names], *[f"fertility [{n}]" for n in names],
              title="Token premium over English on parallel text")
    for lang in next(iter(tables.values())):
        fert = [tables[n][lang]["fertility"] for n in names]
        t.add_row(lang, *[f"{tables[n][lang]['premium']:.2f}" for n in names],
                  *[f"{f:.2f}" if f else "n/a" for f in fert])
    Console().print(t)


@dataclass
class EvalConfig(BackendOptions):
    """Generate with a model and score per language and resource tier."""

    backend: str = param("hf", "hf, openai or replay.")
    model: str = param("smollm2-135m", "Model name or path (hf), model id (openai), or JSONL of "
                       "recorded {prompt, output} (replay).")
    data: str = param("fixture:questions", "Records JSONL, or fixture:questions / fixture:translate.")
    languages: list[str] = param([], "Only these languages (default: all in the data).")
    limit: int = param(0, "At most this many records per language (0: all).")
    max_tokens: int = param(64, "Tokens generated per output.")
    chat: bool = param(True, "Send inputs as a chat turn (the model's chat template).")
    langid: str = param("lingua", "Language-ID backend for fidelity.")
    bleu_tokenize: str = param("", "sacrebleu tokenizer for BLEU (default: per language; "
                               "flores200 for spBLEU, which downloads its model).")
    batch_size: int = param(16, "Generation batch size.")
    out: str = param("aya_eval", "Output folder (outputs.jsonl, results.json, fidelity.png).")


@config_command(app, EvalConfig, name="eval")
def eval_(cfg: EvalConfig) -> None:
    """Generate answers and report language fidelity and chrF/chrF++/BLEU per language and tier."""
    from neurips23.multilingual.evaluate import evaluate, generate_outputs, plot_fidelity
    from neurips23.utils import atomic_write_json, atomic_write_text, package_versions, quiet_third_party

    quiet_third_party()
    records = _eval_records(cfg)
    model = _eval_model(cfg)
    typer.echo(f"generating {len(records)} outputs with {cfg.model} ({cfg.backend})", err=True)
    outputs = generate_outputs(model, records, cfg.max_tokens, cfg.chat, batch_size=cfg.batch_size)
    report = evaluate(records, outputs, cfg.langid, bleu_tokenize=cfg.bleu_tokenize or None)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [{**r.to_dict(), "output": o, "detected_language": it["detected"], "faithful": it["faithful"]}
            for r, o, it in zip(records, outputs, report["items"], strict=True)]
    atomic_write_text(out / "outputs.jsonl", "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows))
    atomic_write_json(out / "results.json", {"config": asdict(cfg), "fidelity": report["fidelity"],
                                             "scores": report["scores"], "usage": model.usage.snapshot(),
                                             "versions": package_versions()})
    fig = plot_fidelity(report["fidelity"], f"{cfg.model}: language fidelity")
    fig.savefig(out / "fidelity.png", dpi=110, bbox_inches="tight")
    _print_eval(report)
    typer.echo(f"wrote {out}/outputs.jsonl, results.json, fidelity.png")


def _eval_records(cfg: EvalConfig) -> list:
    from neurips23.multilingual.fixtures import parallel_questions, parallel_sentences
    from neurips23.multilingual.languages import macro
    from neurips23.multilingual.records import Record, read_records
    from neurips23.multilingual.templates import apply_templates, load_templates

    if cfg.data == "fixture:questions":
        q = parallel_questions()
        recs = [Record(q[lang][i], "", lang, id=f"q{i + 1:02d}-{lang}") for lang in q for i in range(len(q[lang]))]
    elif cfg.data == "fixture:translate":
        s, sets = parallel_sentences(), load_templates()
        recs = [r for lang in s if lang != "eng" for r in apply_templates(
            [{"id": f"s{i + 1:02d}", "source": s["eng"][i], "target": s[lang][i]} for i in range(len(s["eng"]))],
            sets["translate-en-x"], lang, "aya-fixture")]
    else:
        recs = list(read_records(cfg.data))
    if cfg.languages:
        want = {macro(c) for c in cfg.languages}
        recs = [r for r in recs if macro(r.language_code) in want]
    if cfg.limit:
        per_language: Counter = Counter()
        kept = []
        for r in recs:
            if per_language[r.language_code] < cfg.limit:
                per_language[r.language_code] += 1
                kept.append(r)
        recs = kept
    if not recs:
        from neurips23.errors import DataError
        raise DataError(f"{cfg.data}: no records left after the language filter {cfg.languages}")
    return recs


def _eval_model(cfg: EvalConfig):
    from neurips23.errors import ConfigError

    if cfg.backend == "replay":
        from neurips23.multilingual.evaluate import ReplayBackend
        return ReplayBackend(cfg.model)
    if cfg.backend not in ("hf", "openai"):
        raise ConfigError(f"backend {cfg.backend!r}: choose hf, openai or replay")
    return cfg.load(batch_size=cfg.batch_size)


def _print_eval(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table("language", "n", "fidelity", "95% CI", "und", "chrF", "chrF++", "BLEU",
              title="Per language (tiers pooled at the bottom)")
    for lang, s in report["fidelity"].items():
        sc = report["scores"].get(lang, {})
        t.add_row(lang, str(s["n"]), f"{s['fidelity']:.2f}", f"[{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]",
                  f"{s['und']:.2f}", *[f"{sc[m]['score']:.1f}" if m in sc else "" for m in ("chrF", "chrF++", "BLEU")])
    Console().print(t)


@dataclass
class WinrateConfig(BackendOptions):
    """Pairwise win rate of system A over system B, judged in both orders; a model judge is the
    backend settings' model."""

    a: str = param("", "outputs.jsonl of system A (from `aya eval`).")
    b: str = param("", "outputs.jsonl of system B (same ids).")
    judge: str = param("chrf", "chrf (needs targets), model, human or first-position.")
    human_csv: str = param("", "CSV of human verdicts: id, order (12/21), verdict (A/B/tie).")
    n_boot: int = param(2000, "Bootstrap resamples.")
    seed: int = param(0, "Bootstrap seed.")
    out: str = param("aya_winrate.json", "Where the result goes (JSON).")


@config_command(app, WinrateConfig)
def winrate(cfg: WinrateConfig) -> None:
    """Win/tie/loss of A over B per language and tier with bootstrap CIs; both orders always. A
    model judge (--judge model) is the model of --backend, --model and --base-url."""
    from neurips23.multilingual.winrate import judge_pairs, position_bias, win_rates_by_group
    from neurips23.utils import atomic_write_json

    a, b = _read_outputs(cfg.a, "--a"), _read_outputs(cfg.b, "--b")
    if set(a) != set(b):
        from neurips23.errors import DataError
        raise DataError(f"{cfg.a} and {cfg.b} hold different ids (e.g. {sorted(set(a) ^ set(b))[:3]})")
    ids = sorted(a)
    judge = _make_judge(cfg)
    outcomes = judge_pairs(ids, [a[i]["inputs"] for i in ids], [a[i]["output"] for i in ids],
                           [b[i]["output"] for i in ids], [a[i]["language_code"] for i in ids], judge,
                           [a[i].get("targets", "") for i in ids])
    groups = win_rates_by_group(outcomes, n_boot=cfg.n_boot, seed=cfg.seed)
    atomic_write_json(Path(cfg.out), {"config": asdict(cfg), "win_rates": groups,
                                      "position_bias": position_bias(outcomes),
                                      "items": [asdict(o) for o in outcomes]})
    for k, g in groups.items():
        typer.echo(f"{k:12s} n={g['n']:4d}  win {g['win']:.2f} [{g['win_ci'][0]:.2f}, {g['win_ci'][1]:.2f}]"
                   f"  tie {g['tie']:.2f}  loss {g['loss']:.2f}")
    typer.echo(f"wrote {cfg.out}")


def _read_outputs(path: str, flag: str) -> dict[str, dict]:
    from neurips23.errors import ConfigError, DataError
    from neurips23.lm.data import read_jsonl

    if not path:
        raise ConfigError(f"{flag}: give an outputs.jsonl written by `neurips23 aya eval`")
    rows = read_jsonl(path, required=("id", "inputs", "output", "language_code"),
                      types={"id": str, "output": str, "inputs": str})
    out: dict[str, dict] = {}
    for r in rows:
        if r["id"] in out:
            raise DataError(f"{path}:{r['_line']}: duplicate id {r['id']!r}")
        out[r["id"]] = r
    return out


def _make_judge(cfg: WinrateConfig):
    from neurips23.errors import ConfigError
    from neurips23.multilingual.winrate import ChrFJudge, FirstPositionJudge, HumanJudge, ModelJudge

    if cfg.judge == "chrf":
        return ChrFJudge()
    if cfg.judge == "first-position":
        return FirstPositionJudge()
    if cfg.judge == "human":
        if not cfg.human_csv:
            raise ConfigError("--human-csv: the human judge needs a CSV of verdicts")
        return HumanJudge(cfg.human_csv)
    if cfg.judge == "model":
        return ModelJudge(cfg.load())
    raise ConfigError(f"judge {cfg.judge!r}: choose chrf, model, human or first-position")
