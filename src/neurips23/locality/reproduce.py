"""`neurips23 reproduce locality`: the reasoning gap of Prystawski, Li & Goodman (2023).

For each seed (a world): a random Bayes net, its held-out pairs, and one tiny transformer
trained from scratch per training condition on packed sample strings; then the four estimators
on the held-out pairs, scored by MSE against the exact conditional, beside the marginal
predictor. The claims compare estimators item by item with a bootstrap over held-out pairs
(a pair's four items move together), each by a rule declared here before the run.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.core.claims import Claim, Rule, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.lm.train import TrainConfig
from neurips23.locality.bayesnet import exact_conditional
from neurips23.locality.config import PROFILES, LocalityConfig
from neurips23.locality.evaluation import ESTIMATORS, evaluate_estimators, mse, unit_differences
from neurips23.locality.training import max_length, packed_examples
from neurips23.locality.world import World, build_world

PAPER_MSE: dict[str, dict[str, float]] = {
    # Base model, 100-variable nets, MSE over 1000 items (recomputed from the authors' released
    # CSVs; the paper's Fig. 2). The marginal predictor scores 0.105 on the same items.
    "fully_observed": {"direct": 0.035, "scaffolded": 0.026, "negative": 0.039, "free": 0.036},
    "local_geom": {"direct": 0.027, "scaffolded": 0.016, "negative": 0.027, "free": 0.014},
    "local_zipf": {"direct": 0.028, "scaffolded": 0.015, "negative": 0.026, "free": 0.013},
    "wrong_local_geom": {"direct": 0.077, "scaffolded": 0.072, "negative": 0.073, "free": 0.068},
    "wrong_local_zipf": {"direct": 0.081, "scaffolded": 0.074, "negative": 0.080, "free": 0.072},
}
PAPER_MARGINAL_MSE = 0.105


# ---- one world, one condition ---------------------------------------------------------------------

def world_of(cfg: LocalityConfig, seed: int) -> World:
    """The world of one seed under this config."""
    return build_world(cfg.n_vars, cfg.n_edges, seed, cfg.n_pairs, cfg.min_distance)


def train_config(cfg: LocalityConfig, seed: int) -> TrainConfig:
    """The training settings of a world's models: long enough for any block, seeded per world."""
    return dataclasses.replace(cfg.train, seed=cfg.train.seed + seed,
                               max_length=max(cfg.train.max_length, max_length(cfg.n_vars, cfg.block_tokens)))


def condition_model(cfg: LocalityConfig, world: World, condition: str, progress: bool = False) -> Path:
    """The cache dir of the model trained on `condition` samples of this world (trained once)."""
    from neurips23.lm.tiny import cached_tiny_lm

    key = {"kind": "locality", "version": 1, "n_vars": cfg.n_vars, "n_edges": cfg.n_edges,
           "seed": world.seed, "pairs": world.pair_tuples, "condition": condition,
           "n_train": cfg.n_train, "block_tokens": cfg.block_tokens,
           "locality": dataclasses.asdict(cfg.locality())}

    def data():
        return packed_examples(world, condition, cfg.n_train, world.seed, cfg.block_tokens, cfg.locality())

    tcfg = train_config(cfg, world.seed)
    return cached_tiny_lm(key, data, cfg.size, tcfg, max_position_embeddings=tcfg.max_length,
                          progress=progress)


def adjacent_rows(reader, world: World, n: int) -> list[dict]:
    """Direct prediction on n random edges (pairs the model saw together): did it learn?"""
    from neurips23.locality.estimators import direct, queries_for_pairs

    edges = world.net.edges
    rng = np.random.default_rng([world.seed, 11])
    picked = [edges[i] for i in sorted(rng.choice(len(edges), min(n, len(edges)), replace=False))]
    queries = queries_for_pairs(picked)
    est = direct(reader, queries)
    return [{"truth": exact_conditional(world.net, q.target, {q.condition: q.value}),
             "marginal": exact_conditional(world.net, q.target, {}), "direct": float(e)}
            for q, e in zip(queries, est, strict=True)]


