"""`neurips23 reproduce tot`: ToT against IO, CoT and CoT-SC on Game of 24 (paper §4.1, Table 2)
with one tiny model trained from scratch in the paper's formats, under a strict hold-out of
every test sub-state (the settings and profiles: `tot.config`; the arms: `tot.arms`).

Three ways to score a ToT search, each labelled where it is reported:
- top-1: the single highest-valued final (no checker of any kind; our primary metric);
- the authors' pick: the first final whose answer uses the input numbers (a format-and-numbers
  filter; how the paper's 74% was computed, `game24.authors_pick`);
- any-of-b: some final is correct (needs a correctness checker; compared with best-of-k).
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from neurips23.core.claims import Claim, Rule, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.core.stats import bootstrap_ci, mcnemar_p, t_interval
from neurips23.tot.config import PROFILES, ToTConfig

LABELS = {  # how each success figure is scored, shown beside it
    "io_pass1": "pass@1 (mean over IO samples)", "cot_pass1": "pass@1 (mean over CoT samples)",
    "cot_sc_matched": "majority answer, k matched to ToT's tokens",
    "cot_sc_all": "majority answer, all k samples",
    "tot_b1_top1": "top-1 (no checker)", "tot_b5_top1": "top-1 (no checker)",
    "tot_b5_random_values_top1": "top-1 (no checker)",
    "tot_b5_authors_pick": "the authors' pick: first final whose answer uses the numbers",
    "cot_authors_pick_matched": "the authors' pick over the first k (matched) samples",
    "tot_b5_any_of_5": "any of the 5 finals (needs a correctness checker)",
    "cot_best_of_matched": "any of the first k (matched) samples (needs a checker)",
    "io_best_of_k": "any IO sample (needs a checker)", "cot_best_of_k": "any CoT sample "
    "(needs a checker)",
}


# ------------------------------------------------------------------------------ success per arm
def _majority_correct(r: dict, k: int) -> bool:
    """CoT-SC with the first k samples: is the most frequent answer line correct?"""
    keys = ["".join(a.lower().replace("answer:", "").split("=")[0].split())
            for a in r["answer_keys"][:k]]
    top = Counter(keys).most_common(1)[0][0]
    return bool(r["sample_correct"][keys.index(top)])


def _first_using_numbers(r: dict, k: int) -> bool:
    """The authors' pick applied to CoT: the first of k samples whose answer uses the numbers."""
    i = next((i for i, ok in enumerate(r["sample_uses_numbers"][:k]) if ok), None)
    return i is not None and bool(r["sample_correct"][i])


def matched_k(cfg: ToTConfig, cost: dict[str, dict[str, float]]) -> tuple[int, int]:
    """(k used, k needed): CoT samples with the tokens of one ToT b=5 search; the first is
    clamped to k_samples, the second is not (the matched comparison needs k needed <= k)."""
    tot = cost["tot_b5"]["prompt_tokens"] + cost["tot_b5"]["completion_tokens"]
    per_sample = (cost["cot"]["prompt_tokens"] + cost["cot"]["completion_tokens"]) / cfg.k_samples
    needed = max(1, round(tot / max(per_sample, 1e-9)))
    return min(cfg.k_samples, needed), needed


