"""`neurips23 reproduce emergence`: a family of tiny transformers trained on char-level
arithmetic (the paper's GPT-3 tests, §3), the same greedy outputs scored under sharp and smooth
metrics, and the paper's three predictions and its model tested on them.

Every claim is tested at a target length L fixed in the config (each task's full answer width
unless `target_length` says otherwise) by a rule fixed in the config, with the reason for it;
the other lengths are reported in the tables.
"""

from __future__ import annotations

import math

import numpy as np

from neurips23.core.claims import Claim, Rule, combine, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.core.stats import bootstrap_ci, t_interval, wilson_interval
from neurips23.emergence.config import PROFILES, EmergenceConfig
from neurips23.emergence.predictions import (
    claim_lengths,
    larger_test_set,
    learned,
    length_fits,
    metric_swap,
    metric_swap_by_length,
    model_check,
    pearson,
)
from neurips23.emergence.sweep import SweepResult, run_sweep

P1 = ("P1: on the same outputs, exact match looks emergent while token edit distance improves "
      "smoothly with scale (Fig. 3)")
P2 = ("P2: with more test data, small models' exact match is above chance and improves "
      "smoothly and predictably, as exp(-L·CE_token) says (Fig. 4)")
P3 = ("P3: as target length L grows, exact match falls geometrically and token edit distance "
      "quasi-linearly (§3, App. A)")
MODEL_EM = "Model (§2, Eq. 3): exact match ≈ exp(−L·CE_token) on the same models"
MODEL_CE = "Model (§2, Eq. 1): per-token cross-entropy falls smoothly with scale (no jump)"


def combined(paper: str, parts: list[tuple[str, Claim]]) -> Claim:
    """One claim that must hold in every part (every task, every cell): `combine` of the parts'
    verdicts, each part's figure and verdict listed."""
    ours = "; ".join(f"{label}: {c.ours} → {c.verdict}" for label, c in parts)
    rules = [c.rule for _, c in parts]
    return Claim(paper=paper, ours=ours, verdict=combine(c.verdict for _, c in parts),
                 statistic=" / ".join(dict.fromkeys(c.statistic for _, c in parts)),
                 rule=rules[0] if rules and all(r == rules[0] for r in rules) else None,
                 preconditions=[p for _, c in parts for p in c.preconditions])


def _f(x: float) -> str:
    return str(x) if isinstance(x, float) and not math.isfinite(x) else f"{x:.3g}"


# --------------------------------------------------------------------------- the claims
def claim_metric_swap(res: SweepResult, cfg: EmergenceConfig, lengths: dict[str, int]) -> Claim:
    """P1: EM's emergence index minus TED's on the same outputs (standard test set), per seed."""
    parts = []
    for task, L in lengths.items():
        d = metric_swap(res, task, L)
        est, lo, hi = t_interval(d["index_difference"], cfg.metric_swap.confidence)
        top = float(np.mean(d["largest_member_em"]))
        ours = (f"L={L}: emergence score EM {'/'.join(_f(x) for x in d['em_score'])} vs TED "
                f"{'/'.join(_f(x) for x in d['ted_score'])} per seed; index difference "
                f"{_f(est)} [{_f(lo)}, {_f(hi)}], n = {len(d['em_score'])} seeds")
        parts.append((task, measured_claim(
            P1, "emergence index of EM − of TED", est, (lo, hi), cfg.metric_swap,
            n=len(d["em_score"]), ours=ours, preconditions=[
                (f"largest member's exact match at L={L} ≥ {cfg.min_top_em} (it is {top:.3f})",
                 top >= cfg.min_top_em)])))
    return combined(P1, parts)


def _confidence(rule: Rule, cfg: EmergenceConfig, m: int) -> float:
    return 1 - (1 - rule.confidence) / m if cfg.correction == "bonferroni" else rule.confidence


def claim_larger_test_set(res: SweepResult, cfg: EmergenceConfig,
                          lengths: dict[str, int]) -> tuple[Claim, list[dict]]:
    """P2: every small member above chance on the large test set, and their pooled exact match
    where exp(−L·CE) puts it."""
    small = cfg.family[: max(1, cfg.small_members)]
    rows = [r for task, L in lengths.items() for r in larger_test_set(res, task, L, small)]
    conf = _confidence(cfg.above_chance, cfg, len(rows) + len(lengths))
    parts = []
    for r in rows:
        chance = r["chance_best_constant"] if cfg.chance == "best_constant" else r["chance_uniform"]
        em = r["hits"] / r["n"]
        lo, hi = wilson_interval(r["hits"], r["n"], conf)
        r.update(exact_match=em, ci=[lo, hi], chance=chance)
        parts.append((f"{r['task']} {r['model']}", measured_claim(
            P2, "exact match − chance", em - chance, (lo - chance, hi - chance), cfg.above_chance,
            n=r["n"], ours=f"L={r['L']}: {r['hits']}/{r['n']} = {em:.4f} [{lo:.4f}, {hi:.4f}] vs "
            f"chance {chance:.4f} (standard test set {r['standard_hits']}/{r['standard_n']})")))
    for task, L in lengths.items():
        cells = [r for r in rows if r["task"] == task]
        hits, n = sum(r["hits"] for r in cells), sum(r["n"] for r in cells)
        pred = float(np.mean([r["predicted"] for r in cells]))
        lo, hi = wilson_interval(hits, n, conf)
        interval = [_log_ratio(lo, pred), _log_ratio(hi, pred)]
        ok = all(learned(res, task, list(cfg.seeds), r["model"], conf) for r in cells)
        parts.append((f"{task} vs exp(−L·CE)", measured_claim(
            P2, "log(measured / predicted exact match)", _log_ratio(hits / n, pred), interval,
            cfg.predicted, n=n, ours=f"L={L}: measured {hits / n:.4f} [{lo:.4f}, {hi:.4f}] vs "
            f"predicted {pred:.4f}", preconditions=[
                ("the small members beat the best constant answer at L=1", ok)])))
    return combined(P2, parts), rows


