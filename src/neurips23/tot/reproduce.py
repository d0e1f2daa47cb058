"""`neurips23 reproduce tot`: a tiny model trained from scratch in the paper's Game of 24
formats acts as proposer, evaluator and IO/CoT sampler; ToT (b=1, 5) against IO, CoT and
CoT-SC on the same checkpoint, under a strict hold-out of every test sub-state.

Primary metric: top-1 success (the single highest-valued ToT final / the CoT-SC majority
answer; no ground-truth checker in the loop). Secondary: any-of-b against best-of-k.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from neurips23.core.cli_config import param
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.core.stats import auroc, mcnemar_p, mean_ci, paired_diff_ci
from neurips23.tot.data import ALPHABET, build_examples, fmt, held_out_states, split_puzzles
from neurips23.tot.game24 import Game24Task, int_solvable, puzzles
from neurips23.tot.game24.prompts import value_prompt
from neurips23.tot.meter import Meter
from neurips23.tot.search import BFSConfig, bfs, sample_baseline

MIXTURE = {"propose": 0.35, "value": 0.30, "cot": 0.15, "io": 0.07, "judge": 0.13}
"""Share of each example type in the training set."""

DATA_VERSION = "tot-game24-v1"


@dataclass
class ToTConfig:
    """Settings of `neurips23 reproduce tot` (PROFILES below give quick and full)."""

    seeds: list[int] = param([0, 1, 2], "Seeds: one model and one test split each.")
    n_test: int = param(300, "Test puzzles per seed (integer-solvable, never trained on).")
    holdout: Literal["strict", "puzzles"] = param(
        "strict", "strict: every test sub-state of >=2 numbers is held out of propose/value "
        "training; puzzles: only the test puzzles (the leaky regime).")
    model_size: str = param("mini", "Tiny model size (nano, micro, mini, small).")
    train_steps: int = param(3000, "Training steps.")
    batch_size: int = param(128, "Training batch size.")
    lr: float = param(2e-3, "Peak learning rate.")
    n_examples: int = param(60000, "Training examples (mixture of propose/value/cot/io/judge).")
    propose_lines: int = param(8, "Random legal moves per propose target.")
    k_samples: int = param(50, "CoT samples per puzzle (CoT-SC, best-of-k).")
    k_io: int = param(20, "IO samples per puzzle.")
    n_evaluate: int = param(3, "Value samples per state (the paper's 3).")
    temperature: float = param(0.7, "Sampling temperature (the paper's 0.7).")
    max_tokens: int = param(240, "Most tokens per proposal.")
    sample_max_tokens: int = param(160, "Most tokens per IO/CoT sample.")
    value_max_tokens: int = param(12, "Most tokens per value sample.")
    gen_batch_size: int = param(1024, "Sequences per forward pass.")
    auroc_states: int = param(600, "Held-out states scored for the evaluator's AUROC.")
    n_boot: int = param(2000, "Bootstrap resamples for intervals.")
    device: str = param("", "cpu | cuda (default: cuda when available).")
    workers: int = param(1, "Seeds run in parallel processes.")


PROFILES: dict[str, dict[str, Any]] = {
    "quick": dict(seeds=[0], n_test=12, model_size="nano", train_steps=40, batch_size=32,
                  lr=5e-3, n_examples=2000, k_samples=8, k_io=4, gen_batch_size=128,
                  auroc_states=200, n_boot=500),
    "full": {"workers": 3},
}


# ------------------------------------------------------------------------------ the model
def data_key(cfg: ToTConfig, seed: int) -> dict[str, Any]:
    """Everything about the training data that the cached model depends on."""
    keys = ("n_test", "holdout", "n_examples", "propose_lines")
    return {"method": "tot", "version": DATA_VERSION, "seed": seed,
            **{k: getattr(cfg, k) for k in keys}}


def get_model(cfg: ToTConfig, seed: int, progress: bool = True) -> tuple[Any, Any, Path]:
    """The tiny proposer/evaluator for `seed`, trained once and cached (`lm.tiny`)."""
    from neurips23.lm.models import load_model
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import TrainConfig

    def data():
        test, train = split_puzzles(candidate_puzzles(), cfg.n_test, seed)
        counts = {k: int(v * cfg.n_examples) for k, v in MIXTURE.items()}
        return build_char_tokenizer(ALPHABET), build_examples(
            train, held_out_states(test, cfg.holdout), seed, counts, cfg.propose_lines)

    train = TrainConfig(steps=cfg.train_steps, batch_size=cfg.batch_size, lr=cfg.lr,
                        warmup_ratio=0.05, schedule="cosine", seed=seed, max_length=300,
                        log_every=50)
    path = cached_tiny_lm(data_key(cfg, seed), data, cfg.model_size, train, progress=progress)
    model, tok = load_model(path, device=cfg.device or _auto_device())
    return model, tok, path


def _auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def candidate_puzzles() -> list[tuple[int, ...]]:
    """Test candidates: puzzles solvable with integer steps (as all 100 of the paper's are)."""
    return [p for p in puzzles() if int_solvable(p)]


# ------------------------------------------------------------------------------ evaluation
def evaluator_auroc(backend: Any, states: Sequence[tuple[int, ...]]) -> float:
    """AUROC of log p(sure) - log p(impossible) against exact solvability of `states`."""
    prompts = [value_prompt(fmt(s), False) for s in states]
    sure = backend.score(prompts, ["sure"] * len(prompts))
    imp = backend.score(prompts, ["impossible"] * len(prompts))
    scores = [a.logprob - b.logprob for a, b in zip(sure, imp, strict=True)]
    return auroc(scores, [int_solvable(s) for s in states])


def run_seed(cfg: ToTConfig, seed: int, log: Any = print) -> tuple[list[dict], dict]:
    """Train (or load) the model for `seed` and run every method on its test puzzles."""
    import random

    from neurips23.lm.backends.hf import HFBackend
    from neurips23.utils import seed_everything

    seed_everything(seed)
    t0 = time.time()
    model, tok, path = get_model(cfg, seed)
    log(f"seed {seed}: model {path.name} ready in {time.time() - t0:.0f}s")
    test, _ = split_puzzles(candidate_puzzles(), cfg.n_test, seed)
    xs = [fmt(p) for p in test]
    task = Game24Task(few_shot=False)
    backend = HFBackend(model, tok, name=f"tot-tiny-{seed}", batch_size=cfg.gen_batch_size)
    rows: list[dict] = []
    info: dict[str, Any] = {"seed": seed, "model": path.name}

    def add(method: str, results: list[Any], top, extra=lambda r: {}) -> None:
        for x, r in zip(xs, results, strict=True):
            answer = top(r)
            rows.append({"seed": seed, "puzzle": x, "method": method, "answer": answer,
                         "correct": task.is_correct(x, answer), **r.cost.as_dict(), **extra(r)})

    for name, cot, k in (("io", False, cfg.k_io), ("cot", True, cfg.k_samples)):
        t = time.time()
        meter = Meter(backend)
        res = sample_baseline(task, backend, xs, k, cot=cot,
                              temperature=cfg.temperature, max_tokens=cfg.sample_max_tokens,
                              seed=seed, meter=meter)
        add(name, res, lambda r: r.samples[0],
            lambda r: {"sample_correct": r.correct,
                       "answer_keys": [s.strip().split("\n")[-1] for s in r.samples]})
        log(f"seed {seed}: {name} x{k} in {time.time() - t:.0f}s")
    for name, bcfg in (
        ("tot_b1", BFSConfig(n_select=1)),
        ("tot_b5", BFSConfig(n_select=5)),
        ("tot_b5_random_values", BFSConfig(n_select=5, evaluate="random")),
    ):
        t = time.time()
        bcfg.n_evaluate, bcfg.temperature, bcfg.seed = cfg.n_evaluate, cfg.temperature, seed
        bcfg.max_tokens, bcfg.value_max_tokens = cfg.max_tokens, cfg.value_max_tokens
        res = bfs(task, backend, xs, bcfg, meter=Meter(backend))
        add(name, res, lambda r: r.top,
            lambda r: {"finals_correct": [task.is_correct(r.x, y) for y in r.finals],
                       "fail_step": fail_step(r)})
        log(f"seed {seed}: {name} in {time.time() - t:.0f}s")
    rng = random.Random(seed)
    held = sorted(s for s in held_out_states(test, "strict") if len(s) == 3)
    sample = rng.sample(held, min(cfg.auroc_states, len(held)))
    info["auroc_heldout_3"] = evaluator_auroc(backend, sample)
    held2 = sorted(s for s in held_out_states(test, "strict") if len(s) == 2)
    info["auroc_heldout_2"] = evaluator_auroc(backend, rng.sample(held2, min(cfg.auroc_states,
                                                                             len(held2))))
    info["seconds"] = round(time.time() - t0, 1)
    return rows, info


def fail_step(result: Any) -> int:
    """First BFS step after which no kept state can still reach 24 (4 = none failed)."""

    from neurips23.tot.game24.solver import solvable
    from neurips23.tot.game24.task import current_numbers, parse_left_number

    for t in result.trace:
        ok = False
        for y in t.selected:
            if "left: " not in y.strip().split("\n")[-1]:
                ok = ok or Game24Task().is_correct(result.x, y)
                continue
            try:
                nums = [parse_left_number(v) for v in current_numbers(result.x, y).split()]
            except (ValueError, ZeroDivisionError):
                continue
            ok = ok or (0 < len(nums) <= 4 and solvable(nums))
        if not ok:
            return t.step
    return len(result.trace)


# ------------------------------------------------------------------------------ summary
def cot_sc(rows: list[dict], k: int) -> dict[tuple[int, str], bool]:
    """CoT-SC top-1 with the first k samples: the majority answer line is correct?"""
    from collections import Counter

    out = {}
    for r in rows:
        if r["method"] != "cot":
            continue
        keys = ["".join(a.lower().replace("answer:", "").split("=")[0].split())
                for a in r["answer_keys"][:k]]
        top = Counter(keys).most_common(1)[0][0]
        out[(r["seed"], r["puzzle"])] = r["sample_correct"][keys.index(top)]
    return out


def summarize(cfg: ToTConfig, rows: list[dict], infos: list[dict]) -> dict[str, Any]:
    """Pooled metrics over seeds x puzzles, with bootstrap CIs and matched-compute CoT-SC."""
    by: dict[str, dict[tuple[int, str], dict]] = {}
    for r in rows:
        by.setdefault(r["method"], {})[(r["seed"], r["puzzle"])] = r
    keys = sorted(by["tot_b5"])

    def col(method: str, f) -> list[float]:
        return [float(f(by[method][k])) for k in keys]

    def per_puzzle(method: str, field_: str) -> float:
        vals = col(method, lambda r: r[field_])
        return sum(vals) / len(vals)

    k = cfg.k_samples
    cot_tokens_per_sample = per_puzzle("cot", "completion_tokens") / k
    tot_tokens = per_puzzle("tot_b5", "completion_tokens") + per_puzzle("tot_b5", "prompt_tokens")
    cot_total_per_sample = (per_puzzle("cot", "completion_tokens")
                            + per_puzzle("cot", "prompt_tokens")) / k
    k_match = max(1, min(k, round(tot_tokens / max(cot_total_per_sample, 1e-9))))
    sc_full, sc_match = cot_sc(rows, k), cot_sc(rows, k_match)
    m: dict[str, Any] = {"n_puzzles": len(keys), "seeds": cfg.seeds, "holdout": cfg.holdout,
                         "k_samples": k,
                         "k_matched_tokens": k_match,
                         "cot_completion_tokens_per_sample": round(cot_tokens_per_sample, 1)}
    success = {
        "io_pass1": col("io", lambda r: sum(r["sample_correct"]) / cfg.k_io),
        "cot_pass1": col("cot", lambda r: sum(r["sample_correct"]) / k),
        f"cot_sc_k{k}": [float(sc_full[key]) for key in keys],
        "cot_sc_matched": [float(sc_match[key]) for key in keys],
        "tot_b1_top1": col("tot_b1", lambda r: r["correct"]),
        "tot_b5_top1": col("tot_b5", lambda r: r["correct"]),
        "tot_b5_random_values_top1": col("tot_b5_random_values", lambda r: r["correct"]),
        f"io_best_of_{cfg.k_io}": col("io", lambda r: any(r["sample_correct"])),
        f"cot_best_of_{k}": col("cot", lambda r: any(r["sample_correct"])),
        "cot_best_of_matched": col("cot", lambda r: any(r["sample_correct"][:k_match])),
        "tot_b5_any_of_5": col("tot_b5", lambda r: any(r["finals_correct"])),
    }
    m["success"] = {name: _ci(v, cfg.n_boot) for name, v in success.items()}
    for method in ("io", "cot", "tot_b1", "tot_b5", "tot_b5_random_values"):
        m[f"cost_{method}"] = {f: round(per_puzzle(method, f), 1)
                               for f in ("calls", "prompt_tokens", "completion_tokens")}
    m["tot_b5_vs_cot_sc_matched"] = _diff(success["tot_b5_top1"], success["cot_sc_matched"],
                                          cfg.n_boot)
    m[f"tot_b5_vs_cot_sc_k{k}"] = _diff(success["tot_b5_top1"], success[f"cot_sc_k{k}"],
                                        cfg.n_boot)
    m["tot_b5_vs_random_values"] = _diff(success["tot_b5_top1"],
                                         success["tot_b5_random_values_top1"], cfg.n_boot)
    m["tot_b5_vs_b1"] = _diff(success["tot_b5_top1"], success["tot_b1_top1"], cfg.n_boot)
    m["any_of_5_vs_cot_best_of_matched"] = _diff(success["tot_b5_any_of_5"],
                                                 success["cot_best_of_matched"], cfg.n_boot)
    steps = [int(v) for v in col("tot_b5", lambda r: r["fail_step"])]
    m["tot_b5_fail_step_counts"] = {str(s): steps.count(s) for s in sorted(set(steps))}
    m["auroc_heldout_3"] = _ci([i["auroc_heldout_3"] for i in infos], cfg.n_boot)
    m["auroc_heldout_2"] = _ci([i["auroc_heldout_2"] for i in infos], cfg.n_boot)
    m["per_seed"] = infos
    return m


def _ci(xs: list[float], n_boot: int) -> dict[str, float]:
    mean, lo, hi = mean_ci(xs, n_boot)
    return {"mean": round(mean, 4), "ci95": [round(lo, 4), round(hi, 4)]}


def _diff(a: list[float], b: list[float], n_boot: int) -> dict[str, Any]:
    mean, lo, hi = paired_diff_ci(a, b, n_boot)
    return {"diff": round(mean, 4), "ci95": [round(lo, 4), round(hi, 4)],
            "mcnemar_p": round(mcnemar_p([x > 0.5 for x in a], [y > 0.5 for y in b]), 4)}


def verdict(diff: dict[str, Any]) -> str:
    """reproduced if the 95% CI of the difference is above 0, not reproduced if below; a CI that
    touches 0 (including the degenerate [0, 0] of two arms that never succeed) is inconclusive."""
    lo, hi = diff["ci95"]
    return "reproduced" if lo > 0 else "not reproduced" if hi < 0 else "inconclusive"


# ------------------------------------------------------------------------------ the run
def claims_from(m: dict[str, Any]) -> list[Any]:
    """The paper's claims beside our figures."""
    from neurips23.core.claims import Claim

    s = m["success"]
    k, km = m["k_samples"], m["k_matched_tokens"]

    def pct(name: str) -> str:
        return f"{100 * s[name]['mean']:.1f}%"

    def d(name: str) -> str:
        x = m[name]
        return (f"diff {100 * x['diff']:+.1f} pts, 95% CI [{100 * x['ci95'][0]:+.1f}, "
                f"{100 * x['ci95'][1]:+.1f}], McNemar p={x['mcnemar_p']}")

    n = f"{m['n_puzzles']} puzzle-runs ({len(m['seeds'])} seeds)"
    auc = m["auroc_heldout_3"]
    return [
        Claim("ToT (b=5) beats CoT-SC at matched compute (Table 2: ToT 74% vs CoT-SC k=100 9%)",
              f"top-1 ToT b=5 {pct('tot_b5_top1')} vs CoT-SC k={km} (tokens matched) "
              f"{pct('cot_sc_matched')}; {d('tot_b5_vs_cot_sc_matched')}; {n}",
              verdict(m["tot_b5_vs_cot_sc_matched"])),
        Claim(f"ToT (b=5) beats CoT-SC with k={k} samples (Table 2: 74% vs 9%)",
              f"top-1 {pct('tot_b5_top1')} vs {pct(f'cot_sc_k{k}')}; "
              f"{d(f'tot_b5_vs_cot_sc_k{k}')}", verdict(m[f"tot_b5_vs_cot_sc_k{k}"])),
        Claim("Wider search helps: ToT b=5 beats b=1 (Table 2: 74% vs 45%)",
              f"{pct('tot_b5_top1')} vs {pct('tot_b1_top1')}; {d('tot_b5_vs_b1')}",
              verdict(m["tot_b5_vs_b1"])),
        Claim("The LM's own state evaluation drives the search (ablation: random values)",
              f"model values {pct('tot_b5_top1')} vs random values "
              f"{pct('tot_b5_random_values_top1')}; {d('tot_b5_vs_random_values')}",
              verdict(m["tot_b5_vs_random_values"])),
        Claim("The value prompt discriminates good from bad states (pass mark: AUROC >= 0.75 "
              "on held-out 3-number states)",
              f"AUROC {auc['mean']:.3f} (95% CI over seeds {auc['ci95']}); 2-number states "
              f"{m['auroc_heldout_2']['mean']:.3f}",
              "reproduced" if auc["ci95"][0] >= 0.75 else "not reproduced"
              if auc["ci95"][1] < 0.75 else "inconclusive"),
        Claim("Secondary (needs a verifier): ToT any-of-5 vs best-of-k sampling at matched "
              "compute (Fig. 3a; repo log: ToT any 69% vs CoT best-of-100 49%)",
              f"any-of-5 {pct('tot_b5_any_of_5')} vs CoT best-of-{km} "
              f"{pct('cot_best_of_matched')}; {d('any_of_5_vs_cot_best_of_matched')}",
              verdict(m["any_of_5_vs_cot_best_of_matched"])),
    ]


def plot_success(m: dict[str, Any]):
    """Bar chart of success (95% CI) per method: top-1 metrics, then verifier metrics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = m["success"]
    names = list(s)
    means = [100 * s[n]["mean"] for n in names]
    err = [[100 * (s[n]["mean"] - s[n]["ci95"][0]) for n in names],
           [100 * (s[n]["ci95"][1] - s[n]["mean"]) for n in names]]
    colors = ["tab:gray" if "best_of" in n or "any_of" in n else
              "tab:green" if n.startswith("tot") else "tab:blue" for n in names]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(range(len(names)), means, yerr=err, color=colors, capsize=3)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("success (%)")
    ax.set_title(f"Game of 24, tiny model, {m.get('holdout', 'strict')} hold-out "
                 f"({m['n_puzzles']} puzzle-runs); "
                 "gray = needs a verifier", fontsize=9)
    return fig


def run_notes(holdout: str, profile_is_quick: bool) -> str:
    """The run record's note: which hold-out, and what a quick run can show."""
    regime = ("strict hold-out: every test sub-state with >=2 numbers removed from propose/value "
              "training" if holdout == "strict" else "hold-out of the test puzzles only: the "
              "evaluator may have seen test sub-states from other puzzles (leaky regime)")
    note = f"Tiny char-level model trained from scratch; {regime}."
    if profile_is_quick:
        note += " Quick profile: too small for the model to learn the task; tests the code path."
    return note


def run_tot(cfg: ToTConfig, run: Any) -> Outcome:
    """Every seed (in `workers` processes): rows to samples.jsonl, pooled summary, plot, claims."""
    import functools

    from neurips23.core.seeds import map_seeds

    all_rows: list[dict] = []
    infos = []
    for rows, info in map_seeds(functools.partial(run_seed, cfg, log=run.log), cfg.seeds,
                                cfg.workers, log=run.log):
        run.log(f"seed {info['seed']} done: {info}")
        run.log_samples(rows)
        all_rows += rows
        infos.append(info)
    m = summarize(cfg, all_rows, infos)
    run.save_plot(plot_success(m), "success")
    return Outcome(m, claims_from(m), notes=run_notes(cfg.holdout, run.profile == "quick"))


REPRODUCTION = Reproduction(name="tot", title="Tree of Thoughts (Yao et al. 2023): Game of 24",
                            config=ToTConfig, profiles=PROFILES, run=run_tot)
