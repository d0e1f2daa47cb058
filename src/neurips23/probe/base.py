"""What every probe shares: its result record, the verdict in the card's words, the result cache.

A probe's verdict is a `core.claims` verdict phrased for one model: "reproduced" reads "this model
shows it", "not reproduced" reads "this model does not show it". A probe that cannot run on the
model returns `not_applicable(reason)`: the card shows "does not apply" with that reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from neurips23.core.claims import Claim, combine
from neurips23.utils import atomic_write_json

CARD_WORDS = {"reproduced": "this model shows it", "not reproduced": "this model does not show it",
              "inconclusive": "inconclusive", "mixed": "mixed", "computed": "computed",
              "does not apply": "does not apply"}


def card_verdict(verdict: str) -> str:
    """A claim verdict in the card's words ("reproduced" -> "this model shows it")."""
    return CARD_WORDS.get(verdict, verdict)


@dataclass
class ProbeResult:
    """One probe on one model: the paper's finding, our claims, metrics and per-item rows."""

    probe: str
    finding: str
    verdict: str = "inconclusive"
    claims: list[dict] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    reason: str = ""

    @property
    def applies(self) -> bool:
        """False when the probe could not run on this model (the reason says why)."""
        return self.verdict != "does not apply"

    def as_dict(self) -> dict:
        """JSON-safe form, with the verdict also in the card's words."""
        d = asdict(self)
        d["says"] = card_verdict(self.verdict)
        return json.loads(json.dumps(d, default=_json_default))


def measured(probe: str, finding: str, claims: list[Claim], metrics: dict | None = None,
             rows: list[dict] | None = None) -> ProbeResult:
    """A probe's result from its claims: every part must hold (`core.claims.combine`)."""
    return ProbeResult(probe, finding, combine(c.verdict for c in claims),
                       [c.as_dict() for c in claims], metrics or {}, rows or [])


def not_applicable(probe: str, finding: str, reason: str) -> ProbeResult:
    """The probe cannot run on this model (e.g. it needs weights); `reason` says why."""
    return ProbeResult(probe, finding, "does not apply", reason=reason)


def needs_completions(subject) -> str | None:
    """The reason a completions-based probe does not apply to a chat-only endpoint, else None."""
    if getattr(subject, "completions", True):
        return None
    return ("does not apply: needs text completions (/v1/completions); this endpoint "
            "answers chat only")


def result_from_dict(d: dict) -> ProbeResult:
    """A cached result read back."""
    keys = ("probe", "finding", "verdict", "claims", "metrics", "rows", "reason")
    return ProbeResult(**{k: d[k] for k in keys if k in d})


def _json_default(o: Any) -> Any:
    if is_dataclass(o):
        return asdict(o)
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


# ------------------------------------------------------------------ cache


def cache_key(fingerprint: str, probe: str, budget: Any, version: str) -> str:
    """The key a result is cached under: model fingerprint, probe, its budget values (sample
    counts and rules) and the code version; any change recomputes the probe."""
    budget_d = asdict(budget) if is_dataclass(budget) else budget
    text = json.dumps({"model": fingerprint, "probe": probe, "budget": budget_d,
                       "version": version}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_result(out_dir: Path, probe: str, key: str,
                  compute: Callable[[], ProbeResult]) -> tuple[ProbeResult, bool]:
    """The probe's result from `out_dir/probes/<probe>-<key>.json`, else `compute()` written
    there atomically; returns (result, whether it came from the cache). A result file that
    cannot be read is recomputed."""
    path = Path(out_dir) / "probes" / f"{probe}-{key}.json"
    if path.exists():
        try:
            return result_from_dict(json.loads(path.read_text(encoding="utf-8"))), True
        except (OSError, ValueError, KeyError, TypeError):
            pass
    result = compute()
    atomic_write_json(path, {**result.as_dict(), "cache_key": key})
    return result, False