def success_vectors(cfg: ToTConfig, rows: list[dict]) -> tuple[dict[str, list[float]], dict]:
    """Per puzzle-run success of every arm (same order in every vector) and the cost facts."""
    by: dict[str, dict[tuple[int, str], dict]] = {}
    for r in rows:
        by.setdefault(r["method"], {})[(r["seed"], r["puzzle"])] = r
    keys = sorted(by["tot_b5"])

    def col(method: str, f) -> list[float]:
        return [float(f(by[method][key])) for key in keys]

    cost = {m: {f: sum(col(m, lambda r, f=f: r[f])) / len(keys)
                for f in ("calls", "prompt_tokens", "completion_tokens")} for m in by}
    km, needed = matched_k(cfg, cost)

    def pick(r: dict) -> bool:
        return r["authors_pick"] is not None and r["finals_correct"][r["authors_pick"]]

    v = {
        "io_pass1": col("io", lambda r: sum(r["sample_correct"]) / cfg.k_io),
        "cot_pass1": col("cot", lambda r: sum(r["sample_correct"]) / cfg.k_samples),
        "cot_sc_matched": col("cot", lambda r: _majority_correct(r, km)),
        "cot_sc_all": col("cot", lambda r: _majority_correct(r, cfg.k_samples)),
        "tot_b1_top1": col("tot_b1", lambda r: r["correct"]),
        "tot_b5_top1": col("tot_b5", lambda r: r["correct"]),
        "tot_b5_random_values_top1": col("tot_b5_random_values", lambda r: r["correct"]),
        "tot_b5_authors_pick": col("tot_b5", pick),
        "cot_authors_pick_matched": col("cot", lambda r: _first_using_numbers(r, km)),
        "tot_b5_any_of_5": col("tot_b5", lambda r: any(r["finals_correct"])),
        "cot_best_of_matched": col("cot", lambda r: any(r["sample_correct"][:km])),
        "io_best_of_k": col("io", lambda r: any(r["sample_correct"])),
        "cot_best_of_k": col("cot", lambda r: any(r["sample_correct"])),
    }
    steps = [int(x) for x in col("tot_b5", lambda r: r["fail_step"])]
    facts = {"k_matched_tokens": km, "k_needed_for_tokens": needed, "cost": cost,
             "tot_b5_fail_step_counts": {str(s): steps.count(s) for s in sorted(set(steps))}}
    return v, facts


# ------------------------------------------------------------------------------ the claims
COMPARISONS = {  # claim key -> (arm, baseline arm, rule field)
    "tot_vs_cot_sc": ("tot_b5_top1", "cot_sc_matched", "beats_cot_sc"),
    "authors_pick_vs_cot_sc": ("tot_b5_authors_pick", "cot_sc_matched", "beats_cot_sc"),
    "authors_pick_vs_cot_same_pick": ("tot_b5_authors_pick", "cot_authors_pick_matched",
                                      "beats_cot_sc"),
    "b5_vs_b1": ("tot_b5_top1", "tot_b1_top1", "wider_helps"),
    "values_vs_random": ("tot_b5_top1", "tot_b5_random_values_top1", "values_help"),
    "any_of_5_vs_best_of_k": ("tot_b5_any_of_5", "cot_best_of_matched", "beats_best_of_k"),
}

PAPER = {
    "tot_vs_cot_sc": "ToT (b=5) beats CoT-SC at matched compute (Table 2: ToT 74% vs CoT-SC "
                     "k=100 9%); scored top-1, no checker",
    "authors_pick_vs_cot_sc": "Table 2 as the authors scored it: ToT's first final whose answer "
                              "uses the input numbers (74%) vs CoT-SC (9%)",
    "authors_pick_vs_cot_same_pick": "Control for the authors' pick: the same filter on CoT's "
                                     "samples (first whose answer uses the numbers), matched "
                                     "tokens",
    "b5_vs_b1": "Wider search helps: ToT b=5 beats b=1 (Table 2: 74% vs 45%)",
    "values_vs_random": "The LM's own state evaluation drives the search (ablation: random "
                        "values)",
    "any_of_5_vs_best_of_k": "Secondary, needs a verifier: ToT any-of-5 vs CoT best-of-k at "
                             "matched compute (Fig. 3a; repo log: 69% vs best-of-100 49%)",
}


def paired_difference(a: list[float], b: list[float], rule: Rule, n_boot: int) -> dict[str, Any]:
    """Mean of a - b over puzzle-runs, its bootstrap interval at the rule's confidence, and the
    exact McNemar p-value."""
    est, lo, hi = bootstrap_ci([x - y for x, y in zip(a, b, strict=True)],
                               lambda d: sum(d) / len(d), n_boot, confidence=rule.confidence)
    return {"diff": est, "ci": [lo, hi], "n": len(a),
            "mcnemar_p": mcnemar_p([x > 0.5 for x in a], [y > 0.5 for y in b])}


