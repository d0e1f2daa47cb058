"""Metric-swap analysis (§3–4): per task, every metric's curve across scale on the same outputs,
with its emergence score, so a user can see whether "emergence" is a metric artefact."""

from __future__ import annotations

import math
import re
import string
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from neurips23.core.stats import wilson_interval
from neurips23.emergence import metrics as M
from neurips23.emergence.samples import SampleResult
from neurips23.errors import DataError

# metric name -> (higher is better, binary outcome per sample)
METRIC_INFO: dict[str, tuple[bool, bool]] = {
    "exact_match": (True, True),
    "token_edit_distance": (False, False),
    "per_token_accuracy": (True, False),
    "per_token_ce": (False, False),
    "multiple_choice_grade": (True, True),
    "multiple_choice_brier": (False, False),
    "target_probability": (True, False),
    "target_loglikelihood": (True, False),
    "document_loglikelihood": (True, False),
}
DISCONTINUOUS = ("exact_match", "multiple_choice_grade")
LOGGED = " (logged)"
AGGREGATIONS = ("mean", "perplexity", "weighted_perplexity", "bits_per_byte")


def tokenize(text: str, tokens: str = "char", strip: bool = True) -> list[str]:
    """Split an output into the tokens edit distance is counted over ("char" or "word")."""
    if tokens == "char":
        return list(text.strip() if strip else text)
    if tokens == "word":
        return text.split()
    raise DataError(f"tokens must be 'char' or 'word', got {tokens!r}")


def harness_normalize(text: str, settings: dict) -> str:
    """A string as the harness's exact_match sees it (lm_eval.api.metrics.exact_match_hf_evaluate):
    each of regexes_to_ignore removed, then lower case, punctuation and digits dropped."""
    for pattern in settings.get("regexes_to_ignore") or []:
        text = re.sub(pattern, "", text)
    if settings.get("ignore_case"):
        text = text.lower()
    if settings.get("ignore_punctuation"):
        text = text.translate(str.maketrans("", "", string.punctuation))
    if settings.get("ignore_numbers"):
        text = text.translate(str.maketrans("", "", string.digits))
    return text


def compared_strings(rec: SampleResult) -> tuple[str, list[str]]:
    """The prediction and targets as exact match compares them: the harness's exact_match
    settings when the task declares them (no other change, as the harness), else stripped."""
    if rec.normalize is not None:
        return (harness_normalize(rec.prediction, rec.normalize),
                [harness_normalize(t, rec.normalize) for t in rec.targets])
    return rec.prediction.strip(), [t.strip() for t in rec.targets]


def sample_metrics(rec: SampleResult, tokens: str = "char") -> dict[str, float]:
    """Every metric the sample's fields allow, computed on the same output (several targets:
    exact match if any matches, the smallest edit distance, the best token accuracy)."""
    out: dict[str, float] = {}
    if rec.prediction is not None and rec.targets:
        pred, targets = compared_strings(rec)
        p = tokenize(pred, tokens, strip=False)
        ts = [tokenize(t, tokens, strip=False) for t in targets]
        out["exact_match"] = max(M.exact_match(p, t) for t in ts)
        out["token_edit_distance"] = float(min(M.token_edit_distance(p, t) for t in ts))
        if any(ts):
            out["per_token_accuracy"] = max(M.per_token_accuracy(p, t) for t in ts if t)
    if rec.option_logprobs is not None and rec.correct:
        lp = rec.option_logprobs
        out["multiple_choice_grade"] = max(M.multiple_choice_grade(lp, c) for c in rec.correct)
        if len(rec.correct) == 1:
            out["multiple_choice_brier"] = M.multiple_choice_brier(lp, rec.correct[0])
    if rec.loglikelihood is not None and rec.output_type == "loglikelihood":
        out["exact_match"] = float(bool(rec.is_greedy))  # greedy decoding gives the target
        out["target_probability"] = math.exp(rec.loglikelihood)
        out["target_loglikelihood"] = rec.loglikelihood
    elif rec.loglikelihood is not None:
        out["document_loglikelihood"] = rec.loglikelihood
    if rec.token_logprobs:
        out["per_token_ce"] = M.per_token_cross_entropy(rec.token_logprobs)
    for k, v in rec.given.items():
        if k not in rec.logged:  # our JSONL: extra numeric fields, averaged
            out[k + LOGGED] = v
    return out