def _log_ratio(x: float, pred: float) -> float:
    return math.log(x / pred) if x > 0 and pred > 0 else -math.inf


def claim_target_length(res: SweepResult, cfg: EmergenceConfig) -> tuple[Claim, list[dict]]:
    """P3: per fitted model, how much better log EM ~ L fits than EM ~ L, and TED ~ L than
    log TED ~ L (median over fits, bootstrap interval)."""
    from neurips23.emergence.mirage_model import fit_geometric, fit_linear

    fits = length_fits(res, cfg.min_hits_per_length)
    for f in fits:
        lengths = list(range(1, len(f["em"]) + 1))
        f["em_linear_r2"] = fit_linear(lengths, f["em"]).r2
        f["log_ted_r2"] = fit_geometric(lengths, f["ted"]).r2 if min(f["ted"]) > 0 else math.nan
    pre = [("some model learned its task (beats the best constant answer at L=1) and has "
            f"≥ {cfg.min_hits_per_length} exact matches at every L", bool(fits))]
    parts = []
    for label, rule, better, worse in (("exact match", cfg.geometric, "log_em_r2", "em_linear_r2"),
                                       ("edit distance", cfg.linear, "ted_r2", "log_ted_r2")):
        diffs = [f[better] - f[worse] for f in fits if math.isfinite(f[worse])]
        est, lo, hi = (bootstrap_ci(diffs, np.median, confidence=rule.confidence) if diffs
                       else (math.nan,) * 3)
        parts.append((label, measured_claim(
            P3, f"median R² difference ({better} − {worse})", est, (lo, hi), rule, n=len(diffs),
            ours=f"R² {better} − {worse}: median {_f(est)} [{_f(lo)}, {_f(hi)}] over "
            f"{len(diffs)} fits", preconditions=pre)))
    return combined(P3, parts), fits


def claim_em_from_ce(res: SweepResult, cfg: EmergenceConfig, mc: dict) -> Claim:
    """Model: Pearson r of measured exact match with exp(−L·CE) per task, bootstrap over models."""
    parts = []
    for task in res.cfg.tasks:
        by_model: dict[tuple, list[dict]] = {}
        for p in mc["points"]:
            if p["task"] == task:
                by_model.setdefault((p["seed"], p["model"]), []).append(p)
        models = sorted(by_model)

        def r_of(units, by_model=by_model):
            chosen = [p for u in units for p in by_model[u]]
            return pearson([p["measured"] for p in chosen], [p["predicted"] for p in chosen])

        est, lo, hi = bootstrap_ci(models, r_of, confidence=cfg.em_from_ce.confidence)
        ok = learned(res, task, list(cfg.seeds), cfg.family[-1])
        parts.append((task, measured_claim(
            MODEL_EM, "Pearson r(measured EM, exp(−L·CE))", est, (lo, hi), cfg.em_from_ce,
            n=len(models), preconditions=[
                (f"the largest member learned {task} (beats the best constant answer at L=1)",
                 ok)])))
    return combined(MODEL_EM, parts)


def claim_ce_smooth(res: SweepResult, cfg: EmergenceConfig, mc: dict) -> Claim:
    """Model: CE falls with size (Spearman ρ) and without a jump (largest step's share)."""
    parts = []
    for task, d in mc["per_task"].items():
        seeds = d["per_seed"]
        rho = t_interval([s["spearman_rho"] for s in seeds], cfg.ce_monotone.confidence)
        parts.append((f"{task} ρ", measured_claim(
            MODEL_CE, "Spearman ρ(parameters, CE)", rho[0], rho[1:], cfg.ce_monotone,
            n=len(seeds))))
        drops = [s["ce_drop"] for s in seeds]
        share = t_interval([s["largest_step_share"] for s in seeds], cfg.ce_smooth.confidence)
        parts.append((f"{task} largest step", measured_claim(
            MODEL_CE, "largest step's share of CE's drop", share[0], share[1:], cfg.ce_smooth,
            n=len(seeds), preconditions=[
                (f"CE falls ≥ {cfg.min_ce_drop} nats in every seed (min {min(drops):.3f})",
                 min(drops) >= cfg.min_ce_drop)])))
    return combined(MODEL_CE, parts)