def tot_claims(cfg: ToTConfig, v: dict[str, list[float]], facts: dict[str, Any],
               auroc_3: list[float]) -> tuple[list[Claim], dict[str, Any]]:
    """Every claim of the reproduction decided by its rule in `cfg`, and the differences."""
    cot_pass1 = sum(v["cot_pass1"]) / max(1, len(v["cot_pass1"]))
    learned = (f"the model learned the task alone: CoT pass@1 {cot_pass1:.1%} >= "
               f"{cfg.learned_min:.0%}", cot_pass1 >= cfg.learned_min)
    km, needed = facts["k_matched_tokens"], facts["k_needed_for_tokens"]
    budget = (f"CoT had ToT's token budget: {needed} samples needed <= k_samples "
              f"{cfg.k_samples}", needed <= cfg.k_samples)
    claims, diffs = [], {}
    for key, (arm, base, rule_name) in COMPARISONS.items():
        rule = getattr(cfg, rule_name)
        d = paired_difference(v[arm], v[base], rule, cfg.n_boot)
        diffs[key] = d
        pre = [learned] if rule_name in ("wider_helps", "values_help") else [learned, budget]
        mean = lambda name: sum(v[name]) / max(1, len(v[name]))  # noqa: E731
        ours = (f"{arm} {mean(arm):.1%} vs {base} {mean(base):.1%}"
                f"{f' (k={km})' if 'matched' in base else ''}; difference {d['diff']:+.3f} "
                f"[{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}], McNemar p={d['mcnemar_p']:.3g}, "
                f"n={d['n']} puzzle-runs")
        claims.append(measured_claim(PAPER[key], f"success({arm}) - success({base})", d["diff"],
                                     d["ci"], rule, n=d["n"], ours=ours, preconditions=pre))
    rule = cfg.evaluator_auroc
    mean, lo, hi = t_interval(auroc_3, rule.confidence)
    per_seed = ", ".join(f"{a:.3f}" for a in auroc_3)
    interval = f"t interval [{lo:.3f}, {hi:.3f}]" if len(auroc_3) > 1 else "no interval"
    claims.append(measured_claim(
        "The value prompt discriminates good from bad states (pass mark: AUROC above 0.75 on "
        "held-out 3-number states)", "AUROC on held-out 3-number states, mean over seeds",
        mean, (lo, hi), rule, n=len(auroc_3),
        ours=f"AUROC {mean:.3f} (seeds: {per_seed}), {interval}, n={len(auroc_3)} seeds"))
    return claims, diffs