def run_job(cfg: LocalityConfig, jobs: list[tuple[int, str]], index: int) -> dict:
    """Train (or load) one (world, condition) model and score every estimator on it."""
    from neurips23.lm.models import load_model
    from neurips23.lm.tiny import train_log
    from neurips23.locality.estimators import LMReader

    seed, condition = jobs[index]
    world = world_of(cfg, seed)
    t0 = time.perf_counter()
    path = condition_model(cfg, world, condition)
    elapsed = time.perf_counter() - t0
    log = train_log(path)
    model, tok = load_model(path)
    reader = LMReader(model, tok, cfg.n_vars, cfg.eval_batch_size)
    rows, timing = evaluate_estimators(reader, world.net, world.pair_tuples, cfg.n_samples, seed)
    for r in rows:
        r.update(seed=seed, condition=condition)
    steps = cfg.train.steps
    return {"seed": seed, "condition": condition, "rows": rows, "timing": timing,
            "adjacent": adjacent_rows(reader, world, cfg.n_adjacent),
            "train": {"wall_seconds": log["wall_seconds"], "tokens_per_second": log["tokens_per_second"],
                      "final_loss": log["losses"][-1][1] if log["losses"] else float("nan"),
                      "tokens": log["tokens_per_second"] * log["wall_seconds"], "steps": steps,
                      "from_cache": elapsed < 0.5 * log["wall_seconds"]},
            "pairs": [dataclasses.asdict(p) for p in world.pairs]}


# ---- claims ---------------------------------------------------------------------------------------

