"""lm-evaluation-harness `--log_samples` output read as the harness scores it.

The harness writes, per run, `samples_<task>_<date>.jsonl` beside the results file of the same
`<date>` (`results_<date>.json`, or `<stem>_<date>.json` for `--output_path <stem>.json`): one
folder per model under `--output_path DIR`, or every model in one folder when `--output_path`
names a .json file. So a samples file belongs to the results file with its own timestamp, and
that file names the model, its size and each task's config (output type, metrics with their
aggregation and direction, filters).

Each output type is read as what it is:
* generate_until: the filtered response (one row set per filter) against the target; a list
  target (triviaqa) is a list of acceptable answers (written as its Python repr); exact match
  and edit distance use the task's exact_match settings (regexes_to_ignore, ignore_case, ...)
  on both sides, as the harness does, so gsm8k's "#### 72" target becomes "72".
* multiple_choice: one [log-likelihood, is_greedy] pair per option; the target is the gold
  option index (or indices, or the option text).
* loglikelihood: one continuation (arithmetic_*, LAMBADA): its log-likelihood and whether
  greedy decoding reproduces it; no option set and no generated text.
* loglikelihood_rolling: the document's log-likelihood; the per-sample "perplexity" entries
  are (log-likelihood, words or bytes) pairs that the harness aggregates into perplexities.
Per-sample metric values the harness logged are kept with the aggregation and direction its
task config declares (a loglikelihood task's per-sample "perplexity" is a log-likelihood:
its aggregate exp(-mean) is the perplexity, and lower is better only for that aggregate).
Repeated runs of one model on one task are not pooled: the newest run is used and the others
are listed as skipped.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neurips23.emergence.samples import SampleResult, number
from neurips23.errors import DataError
from neurips23.lm.data import read_json, read_jsonl

DATE = r"(?P<date>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)"
SAMPLES_FILE = re.compile(rf"^samples_(?P<task>.+)_{DATE}\.jsonl$")
RESULTS_FILE = re.compile(rf"^(?P<stem>.+)_{DATE}\.json$")
OUTPUT_TYPES = ("generate_until", "multiple_choice", "loglikelihood", "loglikelihood_rolling")
# the harness's default aggregation of metrics whose config names none
DEFAULT_AGGREGATION = {"perplexity": "perplexity", "word_perplexity": "weighted_perplexity",
                       "byte_perplexity": "weighted_perplexity", "bits_per_byte": "bits_per_byte"}
LOWER_IS_BETTER = ("perplexity", "bits_per_byte", "brier", "loss", "ter", "edit")


@dataclass
class HarnessRun:
    """One `lm_eval` run: its results file, the model it names, and its samples files."""

    results: Path
    date: str
    model: str
    params: float | None
    configs: dict
    higher_is_better: dict
    samples: dict[str, Path] = field(default_factory=dict)  # task -> samples file
    used: list[str] = field(default_factory=list)  # tasks read from this run

    def summary(self) -> dict:
        """What analysis.json records about the run."""
        return {"results": str(self.results), "date": self.date, "model": self.model,
                "params": self.params, "tasks_used": sorted(self.used),
                "tasks_skipped": sorted(set(self.samples) - set(self.used))}


@dataclass
class HarnessLogs:
    """The samples read (newest run per model and task) and every run found."""

    records: list[SampleResult]
    runs: list[HarnessRun]


# --------------------------------------------------------------------------- finding runs
def find_runs(root: str | Path) -> list[HarnessRun]:
    """Every run under `root`: each samples file paired with the results file of its folder
    that carries the same timestamp."""
    root = Path(root)
    groups: dict[tuple[Path, str], dict[str, Path]] = {}
    for f in sorted(root.rglob("samples_*.jsonl")):
        m = SAMPLES_FILE.match(f.name)
        if m:
            groups.setdefault((f.parent, m["date"]), {})[m["task"]] = f
    if not groups:
        raise DataError(f"{root}: no lm-eval samples_<task>_<date>.jsonl files found")
    runs = []
    for (folder, date), samples in sorted(groups.items()):
        candidates = sorted(p for p in folder.glob(f"*_{date}.json")
                            if (m := RESULTS_FILE.match(p.name)) and m["date"] == date)
        if not candidates:
            first = next(iter(samples.values()))
            raise DataError(f"{first}: no results file with its timestamp {date} in {folder} "
                            "(the harness writes results_<date>.json beside the samples)")
        results = next((p for p in candidates if p.name.startswith("results_")), candidates[0])
        runs.append(_read_run(results, date, samples))
    return runs


def _read_run(path: Path, date: str, samples: dict[str, Path]) -> HarnessRun:
    res = read_json(path, "lm-eval results file")
    if not isinstance(res, dict):
        raise DataError(f"{path}: expected a JSON object (an lm-eval results file)")
    config = _mapping(res, "config", path)
    name = res.get("model_name") or _model_from_args(str(config.get("model_args") or ""))
    if not name:
        raise DataError(f"{path}: names no model (no model_name, no pretrained= in model_args)")
    n = config.get("model_num_parameters")
    params = float(n) if isinstance(n, int | float) and not isinstance(n, bool) and n > 0 else None
    configs, better = _mapping(res, "configs", path), _mapping(res, "higher_is_better", path)
    for key, section in (("configs", configs), ("higher_is_better", better)):
        for task, value in section.items():
            if not isinstance(value, dict):
                raise DataError(f"{path}: {key}[{task!r}] should be a JSON object, got "
                                f"{type(value).__name__}")
    return HarnessRun(path, date, str(name), params, configs, better, samples)


def _mapping(res: dict, key: str, path: Path) -> dict:
    """The JSON object under `key` of a results file ({} if absent); DataError otherwise."""
    value = res.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{path}: {key!r} should be a JSON object, got {type(value).__name__}")
    return value


def _model_from_args(args: str) -> str:
    for prefix in ("peft=", "delta=", "pretrained=", "model=", "path=", "engine="):
        if prefix in args:
            return args.split(prefix, 1)[1].split(",", 1)[0]
    return ""


def newest_runs(runs: list[HarnessRun]) -> list[tuple[HarnessRun, str]]:
    """(run, task) pairs to read: for each model and task the newest run only."""
    best: dict[tuple[str, str], HarnessRun] = {}
    for run in runs:
        for task in run.samples:
            key = (run.model, task)
            if key not in best or run.date > best[key].date:
                best[key] = run
    for (_, task), run in best.items():
        run.used.append(task)
    return sorted(((run, task) for (_, task), run in best.items()),
                  key=lambda rt: (rt[0].model, rt[1]))


def read_harness_logs(root: str | Path, sizes: Mapping[str, float] | None = None) -> HarnessLogs:
    """Read an lm-eval `--output_path ... --log_samples` tree (any layout, any depth)."""
    runs = find_runs(root)
    records: list[SampleResult] = []
    for run, task in newest_runs(runs):
        params = float(sizes[run.model]) if sizes and run.model in sizes else run.params
        if params is None:
            raise DataError(f"{run.results}: model {run.model!r} has no size (no "
                            "config.model_num_parameters); pass --size "
                            f"'{run.model}=PARAMS' or --sizes FILE")
        records += read_task_samples(run, task, params)
    return HarnessLogs(records, runs)


# --------------------------------------------------------------------------- one task's samples
def read_task_samples(run: HarnessRun, task: str, params: float) -> list[SampleResult]:
    """The samples of one task of one run, read according to the task's output type."""
    path = run.samples[task]
    config = run.configs.get(task) or {}
    logged = logged_metrics(config, run.higher_is_better.get(task) or {})
    out = []
    for sample in read_jsonl(path, required=("doc_id", "target", "filtered_resps")):
        where = f"{path}:{sample['_line']}"
        kind = config.get("output_type") or _guess_output_type(sample["filtered_resps"])
        if kind not in OUTPUT_TYPES:
            raise DataError(f"{where}: output_type {kind!r} is not one of {', '.join(OUTPUT_TYPES)}")
        filt = sample.get("filter") or "none"
        rec = SampleResult(model=run.model, params=params,
                           task=task if filt == "none" else f"{task}/{filt}", output_type=kind)
        READERS[kind](rec, sample, config, where)
        for name in sample.get("metrics") or []:
            if name in sample:
                rec.given[name] = _logged_value(sample[name], where, name)
                rec.logged[name] = logged.get(name, ("mean", _higher_is_better(name)))
        out.append(rec)
    return out