# ------------------------------------------------------------------------------ the summary
def summarize(cfg: ToTConfig, rows: list[dict], infos: list[dict]
              ) -> tuple[dict[str, Any], list[Claim], dict[str, list[dict]]]:
    """Metrics, claims and result tables from every seed's rows."""
    v, facts = success_vectors(cfg, rows)
    claims, diffs = tot_claims(cfg, v, facts, [i["auroc_heldout_3"] for i in infos])
    success = {}
    for name, xs in v.items():
        est, lo, hi = bootstrap_ci(xs, lambda d: sum(d) / len(d), cfg.n_boot)
        success[name] = {"mean": round(est, 4), "ci95": [round(lo, 4), round(hi, 4)],
                         "scored": LABELS[name]}
    m: dict[str, Any] = {
        "n_puzzles": len(v["tot_b5_top1"]), "seeds": cfg.seeds, "holdout": cfg.holdout,
        "k_samples": cfg.k_samples, "k_matched_tokens": facts["k_matched_tokens"],
        "k_needed_for_tokens": facts["k_needed_for_tokens"], "success": success,
        "differences": {k: {"diff": round(d["diff"], 4), "ci": [round(x, 4) for x in d["ci"]],
                            "mcnemar_p": round(d["mcnemar_p"], 4)} for k, d in diffs.items()},
        "cost_per_puzzle": {m: {f: round(x, 1) for f, x in c.items()}
                            for m, c in facts["cost"].items()},
        "tot_b5_fail_step_counts": facts["tot_b5_fail_step_counts"],
        "auroc_heldout_3": [i["auroc_heldout_3"] for i in infos],
        "auroc_heldout_2": [i["auroc_heldout_2"] for i in infos], "per_seed": infos,
    }
    tables = {
        "success per arm (95% bootstrap CI over puzzle-runs)": [
            {"arm": name, "scored as": LABELS[name], "success": s["mean"],
             "95% CI": f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]"} for name, s in success.items()],
        "cost per puzzle": [{"arm": name, **c} for name, c in m["cost_per_puzzle"].items()],
    }
    return m, claims, tables


def plot_success(m: dict[str, Any]):
    """Bar chart of success (95% CI) per arm; gray bars need a correctness checker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = m["success"]
    names = list(s)
    means = [100 * s[n]["mean"] for n in names]
    err = [[100 * (s[n]["mean"] - s[n]["ci95"][0]) for n in names],
           [100 * (s[n]["ci95"][1] - s[n]["mean"]) for n in names]]
    colors = ["tab:gray" if "best_of" in n or "any_of" in n else "tab:orange" if "pick" in n
              else "tab:green" if n.startswith("tot") else "tab:blue" for n in names]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(range(len(names)), means, yerr=err, color=colors, capsize=3)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("success (%)")
    ax.set_title(f"Game of 24, tiny model, {m['holdout']} hold-out ({m['n_puzzles']} "
                 "puzzle-runs); orange = the authors' pick, gray = needs a checker", fontsize=9)
    return fig


def run_notes(holdout: str, quick: bool) -> str:
    """The run record's note: which hold-out, and what a quick run can show."""
    regime = ("strict hold-out: every test sub-state with >=2 numbers removed from propose/value "
              "training" if holdout == "strict" else "hold-out of the test puzzles only: the "
              "evaluator may have seen test sub-states from other puzzles (leaky regime)")
    note = f"Tiny char-level model trained from scratch; {regime}."
    if quick:
        note += " Quick profile: too small for the model to learn the task; tests the code path."
    return note


def seed_line(info: dict[str, Any]) -> str:
    """The console line of a finished seed: its evaluator AUROCs and time, rounded."""
    from neurips23.utils import readable_value

    parts = [f"{k}: {readable_value(v)}" for k, v in info.items()
             if k not in ("seed", "model", "seconds")]
    line = f"seed {info.get('seed')} results: " + ", ".join(parts)
    if "seconds" in info:
        line += f" ({info['seconds']:.0f}s)"
    return line


def run_tot(cfg: ToTConfig, run: Any) -> Outcome:
    """Every seed (in `workers` processes): rows to samples.jsonl, pooled summary, plot, claims;
    with source=released, the authors' logs re-scored instead (`tot.released_logs`)."""
    if cfg.source == "released":
        from neurips23.tot.released_logs import run_released

        return run_released(cfg, run)
    from neurips23.core.parallel import map_units
    from neurips23.tot.arms import run_seed

    rows: list[dict] = []
    infos = []
    for seed_rows, info in map_units(functools.partial(run_seed, cfg, log=run.log), cfg.seeds,
                                     cfg.workers, log=run.log):
        run.log(seed_line(info))
        run.log_samples(seed_rows)
        rows += seed_rows
        infos.append(info)
    metrics, claims, tables = summarize(cfg, rows, infos)
    run.save_plot(plot_success(metrics), "success")
    return Outcome(metrics, claims, notes=run_notes(cfg.holdout, not run.finding),
                   tables=tables)


REPRODUCTION = Reproduction(name="tot", title="Tree of Thoughts (Yao et al. 2023): Game of 24",
                            config=ToTConfig, profiles=PROFILES, run=run_tot,
                            finding_profiles=("full", "released"))
