"""`neurips23 reproduce dpo`: DPO §6.1 (Fig. 2 left) at CPU scale — does DPO's reward-vs-KL
frontier dominate the baselines trained on the same preference pairs? The settings and profiles
are in `dpo.config`, the frontier is built seed by seed in `dpo.frontier`; this module holds the
claims and the run.

The claims, each with its rule fixed in the config:
- dominance over Preferred-FT and over Unlikelihood at every KL budget of a grid: per seed,
  the test reward of DPO's best checkpoint within the budget (chosen on validation prompts,
  DPO checkpoints only) minus the baseline's (chosen the same way; the baseline may also stop
  at π_SFT), with a t-interval over seeds;
- KL(π‖π_ref) falls as β rises (final checkpoints, adjacent β, paired by seed);
- PPO is not run: said plainly, no verdict.
"""

from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Any

from neurips23.core.claims import Claim, Rule, combine, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.dpo.config import PROFILES, DPOConfig
from neurips23.dpo.frontier import (
    aggregate,
    frontier_by_seed,
    logps_drift,
    plot_frontier,
    run_seed,
    sft_model,
)

BASELINES = ("Preferred-FT", "Unlikelihood")


# --- the claims --------------------------------------------------------------------------


def _paired(a: dict[int, float], b: dict[int, float]) -> list[float]:
    """a[s] − b[s] for every seed where both are defined."""
    return [a[s] - b[s] for s in sorted(a) if s in b and not (math.isnan(a[s]) or math.isnan(b[s]))]


def dominance_claim(points: list[dict], base: str, kl_grid: list[float], rule: Rule
                    ) -> tuple[Claim, list[dict]]:
    """DPO's frontier above `base`'s at every KL budget of the grid (combined), and its parts."""
    from neurips23.core.stats import t_interval

    parts, rows = [], []
    for k in kl_grid:
        dpo = frontier_by_seed(points, "DPO", k)
        baseline = frontier_by_seed(points, base, k, include_sft=True)
        sft = frontier_by_seed(points, "SFT", k)
        diffs = _paired(dpo, baseline)
        mean, low, high = t_interval(diffs, rule.confidence)
        _, learned_low, _ = t_interval(_paired(dpo, sft), rule.confidence)
        part = measured_claim(
            f"KL ≤ {k:g}", f"DPO − {base} test reward", mean, (low, high), rule, n=len(diffs),
            preconditions=[(f"DPO's best point within KL ≤ {k:g} beats π_SFT (t-interval over "
                            "seeds above 0)", learned_low > 0)])
        parts.append(part)
        rows.append({"kl_max": k, "diff": mean, "low": low, "high": high, "n": len(diffs),
                     "verdict": part.verdict, "per_seed": diffs})
    verdict = combine(p.verdict for p in parts)
    text = "; ".join(f"KL ≤ {r['kl_max']:g}: {_fmt(r['diff'])} [{_fmt(r['low'])}, "
                     f"{_fmt(r['high'])}] {r['verdict']}" for r in rows)
    claim = Claim(
        paper=f"DPO's reward-vs-KL frontier dominates {base} (Fig. 2 left)",
        ours=f"test reward of DPO's best checkpoint − {base}'s best, each chosen on validation "
             f"prompts within the KL budget (mean over {rows[0]['n'] if rows else 0} seeds, 95% "
             f"t-interval): {text}",
        verdict=verdict, statistic=f"DPO − {base} test reward, every KL budget",
        estimate=min((r["diff"] for r in rows), default=float("nan")), n=rows[0]["n"] if rows else 0,
        rule={**vars(rule), "kl_grid": list(kl_grid)},
        preconditions=[pc for p in parts for pc in p.preconditions])
    return claim, rows


def kl_order_claim(points: list[dict], betas: list[float], steps: int, rule: Rule) -> Claim:
    """KL of the final DPO checkpoint falls as β rises: every adjacent pair, paired by seed."""
    from neurips23.core.stats import t_interval

    final = {}
    for b in sorted(betas):
        final[b] = {p["seed"]: p["kl"] for p in points if p["method"] == "DPO"
                    and p["setting"] == f"beta={b:g}" and p["step"] == steps}
    parts, texts = [], []
    for lo_b, hi_b in itertools.pairwise(sorted(betas)):
        diffs = _paired(final[lo_b], final[hi_b])
        mean, low, high = t_interval(diffs, rule.confidence)
        part = measured_claim(f"β {lo_b:g} vs {hi_b:g}", "KL difference", mean, (low, high), rule,
                              n=len(diffs))
        parts.append(part)
        texts.append(f"KL(β={lo_b:g}) − KL(β={hi_b:g}) = {_fmt(mean)} [{_fmt(low)}, "
                     f"{_fmt(high)}] {part.verdict}")
    return Claim(paper="KL(π‖π_ref) falls as β rises (β weights the KL penalty, eq. 3)",
                 ours="final checkpoints, paired by seed, 95% t-interval: " + "; ".join(texts),
                 verdict=combine(p.verdict for p in parts) if parts else "inconclusive",
                 statistic="KL difference of adjacent β", n=parts[0].n if parts else 0,
                 rule=vars(rule))