def logged_metrics(config: dict, higher_is_better: dict) -> dict[str, tuple[str, bool]]:
    """metric -> (aggregation, higher is better), as the task config declares them."""
    out = {}
    for item in config.get("metric_list") or []:
        if not isinstance(item, dict) or "metric" not in item:
            continue
        name = str(item["metric"])
        agg = item.get("aggregation") or DEFAULT_AGGREGATION.get(name, "mean")
        hib = item.get("higher_is_better", higher_is_better.get(name, _higher_is_better(name)))
        out[name] = (str(agg), bool(hib))
    return out


def _higher_is_better(name: str) -> bool:
    return not any(s in name for s in LOWER_IS_BETTER)


def _guess_output_type(resps) -> str:
    """The output type from the shape of `filtered_resps` (for results files without configs)."""
    if isinstance(resps, list) and resps and all(_is_pair(r) for r in resps):
        return "loglikelihood" if len(resps) == 1 else "multiple_choice"
    if isinstance(resps, list) and len(resps) == 1 and _is_number(resps[0]):
        return "loglikelihood_rolling"
    return "generate_until"


def _is_pair(r) -> bool:
    return isinstance(r, list) and len(r) == 2 and str(r[1]) in ("True", "False")


def _is_number(x) -> bool:
    try:
        return math.isfinite(float(x)) and not isinstance(x, bool)
    except (TypeError, ValueError):
        return False


