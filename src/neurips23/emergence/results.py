"""Per-sample evaluation results across model sizes, from our JSONL or lm-evaluation-harness.

Two formats are read into one list of `SampleResult`:

* **our JSONL** (what `neurips23 reproduce emergence` writes to samples.jsonl, and a simple
  format for any evaluation): one object per (model, task, sample) with `model`, `params`,
  `task`, and `prediction` + `target` (generation) and/or `option_logprobs` + `correct`
  (multiple choice), optional `token_logprobs` (teacher-forced log-probs of the target) and
  any precomputed numeric metric fields.
* **lm-evaluation-harness `--log_samples`**: a directory tree with, per model,
  `results_<date>.json` and `samples_<task>_<date>.jsonl`. A sample line carries `doc_id`,
  `doc`, `target`, `arguments`, `resps`, `filtered_resps` (the generated string, or one
  `[loglikelihood, is_greedy]` pair per option, stringified), `filter`, `metrics` and the
  per-sample metric values (`exact_match`, `acc`, ...). The model's size comes from
  `config.model_num_parameters` in the results file or from a user-supplied mapping.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from neurips23.errors import DataError
from neurips23.lm.data import read_jsonl

SAMPLES_FILE = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.jsonl$")
RESULTS_FILE = re.compile(r"^results_(?P<date>\d{4}-\d{2}-\d{2}T[0-9.\-]+)\.json$")
# Fields of an lm-eval sample that are bookkeeping, not per-sample metric values.
LM_EVAL_FIELDS = {
    "doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
    "doc_hash", "prompt_hash", "target_hash", "length_info",
}


@dataclass
class SampleResult:
    """One model's result on one sample of one task."""

    model: str
    params: float
    task: str
    prediction: str | None = None
    target: str | None = None
    option_logprobs: list[float] | None = None
    correct: int | None = None
    token_logprobs: list[float] | None = None
    given: dict[str, float] = field(default_factory=dict)  # metrics the evaluator logged