PPO_NOT_RUN = Claim(
    paper="DPO's frontier also dominates PPO and PPO with the ground-truth reward (PPO-GT) "
          "(Fig. 2 left)",
    ours="not tested: PPO and PPO-GT are not run in this reproduction (CPU budget); only "
         "Preferred-FT, Unlikelihood and Best-of-N are compared with DPO",
    verdict="inconclusive", statistic="not run")


def _fmt(x: float) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:+.3f}"


# --- the summary ---------------------------------------------------------------------------


def frontier_table(points: list[dict], kl_grid: list[float]) -> list[dict]:
    """Test reward of each method's validation-chosen best point per KL budget (mean [t-CI])."""
    from neurips23.core.stats import t_interval

    rows = []
    for k in kl_grid:
        row: dict[str, Any] = {"KL ≤": k}
        for m in ("DPO", *BASELINES):
            vals = [v for v in frontier_by_seed(points, m, k, include_sft=m != "DPO").values()
                    if not math.isnan(v)]
            mean, low, high = t_interval(vals)
            row[m] = "–" if not vals else f"{mean:.3f}" + (
                "" if math.isnan(low) else f" [{low:.3f}, {high:.3f}]")
        bon = [p for p in points if p["method"] == "Best-of-N" and p["kl"] <= k]
        if bon:
            best = max({p["setting"] for p in bon},
                       key=lambda s: sum(p["reward"] for p in bon if p["setting"] == s))
            row["Best-of-N (KL bound)"] = (f"{_mean([p['reward'] for p in bon if p['setting'] == best]):.3f}"
                                           f" ({best})")
        rows.append(row)
    return rows


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def summarize(cfg: DPOConfig, points: list[dict], train_logs: list[dict] | None = None
              ) -> tuple[dict, list[Claim], dict[str, list[dict]]]:
    """Metrics, the paper's claims beside ours, and the result tables."""
    agg = aggregate(points)
    metrics: dict[str, Any] = {"points": agg, "kl_grid": list(cfg.kl_grid)}
    claims = []
    for base in BASELINES:
        claim, rows = dominance_claim(points, base, cfg.kl_grid, cfg.dominance)
        claims.append(claim)
        metrics[f"dpo_minus_{base}"] = rows
    claims.append(kl_order_claim(points, cfg.betas, cfg.train.steps, cfg.kl_order))
    claims.append(PPO_NOT_RUN)
    final = {p["setting"]: p for p in agg if p["method"] == "DPO" and p["step"] == cfg.train.steps}
    metrics["dpo_final_kl_by_beta"] = {s.split("=")[1]: p["kl"] for s, p in sorted(
        final.items(), key=lambda kv: float(kv[0].split("=")[1]))}
    metrics["best_of_n"] = {p["setting"]: {"reward": p["reward"], "kl_bound": p["kl"]}
                            for p in agg if p["method"] == "Best-of-N"}
    metrics["sft_reward"] = next(p["reward"] for p in agg if p["method"] == "SFT")
    tables: dict[str, list[dict]] = {}
    if train_logs:
        drift = logps_drift(train_logs)
        metrics["dpo_logps_first_last"] = drift
        tables["DPO's log-probs of the training pairs, first → last logged step (mean over seeds)"] = [
            {"β": s.split("=")[1], "log π(y_w)": f"{d['chosen_first']:.1f} → {d['chosen_last']:.1f}",
             "log π(y_l)": f"{d['rejected_first']:.1f} → {d['rejected_last']:.1f}"}
            for s, d in sorted(drift.items(), key=lambda kv: float(kv[0].split("=")[1]))]
    tables = {
        "best test reward within a KL budget (checkpoint chosen on validation prompts)":
            frontier_table(points, cfg.kl_grid),
        "final KL(π‖π_ref) of DPO by β": [
            {"β": s.split("=")[1], "KL": f"{p['kl']:.2f}", "reward": f"{p['reward']:.3f}"}
            for s, p in sorted(final.items(), key=lambda kv: float(kv[0].split("=")[1]))],
        **tables,
    }
    return metrics, claims, tables


def run_frontier(cfg: DPOConfig, run) -> Outcome:
    """The whole reproduction: π_SFT (cached), the per-seed frontiers, the claims and the plot."""
    from neurips23.core.parallel import map_units

    model_dir = sft_model(cfg)
    points: list[dict] = []
    train_logs: list[dict] = []
    per_seed = map_units(partial(run_seed, cfg, model_dir, progress=cfg.workers <= 1), cfg.seeds,
                         cfg.workers, log=run.log)
    for seed_points, samples in per_seed:
        points.extend(seed_points)
        train_logs.extend(s for s in samples if s.get("kind") == "train_log")
        run.log_samples(samples)
        run.log_samples({"kind": "point", **p} for p in seed_points)
    metrics, claims, tables = summarize(cfg, points, train_logs)
    run.save_plot(plot_frontier(cfg, points), "frontier")
    return Outcome(metrics, claims, tables=tables,
                   notes="PPO and PPO-GT are not run (CPU budget): the paper's comparison with "
                         "them is not tested here. One π_SFT is shared by all seeds; seeds vary "
                         "the preference samples, training order and evaluation samples. Each "
                         "method's best checkpoint within a KL budget is chosen on validation "
                         "prompts and reported on separate test prompts.")


REPRODUCTION = Reproduction(name="dpo", title="DPO (Rafailov et al., 2023): the reward-vs-KL "
                            "frontier of controlled sentiment", config=DPOConfig, profiles=PROFILES,
                            run=run_frontier)
