"""How src/neurips23/locality/released/ was cut from the authors' repository (see its README):

    python benchmarks/locality_released_select.py /path/to/why-think-step-by-step

keeps, for the base model's five training conditions and ten Bayes nets, the held-out items
(the rows of their scaffolded-estimator file) with each estimator's estimate as they stored it
(direct from `fixed-gen-probabilities`, scaffolded, negative scaffolded and free from the
`*-10samples.csv` files), the true conditional, the marginal and the distance (from
`true-probs/`), as one gzip-compressed JSON list."""

from __future__ import annotations

import csv
import gzip
import json
import math
import sys
from pathlib import Path

OUT = Path(__file__).parents[1] / "src" / "neurips23" / "locality" / "released"
CONDITIONS = ("fully-observed-held-out", "local-joint-exp", "local-joint-zipf",
              "wrong-local-joint-exp", "wrong-local-joint-zipf")
NETS = (2, 6, 9, 28, 33, 51, 61, 64, 68, 81)


def _key(row: dict) -> tuple[str, str, int]:
    val = row["condition_val"]
    return row["target_var"], row["condition_var"], int(val in ("1", "True", "1.0"))


def _read(path: Path) -> dict[tuple, dict]:
    with path.open(newline="") as fh:
        return {_key(r): r for r in csv.DictReader(fh)}


def _float(x: str | None) -> float | None:
    if x is None or x == "":
        return None
    v = float(x)
    return None if math.isnan(v) else round(v, 6)


def main(root: Path) -> None:
    ev = root / "data" / "evaluation"
    base = ev / "base-model-base-lm"
    items = []
    for cond in CONDITIONS:
        for net in NETS:
            truth = _read(ev / "true-probs" / f"true-probabilities-net-{net}.csv")
            direct = _read(base / f"fixed-gen-probabilities-{cond}-net-{net}.csv")
            scaf = _read(base / f"scaffolded-gen-probabilities-{cond}-net-{net}-10samples.csv")
            neg = _read(base / f"negative-scaffolded-gen-probabilities-{cond}-net-{net}-10samples.csv")
            free = _read(base / f"free-gen-probabilities-{cond}-net-{net}-10samples.csv")
            for key in scaf:
                f = free.get(key, {})
                items.append({
                    "condition": cond, "net": net, "target": key[0], "given": key[1],
                    "value": key[2], "truth": _float(truth[key]["prob"]),
                    "marginal": _float(truth[key]["marginal"]),
                    "distance": int(truth[key]["cond_target_dist"]),
                    "direct": _float(direct[key]["prob"]), "scaffolded": _float(scaf[key]["prob"]),
                    "negative": _float(neg[key]["prob"]) if key in neg else None,
                    "free": _float(f.get("prob")), "free_valid": _float(f.get("prop_valid")),
                    "free_intermediate": _float(f.get("n_intermediate")),
                    "free_d_separating": _float(f.get("prop_d_separating"))})
    OUT.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT / "estimates.json.gz", "wb", mtime=0) as fh:
        fh.write(json.dumps(items).encode())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