def _number(value, where: str, name: str) -> float:
    if isinstance(value, bool):
        return float(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: field {name!r} should be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise DataError(f"{where}: field {name!r} is not finite ({value!r})")
    return out


# --------------------------------------------------------------------------- our JSONL
def read_our_jsonl(path: str | Path, sizes: Mapping[str, float] | None = None) -> list[SampleResult]:
    """Read our per-sample JSONL (see module docstring)."""
    path = Path(path)
    rows = read_jsonl(path, required=("model", "task"))
    out = []
    known = {"_line", "model", "params", "task", "prediction", "target", "option_logprobs", "correct",
             "token_logprobs", "seed", "sample_id"}
    for row in rows:
        where = f"{path}:{row['_line']}"
        model = str(row["model"])
        if "params" in row:
            params = _number(row["params"], where, "params")
        elif sizes and model in sizes:
            params = float(sizes[model])
        else:
            raise DataError(f"{where}: no 'params' for model {model!r}; add the field or pass "
                            "--size MODEL=PARAMS")
        if params <= 0:
            raise DataError(f"{where}: field 'params' must be positive, got {row.get('params')!r}")
        has_gen = "prediction" in row or "target" in row
        has_mc = "option_logprobs" in row or "correct" in row
        if has_gen and not ("prediction" in row and "target" in row):
            missing = "target" if "prediction" in row else "prediction"
            raise DataError(f"{where}: missing field {missing!r}")
        if has_mc and not ("option_logprobs" in row and "correct" in row):
            missing = "correct" if "option_logprobs" in row else "option_logprobs"
            raise DataError(f"{where}: missing field {missing!r}")
        rec = SampleResult(model=model, params=params, task=str(row["task"]))
        if has_gen:
            rec.prediction, rec.target = str(row["prediction"]), str(row["target"])
        if has_mc:
            lps = row["option_logprobs"]
            if not isinstance(lps, list) or not lps:
                raise DataError(f"{where}: field 'option_logprobs' should be a non-empty list")
            rec.option_logprobs = [_number(v, where, "option_logprobs") for v in lps]
            correct = row["correct"]
            if not isinstance(correct, int) or not 0 <= correct < len(lps):
                raise DataError(f"{where}: field 'correct' should be an option index in "
                                f"[0, {len(lps)}), got {correct!r}")
            rec.correct = correct
        if "token_logprobs" in row:
            tl = row["token_logprobs"]
            if not isinstance(tl, list) or not tl:
                raise DataError(f"{where}: field 'token_logprobs' should be a non-empty list")
            rec.token_logprobs = [_number(v, where, "token_logprobs") for v in tl]
        for key, value in row.items():
            if key not in known and isinstance(value, int | float) and not isinstance(value, bool):
                rec.given[key] = _number(value, where, key)
        out.append(rec)
    return out


# --------------------------------------------------------------------------- lm-eval
def _lm_eval_model(results_path: Path) -> tuple[str, float | None]:
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{results_path}:{e.lineno}: not valid JSON ({e.msg})") from None
    config = results.get("config") or {}
    name = results.get("model_name") or ""
    if not name:
        args = str(config.get("model_args") or "")
        for prefix in ("peft=", "delta=", "pretrained=", "model=", "path=", "engine="):
            if prefix in args:
                name = args.split(prefix, 1)[1].split(",", 1)[0]
                break
    name = name or results_path.parent.name
    n = config.get("model_num_parameters")
    params = float(n) if isinstance(n, int | float) and not isinstance(n, bool) and n > 0 else None
    return name, params


def _lm_eval_options(sample: dict, where: str) -> tuple[list[float], list[str]] | None:
    """Option log-likelihoods and continuations of a loglikelihood (multiple-choice) sample."""
    resps = sample.get("filtered_resps")
    if not isinstance(resps, list) or not resps:
        return None
    # each option's pair is [loglikelihood, is_greedy]; lm-eval stringifies both
    if not all(isinstance(r, list) and len(r) == 2 and str(r[1]) in ("True", "False")
               for r in resps):
        return None
    lls = [_number(r[0], where, "filtered_resps") for r in resps]
    args = sample.get("arguments")
    conts: list[str] = []
    if isinstance(args, dict):  # saved form: {"gen_args_0": {"arg_0": ctx, "arg_1": cont}}
        for i in range(len(args)):
            conts.append(str((args.get(f"gen_args_{i}") or {}).get("arg_1", "")))
    elif isinstance(args, list):  # in-memory form: [[ctx, cont], ...]
        conts = [str(a[1]) if isinstance(a, list) and len(a) > 1 else "" for a in args]
    return lls, conts


def _lm_eval_gold(target: str, conts: list[str], where: str) -> int:
    t = target.strip()
    if re.fullmatch(r"\d+", t) and int(t) < len(conts):
        return int(t)
    stripped = [c.strip() for c in conts]
    if t in stripped:
        return stripped.index(t)
    raise DataError(f"{where}: target {target!r} is neither an option index nor an option")


def read_lm_eval_samples(
    path: str | Path, sizes: Mapping[str, float] | None = None
) -> list[SampleResult]:
    """Read an lm-evaluation-harness `--output_path ... --log_samples` directory (any depth)."""
    root = Path(path)
    files = sorted(p for p in root.rglob("samples_*.jsonl") if SAMPLES_FILE.match(p.name))
    if not files:
        raise DataError(f"{root}: no lm-eval samples_<task>_<date>.jsonl files found")
    out: list[SampleResult] = []
    for f in files:
        task = SAMPLES_FILE.match(f.name)["task"]
        results = sorted(p for p in f.parent.glob("results_*.json") if RESULTS_FILE.match(p.name))
        name, params = _lm_eval_model(results[-1]) if results else (f.parent.name, None)
        if sizes:
            params = float(sizes[name]) if name in sizes else params
        if params is None:
            raise DataError(f"{f}: model {name!r} has no size (results json lacks "
                            "config.model_num_parameters); pass --size "
                            f"'{name}=PARAMS' or --sizes FILE")
        for sample in read_jsonl(f, required=("doc_id", "target", "filtered_resps")):
            where = f"{f}:{sample.pop('_line')}"
            filt = sample.get("filter") or "none"
            key = task if filt == "none" else f"{task}/{filt}"
            rec = SampleResult(model=name, params=params, task=key)
            options = _lm_eval_options(sample, where)
            if options is not None:
                lls, conts = options
                rec.option_logprobs = lls
                rec.correct = _lm_eval_gold(str(sample["target"]), conts, where)
            else:
                resp = sample["filtered_resps"]
                while isinstance(resp, list):
                    if not resp:
                        raise DataError(f"{where}: field 'filtered_resps' is empty")
                    resp = resp[0]
                rec.prediction, rec.target = str(resp), str(sample["target"])
            names = sample.get("metrics") or [
                k for k in sample if k not in LM_EVAL_FIELDS
            ]
            for m in names:
                v = sample.get(m)
                if isinstance(v, int | float):  # bool included (True -> 1.0)
                    rec.given[m] = _number(v, where, m)
            out.append(rec)
    return out


def read_size_file(path: str | Path) -> dict[str, float]:
    """A model → parameter-count mapping from JSON or YAML (`{"pythia-70m": 7.0e7, ...}`)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DataError(f"{path}: not valid YAML/JSON ({e})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of model name to parameter count")
    return {str(k): _number(v, f"{path}", str(k)) for k, v in data.items()}


def parse_size_overrides(items: list[str]) -> dict[str, float]:
    """`MODEL=PARAMS` strings (PARAMS like 7e7, 70M, 1.3B) to a mapping."""
    out = {}
    scale = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep or not name:
            raise DataError(f"--size {item!r}: expected MODEL=PARAMS, e.g. pythia-70m=70M")
        v = value.strip().lower()
        mult = scale.get(v[-1:], 1.0)
        try:
            out[name] = float(v[:-1] if v[-1:] in scale else v) * mult
        except ValueError:
            raise DataError(f"--size {item!r}: {value!r} is not a number like 7e7 or 70M") from None
    return out


def load_results(
    path: str | Path, sizes: Mapping[str, float] | None = None
) -> list[SampleResult]:
    """Read per-sample results from our JSONL file or an lm-eval `--log_samples` directory."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        if any(path.rglob("samples_*.jsonl")):
            return read_lm_eval_samples(path, sizes)
        ours = sorted(path.rglob("samples.jsonl"))
        if ours:
            return [r for p in ours for r in read_our_jsonl(p, sizes)]
        raise DataError(f"{path}: no samples.jsonl or lm-eval samples_<task>_<date>.jsonl inside")
    return read_our_jsonl(path, sizes)