def bootstrap_mean(xs: list[float], confidence: float = 0.95, n_boot: int = 4000,
                   seed: int = 0) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap interval over units (vectorised; the core's
    `stats.bootstrap_ci` with the mean as statistic, fast enough for many claims)."""
    x = np.asarray(xs, dtype=float)
    boots = x[np.random.default_rng(seed).integers(0, len(x), (n_boot, len(x)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(x.mean()), float(np.quantile(boots, tail)), float(np.quantile(boots, 1 - tail))


def world_means(rows: list[dict], a: str, b: str) -> dict[int, float]:
    """Per world (seed): the mean over its held-out pairs of MSE(a) - MSE(b) (paired items)."""
    worlds: dict[int, list[dict]] = {}
    for r in rows:
        worlds.setdefault(r["seed"], []).append(r)
    out = {}
    for seed, rs in sorted(worlds.items()):
        per_pair = unit_differences(rs, a, b, ("pair",))
        if per_pair:
            out[seed] = float(np.mean(per_pair))
    return out


def _gap(rows: list[dict], a: str, b: str, rule: Rule) -> tuple[float, float, float, int]:
    """Paired difference MSE(a) - MSE(b): a t interval over worlds (the independent units)."""
    from neurips23.core.stats import t_interval

    per_world = world_means(rows, a, b)
    if not per_world:
        return float("nan"), float("nan"), float("nan"), 0
    return (*t_interval(list(per_world.values()), rule.confidence), len(per_world))


def learned_adjacent(adjacent: dict[str, list[dict]], condition: str,
                     ratio: float) -> tuple[str, bool]:
    """Precondition: the model of `condition` learned the pairs it saw (adjacent direct MSE at
    most the marginal's / ratio)."""
    adj = adjacent.get(condition) or []
    if not adj:
        return (f"{condition}: the model learned its adjacent pairs (not measured)", False)
    m_marg, m_direct = mse(adj, "marginal"), mse(adj, "direct")
    return (f"{condition}: the model learned its adjacent pairs (direct MSE {m_direct:.4f} ≤ "
            f"marginal {m_marg:.4f} / {ratio})", bool(m_direct * ratio <= m_marg))


def wrong_local_claim(cfg: LocalityConfig, local: list[dict], wrong: list[dict], cond: str,
                      local_cond: str, pre: list, adjacent: dict[str, list[dict]]) -> Claim:
    """The wrong-local reasoning gap is smaller than the local one, paired by world."""
    from neurips23.core.stats import t_interval

    rule = cfg.wrong_local_smaller_gap
    g_local = world_means(local, "direct", "scaffolded")
    g_wrong = world_means(wrong, "direct", "scaffolded")
    worlds = sorted(set(g_local) & set(g_wrong))
    diffs = [g_local[w] - g_wrong[w] for w in worlds]
    est, lo, hi = t_interval(diffs, rule.confidence) if diffs else (float("nan"),) * 3
    own = [learned_adjacent(adjacent, cond, cfg.adjacent_ratio),
           learned_adjacent(adjacent, local_cond, cfg.adjacent_ratio)] if adjacent else []
    return measured_claim(
        f"With locality that does not match the net (wrong-local), reasoning gives no gap "
        f"(0.077 vs 0.072, against 0.027 vs 0.016 local) [{cond}]",
        f"local gap - wrong-local gap, {cond}", est, (lo, hi), rule, n=len(diffs),
        preconditions=[*pre, *own])


def make_claims(cfg: LocalityConfig, rows: list[dict],
                adjacent: dict[str, list[dict]] | None = None) -> list[Claim]:
    """The paper's claims for every local and wrong-local condition present in `rows`;
    `adjacent` (direct prediction on trained-on pairs per condition) feeds the wrong-local
    claim's own learned precondition."""
    claims = []
    by = {c: [r for r in rows if r["condition"] == c] for c in dict.fromkeys(r["condition"] for r in rows)}
    local = [c for c in by if c.startswith("local")]
    pre_rows = [r for c in local for r in by[c]]
    m_marg, m_direct = mse(pre_rows, "marginal"), mse(pre_rows, "direct")
    pre = [(f"local training: marginal-predictor MSE {m_marg:.4f} ≥ {cfg.marginal_ratio} × direct "
            f"MSE {m_direct:.4f}", bool(m_marg >= cfg.marginal_ratio * m_direct))] if local else []
    specs = [
        ("scaffold_beats_direct", "direct", "scaffolded", local,
         "Under local training, scaffolded generation estimates held-out conditionals better "
         "than direct prediction (MSE 0.016 vs 0.027)", "MSE(direct) - MSE(scaffolded)"),
        ("free_beats_direct", "direct", "free", local,
         "Under local training, free generation beats direct prediction (MSE 0.014 vs 0.027)",
         "MSE(direct) - MSE(free)"),
        ("free_matches_scaffold", "free", "scaffolded", local,
         "Free generation is about as good as scaffolded generation (0.014 vs 0.016)",
         "MSE(free) - MSE(scaffolded)"),
        ("negative_does_not_help", "direct", "negative", local,
         "A negative scaffold (irrelevant variables) does not help (0.027 vs 0.027)",
         "MSE(direct) - MSE(negative)"),
    ]
    for name, a, b, conds, paper, stat in specs:
        rule = getattr(cfg, name)
        for c in conds:
            est, lo, hi, n = _gap(by[c], a, b, rule)
            claims.append(measured_claim(f"{paper} [{c}]", f"{stat}, {c}", est, (lo, hi), rule,
                                         n=n, preconditions=pre))
    for c in [c for c in by if c.startswith("wrong")]:
        match = c.replace("wrong_", "")  # wrong_local_geom pairs with local_geom
        if match in by:
            claims.append(wrong_local_claim(cfg, by[match], by[c], c, match, pre, adjacent or {}))
    return claims


# ---- tables and plots -------------------------------------------------------------------------------

def mse_table(rows: list[dict]) -> list[dict]:
    """MSE per training condition and estimator, ours beside the paper's."""
    out = []
    for c in dict.fromkeys(r["condition"] for r in rows):
        rs = [r for r in rows if r["condition"] == c]
        row: dict[str, Any] = {"condition": c, "items": len(rs), "marginal": mse(rs, "marginal")}
        row.update({e: mse(rs, e) for e in ESTIMATORS})
        valid = [r["free_valid"] for r in rs if "free_valid" in r]
        row["free valid"] = float(np.mean(valid)) if valid else float("nan")
        paper = PAPER_MSE.get(c, {})
        row["paper (direct / scaffolded / negative / free)"] = " / ".join(
            f"{paper[e]:.3f}" for e in ESTIMATORS) if paper else ""
        out.append(row)
    return out


def distance_table(rows: list[dict]) -> list[dict]:
    """MSE by the held-out pair's distance (is the gap larger for farther pairs?)."""
    out = []
    for c in dict.fromkeys(r["condition"] for r in rows):
        for d in sorted({r["distance"] for r in rows if r["condition"] == c}):
            rs = [r for r in rows if r["condition"] == c and r["distance"] == d]
            out.append({"condition": c, "distance": d, "items": len(rs), "marginal": mse(rs, "marginal"),
                        **{e: mse(rs, e) for e in ESTIMATORS}})
    return out


def free_table(rows: list[dict]) -> list[dict]:
    """Free generation: steps, intermediate variables, how often they d-separate the pair."""
    out = []
    for c in dict.fromkeys(r["condition"] for r in rows):
        rs = [r for r in rows if r["condition"] == c and "free_steps" in r]
        if rs:
            out.append({"condition": c, "valid": float(np.mean([r["free_valid"] for r in rs])),
                        "steps": float(np.mean([r["free_steps"] for r in rs])),
                        "intermediate variables": float(np.nanmean([r["free_intermediate"] for r in rs])),
                        "d-separating": float(np.nanmean([r["free_d_separating"] for r in rs]))})
    return out


def cost_table(results: list[dict]) -> list[dict]:
    """Training cost per condition and the estimators' throughput (partial samples per second)."""
    out = []
    for c in dict.fromkeys(r["condition"] for r in results):
        rs = [r for r in results if r["condition"] == c]
        row = {"condition": c, "models": len(rs),
               "train tokens": float(np.mean([r["train"]["tokens"] for r in rs])),
               "train s / model": float(np.mean([r["train"]["wall_seconds"] for r in rs])),
               "train tokens/s": float(np.mean([r["train"]["tokens_per_second"] for r in rs]))}
        for e in ESTIMATORS:
            row[f"{e} samples/s"] = float(np.mean([r["timing"][e]["samples_per_second"] for r in rs]))
        out.append(row)
    return out


def plot_mse(rows: list[dict]):
    """Bars: MSE per estimator and condition, with the marginal predictor as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = list(dict.fromkeys(r["condition"] for r in rows))
    fig, ax = plt.subplots(figsize=(1.8 + 2.2 * len(conds), 3.4))
    width = 0.8 / len(ESTIMATORS)
    for k, e in enumerate(ESTIMATORS):
        xs = np.arange(len(conds)) + (k - 1.5) * width
        ax.bar(xs, [mse([r for r in rows if r["condition"] == c], e) for c in conds], width, label=e)
    for i, c in enumerate(conds):
        m = mse([r for r in rows if r["condition"] == c], "marginal")
        ax.hlines(m, i - 0.45, i + 0.45, colors="k", linestyles="--",
                  label="marginal predictor" if i == 0 else None)
    ax.set_xticks(np.arange(len(conds)), conds)
    ax.set(ylabel="MSE vs true P(target | condition)", title="Held-out pairs")
    ax.legend(fontsize=7)
    return fig


def plot_scatter(rows: list[dict]):
    """Estimate against the true conditional, per estimator, for each condition."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conds = list(dict.fromkeys(r["condition"] for r in rows))
    fig, axes = plt.subplots(len(conds), len(ESTIMATORS), figsize=(2.4 * len(ESTIMATORS), 2.4 * len(conds)),
                             squeeze=False)
    for i, c in enumerate(conds):
        rs = [r for r in rows if r["condition"] == c]
        for j, e in enumerate(ESTIMATORS):
            ax = axes[i][j]
            ax.scatter([r["truth"] for r in rs], [r.get(e, np.nan) for r in rs], s=6, alpha=0.6)
            ax.plot([0, 1], [0, 1], "k:", lw=0.8)
            ax.set(xlim=(0, 1), ylim=(0, 1))
            ax.set_title(f"{c}: {e}", fontsize=7)
    fig.supxlabel("true P(target = 1 | condition)")
    fig.supylabel("estimate")
    fig.tight_layout()
    return fig


# ---- the run ------------------------------------------------------------------------------------------

def run_locality(cfg: LocalityConfig, run) -> Outcome:
    """Every (world, condition) job, then the claims, tables and plots; with source=released,
    the authors' released estimates scored instead (`locality.released`)."""
    if cfg.source == "released":
        return run_released(cfg, run)
    from neurips23.core.parallel import map_units

    jobs = [(s, c) for s in cfg.seeds for c in cfg.conditions]
    run.log(f"locality: {len(cfg.seeds)} worlds × {len(cfg.conditions)} conditions; jobs "
            + ", ".join(f"{i}=(seed {s}, {c})" for i, (s, c) in enumerate(jobs)))
    results = map_units(partial(run_job, cfg, jobs), list(range(len(jobs))), cfg.workers,
                        log=run.log, unit="job")
    rows = [r for res in results for r in res["rows"]]
    run.log_samples(rows)
    run.save_plot(plot_mse(rows), "mse_by_estimator")
    run.save_plot(plot_scatter(rows), "estimates_vs_truth")
    adjacent = {c: [a for res in results if res["condition"] == c for a in res["adjacent"]]
                for c in cfg.conditions}
    claims = make_claims(cfg, rows, adjacent)
    metrics = {
        "mse": {c: {e: mse([r for r in rows if r["condition"] == c], e) for e in ("marginal", *ESTIMATORS)}
                for c in cfg.conditions},
        "adjacent_pairs_mse": {c: {"marginal": mse(a, "marginal"), "direct": mse(a, "direct")}
                               for c, a in adjacent.items()},
        "jobs": [{k: v for k, v in res.items() if k != "rows" and k != "adjacent"} for res in results],
        "paper_mse": PAPER_MSE, "paper_marginal_mse": PAPER_MARGINAL_MSE,
    }
    cached = sum(res["train"]["from_cache"] for res in results)
    notes = _notes(claims, metrics, cached, len(results))
    tables = {"MSE against the true conditional (ours; the paper's in the last column)": mse_table(rows),
              "MSE by distance between condition and target": distance_table(rows),
              "Free generation": free_table(rows),
              "Cost per training condition (mean per model)": cost_table(results),
              "Direct prediction on adjacent (trained-on) pairs": [
                  {"condition": c, **v} for c, v in metrics["adjacent_pairs_mse"].items()]}
    return Outcome(metrics, claims, notes, tables)


def run_released(cfg: LocalityConfig, run) -> Outcome:
    """`neurips23 reproduce locality --profile released`: the authors' estimates
    (`locality.released`), our scoring and the claims' rules of `cfg`; no model."""
    from neurips23.locality.released import item_rows, read_estimates

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


def _notes(claims: list[Claim], metrics: dict, cached: int, total: int) -> str:
    gap = [c for c in claims if c.statistic.startswith("MSE(direct) - MSE(scaffolded)") and "wrong" not in c.statistic]
    parts = []
    if gap and all(c.verdict == "not reproduced" for c in gap):
        parts.append("The reasoning gap did not reproduce at this scale: direct prediction was at "
                     "least as good as scaffolded generation on the held-out pairs.")
    if cached:
        parts.append(f"{cached} of {total} models came from the model cache (trained by an earlier "
                     "run); their training time is in the cost table but not in this run's wall time.")
    return " ".join(parts)


REPRODUCTION = Reproduction(
    name="locality", title="Why think step by step? Reasoning from the locality of experience "
    "(Prystawski, Li & Goodman 2023)", config=LocalityConfig, profiles=PROFILES, run=run_locality,
    finding_profiles=("full", "released"))
