"""Result tables and plots of the reproduction, from the per-seed results."""

from __future__ import annotations

import math
from typing import Any

from neurips23.toolformer.config import ToolformerConfig

ARM_NAMES = {"base": "base (pretrained + seeds)", "plus_c": "+C (no calls)",
             "toolformer_disabled": "Toolformer, calls disabled", "toolformer": "Toolformer",
             "unfiltered": "unfiltered C*", "seeds_only": "seeds only"}
PAPER_ASDIV = {"base": "7.5 (GPT-J)", "plus_c": "9.6", "toolformer_disabled": "14.8",
               "toolformer": "40.4", "unfiltered": "", "seeds_only": ""}
PAPER_TABLE2 = {"Calculator": {"0.5": 3680, "1.0": 994, "2.0": 138},
                "Calendar": {"0.5": 61811, "1.0": 20587, "2.0": 3007}}


def _ci(values: list[float]) -> str:
    from neurips23.core.stats import t_interval

    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return "n/a"
    mean, lo, hi = t_interval(vals)
    if math.isnan(lo):
        return f"{mean:.3f}"
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def _mean(values: list[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return sum(vals) / len(vals) if vals else float("nan")


def tables(cfg: ToolformerConfig, results: list[dict], stage: dict | None) -> dict[str, list]:
    """Accuracy per arm, the filter per tool, kept counts against τ_f, the pretrained stage."""
    out: dict[str, list[dict[str, Any]]] = {}
    out["held-out accuracy per arm (mean [95% t-interval] over seeds)"] = [
        {"arm": ARM_NAMES[arm],
         "arithmetic": _ci([r["accuracy"][arm] for r in results]),
         "weekday": _ci([r["weekday"][arm] for r in results]),
         "questions with a call": f"{_mean([r['call_rate'][arm] for r in results]):.2f}",
         "paper ASDiv (GPT-J 6.7B)": PAPER_ASDIV[arm]}
        for arm in results[0]["accuracy"]]
    other = "inline" if cfg.placement == "prefix" else "prefix"
    rows = []
    for tool in results[0]["annotation"]["tools"]:
        per = [r["annotation"]["tools"][tool] for r in results]
        alt = [r["annotation"][f"{other}_placement"]["tools"][tool] for r in results]
        rows.append({"tool": tool, "τ_f": per[0]["tau_f"],
                     "sampled": _mean([p["sampled"] for p in per]),
                     "executed": _mean([p["executed"] for p in per]),
                     "helpful": _mean([p["helpful"] for p in per]),
                     "kept": _mean([p["kept"] for p in per]),
                     "precision kept": _ci([p["precision_kept"] for p in per]),
                     "precision all": _ci([p["precision_all"] for p in per]),
                     f"AUROC ({cfg.placement})": _ci([p["auroc"] for p in per]),
                     f"AUROC ({other})": _ci([p["auroc"] for p in alt])})
    out["the filter per tool (means over seeds)"] = rows
    out["kept calls against τ_f (Table 2 shape; paper counts on CCNet beside ours)"] = [
        {"tool": tool, **{f"τ_f={t:g}": _mean([r["annotation"]["tools"][tool]["kept_by_tau"][str(t)]
                                               for r in results]) for t in cfg.tau_f_sweep},
         "paper 0.5 / 1.0 / 2.0": " / ".join(str(v) for v in PAPER_TABLE2.get(tool, {}).values())}
        for tool in results[0]["annotation"]["tools"]]
    out["plain-text perplexity per token, calls disabled (paper Table 8: unchanged)"] = [
        {"arm": ARM_NAMES[arm], "perplexity": _ci([r["perplexity"][arm] for r in results])}
        for arm in results[0]["perplexity"]]
    if stage:
        out[f"annotation by {stage['model']} with the paper's prompts (no seeding)"] = [
            {"tool": tool, **{k: v for k, v in t.items()}} for tool, t in stage["tools"].items()]
    return out


def plots(cfg: ToolformerConfig, results: list[dict]) -> dict[str, Any]:
    """Accuracy per arm, kept calls against τ_f."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(results[0]["accuracy"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, title in ((axes[0], "accuracy", "held-out arithmetic"),
                           (axes[1], "weekday", "held-out weekday")):
        means = [_mean([r[key][a] for r in results]) for a in arms]
        for j, a in enumerate(arms):
            ax.scatter([j] * len(results), [r[key][a] for r in results], color="k", s=8, zorder=3)
        ax.bar(range(len(arms)), means, color="#8ab")
        ax.set_xticks(range(len(arms)), [ARM_NAMES[a] for a in arms], rotation=30, ha="right",
                      fontsize=7)
        ax.set(ylim=(0, 1), ylabel="accuracy", title=title)
    fig.tight_layout()
    fig2, ax = plt.subplots(figsize=(5, 3.4))
    for tool in results[0]["annotation"]["tools"]:
        ys = [_mean([r["annotation"]["tools"][tool]["kept_by_tau"][str(t)] for r in results])
              for t in cfg.tau_f_sweep]
        ax.plot(cfg.tau_f_sweep, ys, marker="o", label=tool)
    ax.set(xlabel="τ_f", ylabel="kept calls (mean over seeds)", yscale="symlog",
           title="kept calls against the filter threshold")
    ax.legend()
    fig2.tight_layout()
    return {"accuracy_per_arm": fig, "kept_vs_tau_f": fig2}
