"""One model's result on one sample of one task: the record that both readers fill, our JSONL
(`emergence.results`) and lm-evaluation-harness logs (`emergence.harness`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from neurips23.errors import DataError


@dataclass
class SampleResult:
    """One model's result on one sample of one task."""

    model: str
    params: float
    task: str
    prediction: str | None = None  # the (filtered) generated answer
    targets: list[str] | None = None  # acceptable answers (a loglikelihood task's continuation)
    normalize: dict | None = None  # the harness's exact_match settings, applied to both sides
    option_logprobs: list[float] | None = None  # multiple choice: one log-likelihood per option
    correct: list[int] | None = None  # multiple choice: the gold option(s)
    token_logprobs: list[float] | None = None  # teacher-forced log-probs of the target
    loglikelihood: float | None = None  # of the continuation, or of the whole document (rolling)
    is_greedy: bool | None = None  # greedy decoding reproduces the continuation
    output_type: str = ""  # the harness's output type ("" for our JSONL)
    # metrics the evaluator logged per sample: a number, or (log-likelihood, words or bytes)
    given: dict[str, float | tuple[float, float]] = field(default_factory=dict)
    # logged metric -> (the harness's aggregation, higher is better for the aggregate)
    logged: dict[str, tuple[str, bool]] = field(default_factory=dict)


def number(value, where: str, name: str) -> float:
    """Field `name` of the record at `where` as a finite float (a bool as 0/1); DataError else."""
    if isinstance(value, bool):
        return float(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: field {name!r} should be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise DataError(f"{where}: field {name!r} is not finite ({value!r})")
    return out
