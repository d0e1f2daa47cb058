"""`neurips23 reproduce emergence`: a family of tiny transformers trained on char-level
arithmetic (the paper's GPT-3 tests, §3), the same greedy outputs scored under sharp and smooth
metrics, and the paper's three predictions and its model tested on them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurips23.core.claims import Claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.emergence.predictions import model_check, prediction_1, prediction_2, prediction_3
from neurips23.emergence.sweep import run_sweep, widths


@dataclass
class EmergenceConfig:
    """Settings of the model-family sweep (the `full` profile is the claims' test)."""

    tasks: list[str] = field(default_factory=lambda: ["mult_2x2", "add_4x4"])
    # family members "d<hidden>l<layers>": heads = hidden/16 (≥1), MLP width 4·hidden
    family: list[str] = field(
        default_factory=lambda: ["d16l1", "d24l2", "d32l2", "d48l2", "d64l3", "d96l3"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    steps: int = 2500
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 100
    n_train: int = 20000  # per task, capped at the problems left after the test set
    test_size: int = 100  # the "standard" test set (resolution limit 1/100)
    large_test_factor: int = 20  # prediction 2: a 20× larger test set
    reverse: bool = True  # numbers written least-significant digit first
    data_seed: int = 0
    eval_batch_size: int = 256
    progress: bool = True
    workers: int = 1  # > 1: seeds in parallel processes (1 torch thread each)
    eval_device: str = "cpu"  # where the trained members are evaluated ("cuda" on a GPU box)


PROFILES: dict[str, dict] = {
    "quick": {"seeds": [0], "steps": 400, "n_train": 6000, "large_test_factor": 10},
    "full": {},
}


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) and x > 0 else "-inf" if math.isinf(x) else f"{x:.2f}"


def _finite(obj):
    """JSON-safe copy: inf/nan floats become strings, tuple keys become strings."""
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else str(float(obj))
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    return obj


def measurable_length(res, task: str, threshold: float = 0.1) -> int | None:
    """The longest target length L ≥ 2 at which the largest model's mean exact match (standard
    test set, over seeds) reaches `threshold`; None if there is none (at L = 1 exact match is
    1 − edit distance, so comparing the two there is vacuous)."""
    biggest = res.cfg.family[-1]
    best = None
    for L in range(2, widths(res)[task] + 1):
        em = np.mean([res.table[(task, s, biggest, L, "standard")]["exact_match"]
                      for s in res.cfg.seeds])
        if em >= threshold:
            best = L
    return best


def make_claims(res, p1: dict, p2: dict, p3: dict, mc: dict) -> list:
    """The paper's claims beside our figures, with verdicts by the pass criteria of the
    reproduction brief (stated in each `ours`)."""
    claims = []
    # prediction 1: at the longest target length L* at which the largest model gets at least
    # 10% exact match (so there is a rise to measure; at longer L every curve is flat at 0),
    # EM must be sharper than TED in ≥ 2/3 of seeds, for every task
    parts, ok = [], []
    for task, width in widths(res).items():
        L = measurable_length(res, task)
        if L is None:
            parts.append(f"{task}: not testable (no L ≥ 2 where the largest model reaches "
                         "EM ≥ 0.1)")
            continue
        d = p1[task][L]
        parts.append(f"{task} L*={L} of {width}: EM score "
                     f"{'/'.join(_fmt(x) for x in d['em_score'])} vs TED score "
                     f"{'/'.join(_fmt(x) for x in d['ted_score'])} (per seed), EM sharper in "
                     f"{d['em_sharper_fraction']:.0%} of seeds")
        ok.append(d["em_sharper_fraction"] >= 2 / 3)
    claims.append(Claim(
        paper="P1: on the same outputs, exact match looks emergent while token edit distance "
              "improves smoothly with scale (Fig. 3)",
        ours="; ".join(parts) + " (emergence score = Srivastava et al. Eq. 1 on the standard "
             "test set; L* = longest L ≥ 2 where the largest model reaches EM ≥ 0.1; "
             "criterion: EM sharper in ≥ 2/3 of seeds)",
        verdict=("reproduced" if all(ok) else "mixed" if any(ok) else "not reproduced")
        if ok else "inconclusive"))
    # prediction 2
    n_std = res.cfg.test_size
    n_big = n_std * res.cfg.large_test_factor
    z, above, nonzero = p2["zero_on_standard"], p2["above_chance_on_large"], p2["nonzero_on_large"]
    claims.append(Claim(
        paper="P2: with more test data, small models' exact match is above chance where the "
              "standard test set read 0 (Fig. 4)",
        ours=f"{z} (task, L, seed, model) cells had 0/{n_std} exact matches; on {n_big} problems "
             f"{nonzero} became nonzero and {above} had a Wilson 95% lower bound above chance "
             "10^-L",
        verdict=("reproduced" if above > 0 else "not reproduced") if z else "inconclusive"))
    # prediction 3
    fits = p3["fits"]
    r2_em, r2_ted = p3["median_log_em_r2"], p3["median_ted_r2"]
    if fits:
        v = "reproduced" if r2_em >= 0.9 and r2_ted >= 0.9 else (
            "mixed" if max(r2_em, r2_ted) >= 0.9 else "not reproduced")
    else:
        v = "inconclusive"
    claims.append(Claim(
        paper="P3: as target length L grows, exact match falls geometrically and token edit "
              "distance quasi-linearly",
        ours=f"{len(fits)} models with 0.05 < EM(L=1) < 0.95: median R² of log EM vs L = "
             f"{r2_em:.3f}, of TED vs L = {r2_ted:.3f} (criterion ≥ 0.9)",
        verdict=v))
    # the model: EM ≈ exp(−L·CE), and CE falling smoothly (a power law) with size
    parts = []
    jumps = []
    for t, d in mc["per_task"].items():
        steep = sum(p["largest_step_share"] >= 0.5 for p in d["per_seed"])
        rises = sum(p["non_monotone"] for p in d["per_seed"])
        n_seeds = len(d["per_seed"])
        parts.append(f"{t}: seed-mean CE {' → '.join(f'{x:.2f}' for x in d['ce'])} nats "
                     f"(Spearman ρ with N {d['spearman_rho']:.2f}, power law α "
                     f"{d['power_law_alpha']:.2f}, R² {d['power_law_r2']:.2f}); per seed, one "
                     f"step between adjacent sizes covers ≥ half of CE's range in {steep}/"
                     f"{n_seeds} seeds and CE rises with size in {rises}/{n_seeds}")
        if steep * 3 >= 2 * n_seeds or rises * 3 >= 2 * n_seeds:
            jumps.append(t)
    good_fit = mc["pearson_r"] >= 0.9
    smooth = all(d["power_law_r2"] >= 0.9 and d["spearman_rho"] <= -0.9
                 for d in mc["per_task"].values()) and not jumps
    claims.append(Claim(
        paper="Model (§2): per-token CE falls smoothly (power law) with scale and exact match "
              "≈ exp(−L·CE_token)",
        ours=f"measured EM vs exp(−L·CE) over {mc['n_points']} (task, seed, model, L) points: "
             f"r = {mc['pearson_r']:.3f}, mean |error| = {mc['mean_abs_error']:.3f}; "
             + "; ".join(parts)
             + (f". Per-token CE itself jumps with size on {', '.join(jumps)}: that transition "
                "is in the model, not the metric, and the mirage account does not explain it"
                if jumps else ""),
        verdict="reproduced" if good_fit and smooth else "mixed" if good_fit or smooth
        else "not reproduced"))
    return claims


def run_emergence(cfg: EmergenceConfig, run) -> Outcome:
    """Run the family sweep, test the predictions, save the figures and samples."""
    from neurips23.emergence import plots

    run.log(f"emergence: {len(cfg.family)} sizes × {len(cfg.seeds)} seeds, {cfg.steps} steps")
    res = run_sweep(cfg, log=run.log)
    p1, p2, p3, mc = prediction_1(res), prediction_2(res), prediction_3(res), model_check(res)
    run.log_samples(res.samples)
    run.save_plot(plots.fig3_metric_swap(res, mc), "fig3_metric_swap")
    run.save_plot(plots.fig4_larger_test_set(res), "fig4_larger_test_set")
    run.save_plot(plots.fig_model_check(res, mc), "model_check")
    run.save_plot(plots.fig_length(res, p3), "target_length")
    claims = make_claims(res, p1, p2, p3, mc)
    table = [{"task": k[0], "seed": k[1], "model": k[2], "params": res.params[k[2]], "L": k[3],
              "test": k[4], **v} for k, v in res.table.items()]
    metrics = _finite({
        "params": res.params, "train_or_load_seconds": res.train_seconds,
        "members_from_cache": res.cached,
        "eval_seconds": res.eval_seconds, "prediction_1": p1,
        "prediction_2": {k: v for k, v in p2.items() if k != "rows"} | {
            "examples": p2["rows"][:20]},
        "prediction_3": p3, "model_check": mc, "table": table,
    })
    total = len(cfg.family) * len(cfg.seeds)
    notes = (f"{res.cached} of {total} trained models were loaded from the model cache (trained "
             "by an earlier run), so train_or_load_seconds and this run's wall time leave out "
             "their training." if res.cached else "")
    return Outcome(metrics, claims, notes)


REPRODUCTION = Reproduction(
    name="emergence", title="Are emergent abilities a mirage? (Schaeffer et al. 2023)",
    config=EmergenceConfig, profiles=PROFILES, run=run_emergence)