def make_claims(res: SweepResult, cfg: EmergenceConfig) -> tuple[list[Claim], dict]:
    """Every claim, and the statistics behind them (for the metrics and tables)."""
    lengths = claim_lengths(cfg.tasks, cfg.target_length)
    mc = model_check(res)
    p2, p2_rows = claim_larger_test_set(res, cfg, lengths)
    p3, fits = claim_target_length(res, cfg)
    claims = [claim_metric_swap(res, cfg, lengths), p2, p3, claim_em_from_ce(res, cfg, mc),
              claim_ce_smooth(res, cfg, mc)]
    return claims, {"claim_lengths": lengths, "larger_test_set": p2_rows, "length_fits": fits,
                    "model_check": mc, "metric_swap_by_length": metric_swap_by_length(res)}


# --------------------------------------------------------------------------- the run
def run_emergence(cfg: EmergenceConfig, run) -> Outcome:
    """Train (or load) the family, score it, decide the claims, save figures and samples."""
    from neurips23.emergence import plots

    claim_lengths(cfg.tasks, cfg.target_length)  # a bad setting fails before any training
    run.log(f"emergence: {len(cfg.family)} sizes × {len(cfg.seeds)} seeds, {cfg.train.steps} steps")
    res = run_sweep(cfg, log=run.log)
    claims, stats = make_claims(res, cfg)
    mc = stats["model_check"]
    run.log_samples(res.samples)
    run.save_plot(plots.fig3_metric_swap(res, mc), "fig3_metric_swap")
    run.save_plot(plots.fig4_larger_test_set(res), "fig4_larger_test_set")
    run.save_plot(plots.fig_model_check(res, mc), "model_check")
    run.save_plot(plots.fig_length(res, stats["length_fits"]), "target_length")
    table = [{"task": k[0], "seed": k[1], "model": k[2], "params": res.params[k[2]], "L": k[3],
              "test": k[4], **v} for k, v in res.table.items()]
    metrics = _json_safe({
        "params": res.params, "train_or_load_seconds": res.train_seconds,
        "members_from_cache": res.cached, "eval_seconds": res.eval_seconds, **stats,
        "chance": [{"task": k[0], "L": k[1], "test": k[2], "best_constant": v}
                   for k, v in res.chance.items()],
        "table": table,
    })
    total = len(cfg.family) * len(cfg.seeds)
    notes = (f"{res.cached} of {total} trained models were loaded from the model cache (trained "
             "by an earlier run), so train_or_load_seconds and this run's wall time leave out "
             "their training." if res.cached else "")
    return Outcome(metrics, claims, notes, tables=result_tables(res, stats))


def result_tables(res: SweepResult, stats: dict) -> dict[str, list[dict]]:
    """The tables the report and docs show: the family at the tested L, prediction 1 at every
    L, and prediction 2's cells."""
    family = []
    for task, L in stats["claim_lengths"].items():
        for m in res.cfg.family:
            cell = {split: [res.table[(task, s, m, L, split)] for s in res.cfg.seeds]
                    for split in ("standard", "large")}
            family.append({
                "task": task, "L": L, "model": m, "params": res.params[m],
                "EM (standard)": _mean(cell["standard"], "exact_match"),
                "EM (large)": _mean(cell["large"], "exact_match"),
                "TED": _mean(cell["large"], "token_edit_distance"),
                "CE/token": _mean(cell["large"], "per_token_ce")})
    by_length = []
    for d in stats["metric_swap_by_length"]:
        est, lo, hi = (round(x, 9) for x in t_interval(d["index_difference"]))
        by_length.append({"task": d["task"], "L": d["L"],
                          "EM score": " / ".join(_f(x) for x in d["em_score"]),
                          "TED score": " / ".join(_f(x) for x in d["ted_score"]),
                          "index difference": f"{_f(est)} [{_f(lo)}, {_f(hi)}]",
                          "largest EM": float(np.mean(d["largest_member_em"]))})
    cells = [{"task": r["task"], "L": r["L"], "model": r["model"],
              "standard": f"{r['standard_hits']}/{r['standard_n']}",
              "large": f"{r['hits']}/{r['n']}", "chance": r["chance"],
              "predicted": r["predicted"]} for r in stats["larger_test_set"]]
    return {"the family at the tested target length (mean over seeds)": family,
            "prediction 1 at every target length (per seed; only the tested L decides)": by_length,
            "prediction 2: the small members, hits pooled over seeds": cells}


def _mean(cells: list[dict], key: str) -> float:
    return float(np.mean([c[key] for c in cells]))


def _json_safe(obj):
    """inf/nan floats become strings, tuple keys strings, numpy scalars Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else str(float(obj))
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    return obj


REPRODUCTION = Reproduction(
    name="emergence", title="Are emergent abilities a mirage? (Schaeffer et al. 2023)",
    config=EmergenceConfig, profiles=PROFILES, run=run_emergence)
