"""Per-sample evaluation results across model sizes, from our JSONL or lm-evaluation-harness.

Two formats are read into one list of `SampleResult`:

* **our JSONL** (what `neurips23 reproduce emergence` writes to samples.jsonl, and a simple
  format for any evaluation): one object per (model, task, sample) with `model`, `params`,
  `task`, and `prediction` + `target` (generation) and/or `option_logprobs` + `correct`
  (multiple choice), optional `token_logprobs` (teacher-forced log-probs of the target) and
  any precomputed numeric metric fields.
* **lm-evaluation-harness `--log_samples`** output (`neurips23.emergence.harness`): every
  output type read as the harness scores it, each samples file paired with the results file
  of its own timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neurips23.emergence.samples import SampleResult, number
from neurips23.errors import DataError
from neurips23.lm.data import read_jsonl


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
            params = number(row["params"], where, "params")
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
            rec.prediction, rec.targets = str(row["prediction"]), [str(row["target"])]
        if has_mc:
            lps = row["option_logprobs"]
            if not isinstance(lps, list) or not lps:
                raise DataError(f"{where}: field 'option_logprobs' should be a non-empty list")
            rec.option_logprobs = [number(v, where, "option_logprobs") for v in lps]
            correct = row["correct"]
            if not isinstance(correct, int) or not 0 <= correct < len(lps):
                raise DataError(f"{where}: field 'correct' should be an option index in "
                                f"[0, {len(lps)}), got {correct!r}")
            rec.correct = [correct]
        if "token_logprobs" in row:
            tl = row["token_logprobs"]
            if not isinstance(tl, list) or not tl:
                raise DataError(f"{where}: field 'token_logprobs' should be a non-empty list")
            rec.token_logprobs = [number(v, where, "token_logprobs") for v in tl]
        for key, value in row.items():
            if key not in known and isinstance(value, int | float) and not isinstance(value, bool):
                rec.given[key] = number(value, where, key)
        out.append(rec)
    return out


def read_size_file(path: str | Path) -> dict[str, float]:
    """A model → parameter-count mapping from JSON or YAML (`{"pythia-70m": 7.0e7, ...}`)."""
    from neurips23.config import read_yaml

    path = Path(path)
    data = read_yaml(path, "sizes file", DataError)  # JSON is YAML too
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of model name to parameter count")
    return {str(k): number(v, f"{path}", str(k)) for k, v in data.items()}


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
            from neurips23.emergence.harness import read_harness_logs

            return read_harness_logs(path, sizes).records
        ours = sorted(path.rglob("samples.jsonl"))
        if ours:
            return [r for p in ours for r in read_our_jsonl(p, sizes)]
        raise DataError(f"{path}: no samples.jsonl or lm-eval samples_<task>_<date>.jsonl inside")
    return read_our_jsonl(path, sizes)
