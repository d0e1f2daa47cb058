"""Scoring the estimators on a net's held-out pairs: one row per item (target, condition,
value), the true conditional, the marginal-predictor control and each estimator's estimate;
then MSE per estimator (Prystawski et al. §3.3, Fig. 2)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from neurips23.errors import UserError
from neurips23.locality.bayesnet import BayesNet, exact_conditional
from neurips23.locality.estimators import (
    Reader,
    d_separating_fraction,
    direct,
    free_generation,
    queries_for_pairs,
    scaffolded,
)
from neurips23.locality.scaffold import negative_scaffold, scaffold

ESTIMATORS = ("direct", "scaffolded", "negative", "free")
"""The paper's estimators; "marginal" (P(target = 1), ignoring the condition) is the control."""


def evaluate_estimators(reader: Reader, net: BayesNet, pairs: Sequence[tuple[int, int]],
                        n_samples: int = 10, seed: int = 0,
                        estimators: Sequence[str] = ESTIMATORS, max_steps: int | None = None,
                        on_free_step: Callable[[int, int], None] | None = None
                        ) -> tuple[list[dict], dict]:
    """Item rows (4 per pair) with the truth, the marginal and every estimate, and timings.

    Scaffolded, negative and free estimates average `n_samples` samples; free generation's
    average runs over the samples that named the target (its `free_valid` says how many)
    within `max_steps` variables (default the net's size); `on_free_step` sees its progress
    (`free_generation`'s `on_step`)."""
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise UserError(f"estimator {unknown[0]!r}: choose from {', '.join(ESTIMATORS)}")
    if n_samples < 1:
        raise UserError(f"n_samples = {n_samples}: at least one sample per item")
    if max_steps is not None and max_steps < 1:
        raise UserError(f"max_steps = {max_steps}: free generation needs at least one step")
    queries = queries_for_pairs(pairs)
    dist = net.distances()
    rng = np.random.default_rng([seed, 7])
    scaffolds = [scaffold(net, q.target, q.condition) for q in queries]
    negatives = [negative_scaffold(net, q.target, q.condition, rng) for q in queries]
    rows = [{"pair": i // 4, "target": f"X{q.target}", "condition": f"X{q.condition}",
             "value": q.value, "distance": int(dist[q.target, q.condition]),
             "truth": exact_conditional(net, q.target, {q.condition: q.value}),
             "marginal": exact_conditional(net, q.target, {}),
             "scaffold": [f"X{v}" for v in scaffolds[i]],
             "negative_scaffold": [f"X{v}" for v in negatives[i]]}
            for i, q in enumerate(queries)]
    timing: dict[str, dict] = {}

    def timed(name: str, fn, n_chains: int):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        timing[name] = {"seconds": dt, "samples": n_chains, "samples_per_second": n_chains / max(dt, 1e-9)}
        return out

    if "direct" in estimators:
        est = timed("direct", lambda: direct(reader, queries), len(queries))
        for r, e in zip(rows, est, strict=True):
            r["direct"] = float(e)
    for name, scafs, offset in (("scaffolded", scaffolds, 1), ("negative", negatives, 2)):
        if name in estimators:
            est = timed(name, lambda s=scafs, o=offset: scaffolded(reader, queries, s, n_samples, seed + o),
                        len(queries) * n_samples)
            for r, e in zip(rows, est.mean(axis=1), strict=True):
                r[name] = float(e)
    if "free" in estimators:
        free = timed("free", lambda: free_generation(reader, queries, n_samples, seed + 3, max_steps,
                                                     on_free_step),
                     len(queries) * n_samples)
        dsep = d_separating_fraction(net, queries, free)
        for i, (r, e) in enumerate(zip(rows, free.estimates(), strict=True)):
            r["free"] = float(e)
            r["free_valid"] = float(free.valid_fraction()[i])
            r["free_steps"] = float(free.steps[i].mean())
            inter = [len(x) for x, p in zip(free.intermediate[i], free.probs[i], strict=True)
                     if not np.isnan(p)]
            r["free_intermediate"] = float(np.mean(inter)) if inter else float("nan")
            r["free_d_separating"] = float(dsep[i])
    return rows, timing


def mse(rows: Sequence[dict], estimator: str) -> float:
    """Mean squared error of one estimator (or "marginal") against the truth, over the rows
    where it has an estimate."""
    errs = [(r[estimator] - r["truth"]) ** 2 for r in rows
            if estimator in r and r[estimator] == r[estimator]]
    return float(np.mean(errs)) if errs else float("nan")


def unit_differences(rows: Sequence[dict], a: str, b: str, unit_keys: Sequence[str] = ("pair",)) -> list[float]:
    """Per unit (a held-out pair, in one world), the mean over its items of
    (error of a)^2 - (error of b)^2, over items where both have an estimate: the paired
    differences a cluster bootstrap resamples (the 4 items of a pair are not independent)."""
    units: dict[tuple, list[float]] = {}
    for r in rows:
        ea, eb = r.get(a), r.get(b)
        if ea is None or eb is None or ea != ea or eb != eb:
            continue
        key = tuple(r[k] for k in unit_keys)
        units.setdefault(key, []).append((ea - r["truth"]) ** 2 - (eb - r["truth"]) ** 2)
    return [float(np.mean(v)) for _, v in sorted(units.items())]
