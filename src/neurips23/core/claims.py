"""Claims and verdicts: the paper's statement, our statistic and its interval, and a rule fixed
in the config before the run that turns them into reproduced / not reproduced / inconclusive.

A rule names a direction and a threshold on the statistic. The verdict reads the *interval*,
not the point estimate: "reproduced" needs the whole interval on the paper's side of the
threshold, "not reproduced" the whole interval on the other side; anything else, too few
independent units, or a failed precondition (e.g. "the baseline learned the task") is
"inconclusive". Identities that hold by arithmetic are "computed", never "reproduced".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

Verdict = Literal["reproduced", "not reproduced", "mixed", "inconclusive", "computed"]
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "mixed", "inconclusive", "computed")


@dataclass
class Rule:
    """A claim's decision rule, declared in the method's config before the run.

    above:  the paper says the statistic exceeds `threshold` (e.g. a difference > 0).
    below:  the paper says the statistic is under `threshold`.
    within: the paper says the statistic equals `threshold` up to ±`margin` (equivalence):
            reproduced when the interval lies inside, not reproduced when it lies outside.
    """

    direction: Literal["above", "below", "within"] = "above"
    threshold: float = 0.0
    margin: float = 0.0
    min_n: int = 2
    confidence: float = 0.95
    reason: str = ""


def rule(direction: Literal["above", "below", "within"], threshold: float, *, margin: float = 0.0,
         min_n: int = 2, confidence: float = 0.95, reason: str = "") -> Rule:
    """A config field holding a claim's Rule (the one way methods declare one): a fresh Rule per
    config, with the reason as the field's help."""
    return field(default_factory=lambda: Rule(direction, threshold, margin, min_n, confidence, reason),
                 metadata={"help": reason})  # type: ignore[return-value]


def decide(rule: Rule, low: float, high: float, n: int | None = None) -> Verdict:
    """The verdict of `rule` on an interval [low, high] computed from n independent units."""
    if n is not None and n < rule.min_n:
        return "inconclusive"
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (low, high)):
        return "inconclusive"
    t = rule.threshold
    if rule.direction == "above":
        return "reproduced" if low > t else "not reproduced" if high < t else "inconclusive"
    if rule.direction == "below":
        return "reproduced" if high < t else "not reproduced" if low > t else "inconclusive"
    if rule.direction == "within":
        lo_b, hi_b = t - rule.margin, t + rule.margin
        if lo_b <= low and high <= hi_b:
            return "reproduced"
        return "not reproduced" if high < lo_b or low > hi_b else "inconclusive"
    raise ValueError(f"unknown rule direction {rule.direction!r}")


def combine(verdicts: Iterable[str]) -> Verdict:
    """One verdict for a claim that must hold in every part (every task, every KL, ...).

    Parts that disagree (some reproduced, some not) give "mixed"; any part not reproduced
    and none reproduced gives "not reproduced"; an undecided part leaves the whole
    "inconclusive" unless another part already refutes it.
    """
    vs = [v for v in verdicts if v != "computed"]
    if not vs:
        return "inconclusive"
    if "mixed" in vs or ("reproduced" in vs and "not reproduced" in vs):
        return "mixed"
    if "not reproduced" in vs:
        return "not reproduced"
    if "inconclusive" in vs:
        return "inconclusive"
    return "reproduced"


@dataclass
class Claim:
    """The paper's statement beside our measured figure, and the verdict with what it rests on."""

    paper: str
    ours: str
    verdict: str
    statistic: str = ""
    estimate: float | None = None
    interval: list[float] | None = None
    n: int | None = None
    rule: dict | None = None
    preconditions: list[dict] = field(default_factory=list)
    why: str = ""
    """For "inconclusive": what left it undecided (e.g. "n 2 < min_n 3"), shown beside the verdict."""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} not in {VERDICTS}")

    def as_dict(self) -> dict:
        """A JSON-safe dict (nan/inf floats as strings)."""
        return _json_safe(asdict(self))


def measured_claim(paper: str, statistic: str, estimate: float, interval: Sequence[float],
                   rule: Rule, n: int | None = None, ours: str = "",
                   preconditions: Sequence[tuple[str, bool]] = ()) -> Claim:
    """A claim decided by `rule` on `interval`; a failed precondition makes it inconclusive.

    `preconditions` are (description, holds) pairs that must hold for the comparison to mean
    anything, e.g. ("16-bit LoRA baseline reaches 20% accuracy", acc >= 0.2).
    """
    low, high = float(interval[0]), float(interval[1])
    verdict = decide(rule, low, high, n)
    failed = [d for d, ok in preconditions if not ok]
    if failed:
        verdict = "inconclusive"
    text = ours or f"{statistic} = {_fmt(estimate)} [{_fmt(low)}, {_fmt(high)}]"
    if n is not None and not ours:
        text += f", n = {n}"
    if failed:
        text += "; precondition not met: " + "; ".join(failed)
    elif n is not None and n < rule.min_n:
        text += f"; fewer than {rule.min_n} units"
    return Claim(paper=paper, ours=text, verdict=verdict, statistic=statistic,
                 estimate=float(estimate), interval=[low, high], n=n,
                 rule=asdict(rule), preconditions=[{"what": d, "holds": bool(ok)}
                                                   for d, ok in preconditions],
                 why=inconclusive_reason(rule, low, high, n, failed) if verdict ==
                 "inconclusive" else "")


def inconclusive_reason(rule: Rule, low: float, high: float, n: int | None,
                        failed: Sequence[str] = ()) -> str:
    """Why a rule left a claim undecided, in a few words for the verdict cell."""
    if failed:
        return "precondition not met: " + "; ".join(failed)
    if n is not None and n < rule.min_n:
        return f"n {n} < min_n {rule.min_n}"
    if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in (low, high)):
        return "no interval"
    if rule.direction == "within":
        return (f"interval [{_fmt(low)}, {_fmt(high)}] crosses the edge of "
                f"{_fmt(rule.threshold)} ± {_fmt(rule.margin)}")
    return f"interval [{_fmt(low)}, {_fmt(high)}] contains {_fmt(rule.threshold)}"


def rule_text(rule: dict | None) -> str:
    """A rule in one line: "above 0.1 (min_n 3)", "within 1 ± 0.03 (min_n 3)"."""
    if not rule:
        return ""
    t = f"{rule.get('direction')} {_fmt(rule.get('threshold'))}"
    if rule.get("direction") == "within":
        t += f" ± {_fmt(rule.get('margin'))}"
    return t + f" (min_n {rule.get('min_n')})"


def computed_claim(paper: str, ours: str, holds: bool) -> Claim:
    """An identity that follows from arithmetic (e.g. bits per parameter): labelled computed.

    A computed check that fails is a bug, reported as "not reproduced" so it cannot hide.
    """
    return Claim(paper=paper, ours=ours + " (computed, not a finding)",
                 verdict="computed" if holds else "not reproduced", statistic="identity")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return str(x)
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj
