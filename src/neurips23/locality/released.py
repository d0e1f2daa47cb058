"""The authors' released estimates (Prystawski, Li & Goodman 2023, §4 and Fig. 2; their base
GPT-2 model, 10 Bayes nets of 100 variables, 25 held-out pairs each) scored with our code: the
same item rows our own runs produce, read by the same MSE, paired-difference and claim code
(`locality.evaluation`, `locality.reproduce.make_claims`)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from neurips23.errors import DataError

RELEASED_DIR = Path(__file__).parent / "released"
CONDITIONS = {  # their training-condition names -> ours (`locality.formats.FORMATS`)
    "fully-observed-held-out": "fully_observed", "local-joint-exp": "local_geom",
    "local-joint-zipf": "local_zipf", "wrong-local-joint-exp": "wrong_local_geom",
    "wrong-local-joint-zipf": "wrong_local_zipf"}
FIELDS = ("condition", "net", "target", "given", "value", "truth", "marginal", "distance",
          "direct", "scaffolded", "negative", "free", "free_valid")


def read_estimates(folder: str | Path = "") -> list[dict[str, Any]]:
    """Their per-item estimates (one record per held-out item, net and training condition)."""
    path = (Path(folder) if folder else RELEASED_DIR) / "estimates.json.gz"
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: released file not found") from None
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: not a gzip-compressed JSON file ({e})") from None
    for i, r in enumerate(records):
        missing = [k for k in FIELDS if k not in r]
        if missing:
            raise DataError(f"{path}: record {i}: missing field {missing[0]!r}")
        if r["condition"] not in CONDITIONS:
            raise DataError(f"{path}: record {i}: unknown condition {r['condition']!r}")
    return records


def item_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our item rows: condition, world (their net), pair (unordered), truth, marginal and each
    estimate (free generation only where some sample named the target, as in our runs)."""
    nan = float("nan")
    rows = []
    for r in records:
        valid = r["free_valid"] or 0.0
        rows.append({
            "condition": CONDITIONS[r["condition"]], "seed": r["net"],
            "pair": "-".join(sorted((r["target"], r["given"]))), "distance": r["distance"],
            "truth": r["truth"], "marginal": r["marginal"], "direct": r["direct"],
            "scaffolded": r["scaffolded"],
            "negative": nan if r["negative"] is None else r["negative"],
            "free": r["free"] if valid > 0 and r["free"] is not None else nan,
            "free_valid": valid, "free_steps": nan,
            "free_intermediate": nan if r.get("free_intermediate") is None
            else r["free_intermediate"],
            "free_d_separating": nan if r.get("free_d_separating") is None
            else r["free_d_separating"]})
    return rows

