"""Figures in the style of the paper's Fig. 3 (metric swap) and Fig. 4 (larger test set)."""

from __future__ import annotations

import numpy as np

from neurips23.core.stats import wilson_interval
from neurips23.emergence.mirage_model import (
    PowerLaw,
    predicted_accuracy,
    predicted_edit_distance,
)
from neurips23.emergence.sweep import SweepResult, curve, widths


def _law(per_task: dict) -> PowerLaw:
    return PowerLaw(per_task["power_law_log_c"], per_task["power_law_alpha"],
                    per_task["power_law_r2"])


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colors(n: int):
    plt = _plt()
    cmap = plt.get_cmap("viridis")
    return [cmap(i / max(1, n - 1)) for i in range(n)]


def fig3_metric_swap(res: SweepResult, model: dict):
    """Fig. 3: top row exact match, bottom row token edit distance, against parameters, one
    line per target length L; first column the paper's model fitted to our measured CE."""
    plt = _plt()
    tasks = list(widths(res).items())
    fig, axes = plt.subplots(2, len(tasks) + 1, figsize=(4.3 * (len(tasks) + 1), 7), squeeze=False)
    n = np.array([res.params[m] for m in res.cfg.family], dtype=float)
    # the mathematical model, fitted to the first task's CE at L = its width
    t0, w0 = tasks[0]
    pt = model["per_task"][t0]
    grid = np.geomspace(n.min(), n.max(), 60)
    ce_grid = _law(pt)(grid)
    for L, col in zip(range(1, w0 + 1), _colors(w0), strict=True):
        axes[0, 0].plot(grid, predicted_accuracy(ce_grid, L), color=col, label=f"L={L}")
        axes[1, 0].plot(grid, predicted_edit_distance(ce_grid, L), color=col)
    axes[0, 0].set_title(f"model: CE=(N/c)^α fitted on {t0}\nAccuracy ≈ exp(−L·CE)", fontsize=9)
    axes[1, 0].set_title("Token edit distance ≈ L(1−exp(−CE))", fontsize=9)
    axes[0, 0].legend(fontsize=7)
    for j, (task, width) in enumerate(tasks, start=1):
        for L, col in zip(range(1, width + 1), _colors(width), strict=True):
            for row, metric in ((0, "exact_match"), (1, "token_edit_distance")):
                ys = np.array([curve(res, task, s, L, metric, "standard") for s in res.cfg.seeds])
                mean = ys.mean(axis=0)
                axes[row, j].plot(n, mean, "o-", color=col, ms=3, label=f"L={L}")
                if len(res.cfg.seeds) > 1:
                    axes[row, j].fill_between(n, ys.min(axis=0), ys.max(axis=0), color=col,
                                              alpha=0.15)
        axes[0, j].set_title(f"{task}: exact match (test n={res.cfg.test_size})", fontsize=9)
        axes[1, j].set_title(f"{task}: token edit distance", fontsize=9)
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
    axes[0, 0].set_ylabel("accuracy (sharp metric)")
    axes[1, 0].set_ylabel("token edit distance (smooth metric)")
    fig.suptitle("Same outputs, two metrics (cf. Schaeffer et al. Fig. 3); band = seed range")
    fig.tight_layout()
    return fig