def _logged_value(v, where: str, name: str) -> float | tuple[float, float]:
    if isinstance(v, list) and len(v) == 2:  # (log-likelihood, words or bytes)
        return number(v[0], where, name), number(v[1], where, name)
    return number(v, where, name)


def _read_generation(rec: SampleResult, sample: dict, config: dict, where: str) -> None:
    resp = sample["filtered_resps"]
    while isinstance(resp, list):
        if not resp:
            raise DataError(f"{where}: field 'filtered_resps' is empty")
        resp = resp[0]
    rec.prediction = str(resp)
    if rec.prediction in regex_fallbacks(config, sample.get("filter") or "none"):
        rec.prediction = ""  # the filter found no answer: count it as an empty one
    rec.targets = parse_targets(sample["target"], where)
    rec.normalize = exact_match_settings(config)


def regex_fallbacks(config: dict, filter_name: str) -> set[str]:
    """What the filter's regex steps answer when they find nothing ("[invalid]" by default)."""
    for f in config.get("filter_list") or []:
        if isinstance(f, dict) and f.get("name") == filter_name:
            return {str(step.get("fallback", "[invalid]")) for step in f.get("filter") or []
                    if isinstance(step, dict) and step.get("function") == "regex"}
    return set()


def parse_targets(target, where: str) -> list[str]:
    """The acceptable answers: a list target is written as its Python repr ("['Paris', ...]");
    read it back as a literal (never evaluated as code)."""
    if isinstance(target, list):
        return [str(t) for t in target]
    text = str(target)
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return [text]
        if isinstance(value, list) and value:
            return [str(t) for t in value]
        raise DataError(f"{where}: field 'target' is an empty list")
    return [text]


def exact_match_settings(config: dict) -> dict | None:
    """The task's exact_match keyword arguments (None if the task does not score exact match)."""
    for item in config.get("metric_list") or []:
        if isinstance(item, dict) and item.get("metric") == "exact_match":
            return {k: item[k] for k in ("regexes_to_ignore", "ignore_case", "ignore_punctuation",
                                         "ignore_numbers") if k in item}
    return None


def _pairs(sample: dict, where: str) -> tuple[list[float], list[bool]]:
    resps = sample["filtered_resps"]
    if not isinstance(resps, list) or not resps or not all(_is_pair(r) for r in resps):
        raise DataError(f"{where}: field 'filtered_resps' should hold [log-likelihood, "
                        f"is_greedy] pairs, got {str(resps)[:80]!r}")
    return ([number(r[0], where, "filtered_resps") for r in resps],
            [str(r[1]) == "True" for r in resps])


def _read_multiple_choice(rec: SampleResult, sample: dict, config: dict, where: str) -> None:
    lls, _ = _pairs(sample, where)
    rec.option_logprobs = lls
    rec.correct = _gold(sample, len(lls), where)


def _gold(sample: dict, n_options: int, where: str) -> list[int]:
    """Gold option indices from the target: an index, a list of indices, or an option's text."""
    target = sample["target"]
    if isinstance(target, str):
        t = target.strip()
        if re.fullmatch(r"\[[\d,\s]+\]", t):
            target = ast.literal_eval(t)
        elif re.fullmatch(r"-?\d+", t):
            target = int(t)
    gold = target if isinstance(target, list) else [target]
    if all(isinstance(g, int) and not isinstance(g, bool) for g in gold):
        if all(0 <= g < n_options for g in gold):
            return list(gold)
        raise DataError(f"{where}: target {sample['target']!r} is outside the {n_options} options")
    options = [str(a.get("arg_1", "")).strip() for a in (sample.get("arguments") or {}).values()
               if isinstance(a, dict)]
    idx = [options.index(str(g).strip()) for g in gold if str(g).strip() in options]
    if not idx:
        raise DataError(f"{where}: target {sample['target']!r} is neither an option index nor "
                        "an option")
    return idx


def _read_loglikelihood(rec: SampleResult, sample: dict, config: dict, where: str) -> None:
    lls, greedy = _pairs(sample, where)
    if len(lls) != 1:
        raise DataError(f"{where}: a loglikelihood task scores one continuation, got {len(lls)}")
    rec.loglikelihood, rec.is_greedy = lls[0], greedy[0]
    rec.targets = [str(sample["target"])]


def _read_rolling(rec: SampleResult, sample: dict, config: dict, where: str) -> None:
    resp = sample["filtered_resps"]
    while isinstance(resp, list) and len(resp) == 1:
        resp = resp[0]
    rec.loglikelihood = number(resp, where, "filtered_resps")


READERS = {"generate_until": _read_generation, "multiple_choice": _read_multiple_choice,
           "loglikelihood": _read_loglikelihood, "loglikelihood_rolling": _read_rolling}
