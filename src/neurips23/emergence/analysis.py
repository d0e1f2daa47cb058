"""Metric-swap analysis (§3–4): per task, every metric's curve across scale on the same outputs,
with its emergence score, so a user can see whether "emergence" is a metric artefact."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurips23.core.stats import wilson_interval
from neurips23.emergence import metrics as M
from neurips23.emergence.results import SampleResult
from neurips23.errors import DataError

# metric name -> (higher is better, binary outcome per sample)
METRIC_INFO: dict[str, tuple[bool, bool]] = {
    "exact_match": (True, True),
    "token_edit_distance": (False, False),
    "per_token_accuracy": (True, False),
    "per_token_ce": (False, False),
    "multiple_choice_grade": (True, True),
    "multiple_choice_brier": (False, False),
}
DISCONTINUOUS = ("exact_match", "multiple_choice_grade")


def tokenize(text: str, tokens: str = "char") -> list[str]:
    """Split an output into the tokens edit distance is counted over ("char" or "word")."""
    if tokens == "char":
        return list(text.strip())
    if tokens == "word":
        return text.split()
    raise DataError(f"tokens must be 'char' or 'word', got {tokens!r}")


def sample_metrics(rec: SampleResult, tokens: str = "char") -> dict[str, float]:
    """Every metric the sample's fields allow, computed on the same output."""
    out: dict[str, float] = {}
    if rec.prediction is not None and rec.target is not None:
        pred, tgt = tokenize(rec.prediction, tokens), tokenize(rec.target, tokens)
        out["exact_match"] = M.exact_match(pred, tgt)
        out["token_edit_distance"] = float(M.token_edit_distance(pred, tgt))
        if tgt:
            out["per_token_accuracy"] = M.per_token_accuracy(pred, tgt)
    if rec.option_logprobs is not None and rec.correct is not None:
        out["multiple_choice_grade"] = M.multiple_choice_grade(rec.option_logprobs, rec.correct)
        out["multiple_choice_brier"] = M.multiple_choice_brier(rec.option_logprobs, rec.correct)
    if rec.token_logprobs:
        out["per_token_ce"] = M.per_token_cross_entropy(rec.token_logprobs)
    for k, v in rec.given.items():
        out[f"{k} (logged)"] = v
    return out


def oriented_emergence_score(values: Sequence[float], higher_is_better: bool) -> float:
    """Emergence score of a curve turned so that "better" is up (lower-is-better metrics
    such as edit distance and Brier are negated first)."""
    y = np.asarray(values, dtype=float)
    return M.emergence_score(y if higher_is_better else -y)


@dataclass
class Curve:
    """One metric's mean across model sizes (ascending), with CIs for binary metrics."""

    metric: str
    higher_is_better: bool
    models: list[str]
    params: list[float]
    mean: list[float]
    n: list[int]
    ci: list[tuple[float, float]] | None = None
    emergence: float = float("nan")

    def as_dict(self) -> dict:
        d = {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "models": self.models,
            "params": self.params,
            "mean": self.mean,
            "n": self.n,
            "emergence_score": json_number(self.emergence),
        }
        if self.ci is not None:
            d["ci95"] = [list(c) for c in self.ci]
        return d


@dataclass
class TaskAnalysis:
    task: str
    curves: dict[str, Curve] = field(default_factory=dict)
    resolution_limit: float = float("nan")


def json_number(x: float) -> float | str:
    """JSON has no inf/nan: write them as strings."""
    return x if math.isfinite(x) else str(x)


def metric_direction(name: str) -> tuple[bool, bool]:
    """(higher is better, binary) of a metric; logged lm-eval metrics are taken as
    higher-is-better accuracies unless their name says otherwise."""
    base = name.removesuffix(" (logged)")
    if base in METRIC_INFO:
        return METRIC_INFO[base]
    lower = any(s in base for s in ("brier", "perplexity", "loss", "edit", "ter", "bits"))
    return (not lower, False)


def analyze(
    results: Sequence[SampleResult],
    tokens: str = "char",
    progress: Callable[[int], None] | None = None,
) -> dict[str, TaskAnalysis]:
    """Per task and metric: the curve across model size and its emergence score (§4)."""
    if not results:
        raise DataError("no per-sample results to analyse")
    per: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    params: dict[str, float] = {}
    for rec in results:
        if rec.model in params and params[rec.model] != rec.params:
            raise DataError(f"model {rec.model!r} has two sizes: {params[rec.model]} and {rec.params}")
        params[rec.model] = rec.params
        for name, value in sample_metrics(rec, tokens).items():
            per[(rec.task, rec.model)][name].append(value)
        if progress:
            progress(1)
    tasks: dict[str, TaskAnalysis] = {}
    for task in sorted({t for t, _ in per}):
        models = sorted((m for t, m in per if t == task), key=lambda m: (params[m], m))
        names = sorted({n for m in models for n in per[(task, m)]})
        ta = TaskAnalysis(task)
        sizes = []
        for name in names:
            have = [m for m in models if per[(task, m)].get(name)]
            if not have:
                continue
            hib, binary = metric_direction(name)
            vals = [per[(task, m)][name] for m in have]
            curve = Curve(
                metric=name,
                higher_is_better=hib,
                models=have,
                params=[params[m] for m in have],
                mean=[float(np.mean(v)) for v in vals],
                n=[len(v) for v in vals],
            )
            logged_binary = name.endswith(" (logged)") and all(set(v) <= {0.0, 1.0} for v in vals)
            if binary or logged_binary:
                curve.ci = [wilson_interval(int(round(sum(v))), len(v)) for v in vals]
            if len(have) >= 2:
                curve.emergence = oriented_emergence_score(curve.mean, hib)
            ta.curves[name] = curve
            sizes.extend(curve.n)
        ta.resolution_limit = M.resolution_limit(min(sizes)) if sizes else float("nan")
        tasks[task] = ta
    return tasks


def summary_rows(tasks: dict[str, TaskAnalysis]) -> list[dict]:
    """One row per (task, metric) for tables and results.json."""
    rows = []
    for ta in tasks.values():
        for c in ta.curves.values():
            rows.append({
                "task": ta.task,
                "metric": c.metric,
                "models": len(c.models),
                "first": c.mean[0],
                "last": c.mean[-1],
                "emergence_score": json_number(c.emergence),
                "sharp": c.metric.removesuffix(" (logged)") in DISCONTINUOUS,
            })
    return rows


def plot_task(ta: TaskAnalysis):
    """One panel per metric: the metric against parameters (log x), CIs where binary."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(ta.curves)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        c = ta.curves[name]
        ax.plot(c.params, c.mean, "o-")
        if c.ci is not None:
            lo = [m - a for m, (a, _) in zip(c.mean, c.ci, strict=True)]
            hi = [b - m for m, (_, b) in zip(c.mean, c.ci, strict=True)]
            ax.errorbar(c.params, c.mean, yerr=[lo, hi], fmt="none", capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_title(f"{name}\nemergence score {c.emergence:.3g}", fontsize=9)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{ta.task}: the same outputs under each metric")
    fig.tight_layout()
    return fig
