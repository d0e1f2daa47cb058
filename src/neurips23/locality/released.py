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


def run_released(cfg: Any, run: Any) -> Any:
    """`neurips23 reproduce locality --profile released`: the authors' estimates, our scoring
    and the claims' rules of `cfg`; no model."""
    from neurips23.core.reproduction import Outcome
    from neurips23.locality.evaluation import ESTIMATORS, mse
    from neurips23.locality.reproduce import (
        PAPER_MSE,
        distance_table,
        free_table,
        make_claims,
        mse_table,
    )

    rows = item_rows(read_estimates(cfg.released_dir))
    run.log(f"scored {len(rows)} released item estimates "
            f"({len({r['seed'] for r in rows})} nets, {len({r['condition'] for r in rows})} "
            "training conditions)")
    run.log_samples(rows)
    claims = make_claims(cfg, rows)
    for c in claims:
        c.paper += " — on the authors' outputs"
    conditions = list(dict.fromkeys(r["condition"] for r in rows))
    metrics = {"on_authors_outputs": True, "items": len(rows),
               "mse": {c: {e: mse([r for r in rows if r["condition"] == c], e)
                           for e in ("marginal", *ESTIMATORS)} for c in conditions},
               "paper_mse": PAPER_MSE}
    tables = {"MSE against the true conditional, on the authors' estimates": mse_table(rows),
              "MSE by distance between condition and target": distance_table(rows),
              "Free generation (their samples)": [
                  {k: v for k, v in r.items() if k != "steps"} for r in free_table(rows)]}
    notes = ("On the authors' outputs: the base model's per-item estimates released with "
             "benpry/why-think-step-by-step (commit c5dd2c5), scored with our MSE and claim code; "
             "no model was run. Free generation's step counts are not in their files.")
    return Outcome(metrics, claims, notes=notes, tables=tables)