def aggregate(values: list, how: str) -> float:
    """The harness's aggregations of per-sample values (lm_eval.api.metrics): mean;
    perplexity = exp(−mean log-likelihood); weighted_perplexity = exp(−Σ ll / Σ count);
    bits_per_byte = −Σ ll / Σ bytes / ln 2."""
    if how == "mean":
        return float(np.mean(values))
    if how == "perplexity":
        return math.exp(-float(np.mean(values)))
    if how in ("weighted_perplexity", "bits_per_byte"):
        ll, count = (float(sum(x)) for x in zip(*values, strict=True))
        return math.exp(-ll / count) if how == "weighted_perplexity" else -ll / count / math.log(2)
    raise DataError(f"aggregation {how!r} is not supported (mean, perplexity, "
                    "weighted_perplexity, bits_per_byte)")


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
    value: list[float]  # the mean over samples, or the harness's aggregate
    n: list[int]
    ci: list[tuple[float, float]] | None = None
    emergence: float = float("nan")
    aggregation: str = "mean"

    def as_dict(self) -> dict:
        d = {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "models": self.models,
            "params": self.params,
            "value": self.value,
            "aggregation": self.aggregation,
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
    skipped: list[str] = field(default_factory=list)  # logged metrics we cannot aggregate


def json_number(x: float) -> float | str:
    """JSON has no inf/nan: write them as strings."""
    return x if math.isfinite(x) else str(x)


def metric_direction(name: str) -> tuple[bool, bool]:
    """(higher is better, binary) of one of our metrics, or of a logged number in our JSONL
    (higher is better unless its name says loss, perplexity, edit distance, ...)."""
    base = name.removesuffix(LOGGED)
    if base in METRIC_INFO:
        return METRIC_INFO[base]
    lower = any(s in base for s in ("brier", "perplexity", "loss", "edit", "ter", "bits"))
    return (not lower, False)


@dataclass
class _Cell:
    """One (task, model): per metric, the per-sample values and how they aggregate."""

    values: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    how: dict[str, tuple[str, bool, bool]] = field(default_factory=dict)  # agg, hib, binary


def _collect(results: Sequence[SampleResult], tokens: str,
             progress: Callable[[int], None] | None) -> tuple[dict, dict[str, float]]:
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    params: dict[str, float] = {}
    for rec in results:
        if rec.model in params and params[rec.model] != rec.params:
            raise DataError(f"model {rec.model!r} has two sizes: {params[rec.model]} and {rec.params}")
        params[rec.model] = rec.params
        cell = cells[(rec.task, rec.model)]
        for name, value in sample_metrics(rec, tokens).items():
            cell.values[name].append(value)
            cell.how.setdefault(name, ("mean", *metric_direction(name)))
        for name, (agg, hib) in rec.logged.items():
            cell.values[name + LOGGED].append(rec.given[name])
            cell.how.setdefault(name + LOGGED, (agg, hib, False))
        if progress:
            progress(1)
    return cells, params


def analyze(
    results: Sequence[SampleResult],
    tokens: str = "char",
    progress: Callable[[int], None] | None = None,
) -> dict[str, TaskAnalysis]:
    """Per task and metric: the curve across model size and its emergence score (§4). Our
    metrics are means over samples; a metric the harness logged is aggregated as its task
    config says (so it equals the harness's own result) and oriented by its direction."""
    if not results:
        raise DataError("no per-sample results to analyse")
    cells, params = _collect(results, tokens, progress)
    tasks: dict[str, TaskAnalysis] = {}
    for task in sorted({t for t, _ in cells}):
        models = sorted((m for t, m in cells if t == task), key=lambda m: (params[m], m))
        names = sorted({n for m in models for n in cells[(task, m)].values})
        ta = TaskAnalysis(task)
        sizes = []
        for name in names:
            have = [m for m in models if cells[(task, m)].values.get(name)]
            agg, hib, binary = cells[(task, have[0])].how[name]
            if agg not in AGGREGATIONS:
                ta.skipped.append(f"{name}: the harness aggregates it by {agg!r}")
                continue
            vals = [cells[(task, m)].values[name] for m in have]
            curve = Curve(metric=name, higher_is_better=hib, models=have,
                          params=[params[m] for m in have],
                          value=[aggregate(v, agg) for v in vals], n=[len(v) for v in vals],
                          aggregation=agg)
            is_binary = agg == "mean" and all(set(v) <= {0.0, 1.0} for v in vals)
            if binary or (name.endswith(LOGGED) and is_binary):
                curve.ci = [wilson_interval(int(round(sum(v))), len(v)) for v in vals]
            if len(have) >= 2:
                curve.emergence = oriented_emergence_score(curve.value, hib)
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
                "first": c.value[0],
                "last": c.value[-1],
                "emergence_score": json_number(c.emergence),
                "sharp": c.metric.removesuffix(LOGGED) in DISCONTINUOUS,
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
        ax.plot(c.params, c.value, "o-")
        if c.ci is not None:
            lo = [m - a for m, (a, _) in zip(c.value, c.ci, strict=True)]
            hi = [b - m for m, (_, b) in zip(c.value, c.ci, strict=True)]
            ax.errorbar(c.params, c.value, yerr=[lo, hi], fmt="none", capsize=3)
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.set_title(f"{name}\nemergence score {c.emergence:.3g}", fontsize=9)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{ta.task}: the same outputs under each metric")
    fig.tight_layout()
    return fig