def fig4_larger_test_set(res: SweepResult):
    """Fig. 4: exact match on the 20× larger test set with Wilson 95% CIs (log y), chance
    10^−L dotted and the best constant answer dashed; hollow markers at the standard test
    set's resolution limit where it read 0."""
    plt = _plt()
    tasks = list(widths(res).items())
    fig, axes = plt.subplots(1, len(tasks), figsize=(5 * len(tasks), 4), squeeze=False)
    n = np.array([res.params[m] for m in res.cfg.family], dtype=float)
    seed = res.cfg.seeds[0]
    for ax, (task, width) in zip(axes[0], tasks, strict=True):
        for L, col in zip(range(1, width + 1), _colors(width), strict=True):
            big = [res.table[(task, seed, m, L, "large")] for m in res.cfg.family]
            std = [res.table[(task, seed, m, L, "standard")] for m in res.cfg.family]
            y = np.array([b["exact_match"] for b in big])
            ci = np.array([wilson_interval(b["hits"], b["n"]) for b in big])
            floor = 0.3 / big[0]["n"]
            shown = np.maximum(y, floor)
            ax.errorbar(n, shown, yerr=[shown - np.maximum(ci[:, 0], floor),
                                        np.maximum(ci[:, 1], floor) - shown],
                        fmt="o-", color=col, ms=3, capsize=2, label=f"L={L}")
            zero = [i for i, s in enumerate(std) if s["hits"] == 0]
            ax.scatter(n[zero], [1 / std[0]["n"]] * len(zero), facecolors="none",
                       edgecolors=[col], s=30)
            ax.axhline(10.0**-L, color=col, ls=":", lw=0.8)
            if (task, L, "large") in res.chance:
                ax.axhline(res.chance[(task, L, "large")], color=col, ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(0.3 / res.cfg.test_size / res.cfg.large_test_factor, 1.5)
        ax.set_xlabel("parameters")
        ax.set_ylabel("exact match")
        ax.set_title(f"{task}: n={res.cfg.test_size * res.cfg.large_test_factor} (seed {seed});"
                     f"\nhollow = 0 of {res.cfg.test_size}; dotted = 10^-L, dashed = best constant",
                     fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle("More test data resolves small models' accuracy (cf. Fig. 4)")
    fig.tight_layout()
    return fig


def fig_model_check(res: SweepResult, model: dict):
    """Measured exact match vs exp(−L·CE_token), and CE against parameters with its power law."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    n = np.array([res.params[m] for m in res.cfg.family], dtype=float)
    for (task, width), marker in zip(widths(res).items(), "os^v", strict=False):
        for L, col in zip(range(1, width + 1), _colors(width), strict=True):
            pts = [(np.exp(-L * v["per_token_ce"]), v["exact_match"])
                   for k, v in res.table.items() if k[0] == task and k[3] == L and k[4] == "large"]
            x, y = zip(*pts, strict=True)
            a.scatter(x, y, color=col, marker=marker, s=12,
                      label=f"{task} L={L}" if L in (1, width) else None)
        pt = model["per_task"][task]
        b.plot(n, pt["ce"], marker, label=f"{task} (mean over seeds)")
        grid = np.geomspace(n.min(), n.max(), 50)
        b.plot(grid, _law(pt)(grid), "--",
               label=f"fit α={pt['power_law_alpha']:.2f}, R²={pt['power_law_r2']:.2f}")
    a.plot([0, 1], [0, 1], "k--", lw=0.8)
    a.set_xlabel("exp(−L · CE_token) (paper's model)")
    a.set_ylabel("measured exact match")
    a.set_title(f"r={model['pearson_r']:.3f}, mean |err|={model['mean_abs_error']:.3f}",
                fontsize=9)
    a.legend(fontsize=6)
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("parameters")
    b.set_ylabel("per-token CE (nats, full answer)")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_length(res: SweepResult, fits: list[dict]):
    """Prediction 3: exact match (log y) and edit distance against target length L, for the
    models the claim fits."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for f, col in zip(fits, _colors(len(fits)), strict=True):
        lengths = np.arange(1, len(f["em"]) + 1)
        lab = f"{f['task']} {f['model']} s{f['seed']}"
        a.plot(lengths, f["em"], "o-", color=col, ms=3, label=lab)
        b.plot(lengths, f["ted"], "o-", color=col, ms=3)
    a.set_yscale("log")
    a.set_xlabel("target length L")
    a.set_ylabel("exact match (log)")
    a.set_title(f"exact match against L ({len(fits)} fitted models)", fontsize=9)
    b.set_xlabel("target length L")
    b.set_ylabel("token edit distance")
    b.set_title("token edit distance against L", fontsize=9)
    if fits:
        a.legend(fontsize=6)
    fig.tight_layout()
    return fig
