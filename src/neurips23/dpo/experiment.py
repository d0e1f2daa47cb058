"""Reproduction of DPO §6.1 (Fig. 2 left) at CPU scale: the reward-vs-KL frontier on sentiment.

π_SFT (= π_ref) is a tiny LM trained from scratch on synthetic reviews; 4 samples per prompt
prefix, all 6 pairs labelled by the true reward, train DPO (several β), Preferred-FT and
Unlikelihood on those pairs, and place every checkpoint on the (exact KL(π‖π_ref), true reward)
plane. Best-of-N from π_ref (KL bound log N − (N−1)/N) is shown for scale. PPO-GT is not run.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.dpo.data import PreferencePair
from neurips23.dpo.sentiment import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    SentimentWorld,
    best_of_n,
    evaluate_policy,
    sample_completions,
    true_reward,
)

VERSION = 1


@dataclass
class FrontierConfig:
    """Settings of the frontier reproduction (defaults are the full profile)."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    world_seed: int = 0
    review_length: int = 24
    n_reviews: int = 60000
    model_size: str = "nano"
    sft_steps: int = 800
    sft_batch_size: int = 64
    sft_lr: float = 3e-3
    prompt_len: int = 5
    n_prompts: int = 2000
    samples_per_prompt: int = 4
    betas: list[float] = field(default_factory=lambda: [0.1, 0.5, 2.0, 5.0])
    dpo_lr: float = 3e-4
    pft_lrs: list[float] = field(default_factory=lambda: [3e-4, 1e-3])
    ul_alphas: list[float] = field(default_factory=lambda: [0.1, 1.0])
    ul_lr: float = 1e-3
    steps: int = 160
    batch_size: int = 64
    eval_every: int = 40
    n_eval: int = 1024
    bon_ns: list[int] = field(default_factory=lambda: [1, 4, 16])
    kl_budget: float = 2.0
    margin: float = 0.15
    workers: int = 1  # seeds run in parallel processes (one torch thread each)


PROFILES: dict[str, dict[str, Any]] = {
    "full": {},
    "quick": dict(seeds=[0], n_reviews=20000, sft_steps=300, n_prompts=400, betas=[0.1, 2.0],
                  pft_lrs=[1e-3], ul_alphas=[1.0], steps=90, batch_size=32, eval_every=30,
                  n_eval=256, bon_ns=[1, 4, 16]),
}


# --- the data --------------------------------------------------------------------------------


def sft_model(cfg: FrontierConfig, progress: bool = True) -> Path:
    """π_SFT trained from scratch on synthetic reviews (cached by its settings)."""
    from neurips23.lm.cache import get_or_train

    world = SentimentWorld(length=cfg.review_length, seed=cfg.world_seed)
    spec = {"task": "dpo-sentiment-sft", "version": VERSION, "world": asdict(world),
            "n_reviews": cfg.n_reviews, "size": cfg.model_size, "steps": cfg.sft_steps,
            "batch_size": cfg.sft_batch_size, "lr": cfg.sft_lr}

    def build(tmp: Path) -> None:
        from neurips23.lm.data import Example
        from neurips23.lm.models import save_model
        from neurips23.lm.tokenizers import build_word_tokenizer
        from neurips23.lm.train import TrainConfig, train_tiny_lm

        tok = build_word_tokenizer([" ".join(NEUTRAL + POSITIVE + NEGATIVE)])
        reviews = world.sample_reviews(cfg.n_reviews, np.random.default_rng([cfg.world_seed, 0]))
        examples = [Example("", " ".join(r)) for r in reviews]
        tcfg = TrainConfig(steps=cfg.sft_steps, batch_size=cfg.sft_batch_size, lr=cfg.sft_lr,
                           schedule="cosine", warmup_steps=50, max_length=cfg.review_length + 2,
                           log_every=50, seed=cfg.world_seed)
        model, _ = train_tiny_lm(examples, tok, cfg.model_size, tcfg,
                                 max_position_embeddings=64, progress=progress)
        save_model(model, tok, tmp)

    return get_or_train(spec, build)


def prompts_for(cfg: FrontierConfig, n: int, stream: int, seed: int) -> list[str]:
    """Review prefixes of `prompt_len` words from fresh reviews."""
    world = SentimentWorld(length=cfg.review_length, seed=cfg.world_seed)
    reviews = world.sample_reviews(n, np.random.default_rng([seed, stream]))
    return [" ".join(r[: cfg.prompt_len]) for r in reviews]


def preference_pairs(ref: Any, tokenizer: Any, prompts: list[str], k: int, new_tokens: int,
                     seed: int) -> list[PreferencePair]:
    """k samples per prompt from π_SFT, all k(k−1)/2 pairs labelled by the true reward (ties dropped)."""
    import torch

    ids = torch.tensor([tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts])
    comp = sample_completions(ref, ids.repeat_interleave(k, dim=0), new_tokens,
                              torch.Generator().manual_seed(seed))
    texts = tokenizer.batch_decode(comp.tolist())
    pairs = []
    for i, prompt in enumerate(prompts):
        group = texts[i * k:(i + 1) * k]
        scored = [(true_reward(prompt + " " + t), t) for t in group]
        for (ra, a), (rb, b) in itertools.combinations(scored, 2):
            if ra != rb:
                pairs.append(PreferencePair(prompt, a, b) if ra > rb else PreferencePair(prompt, b, a))
    return pairs


# --- one seed ------------------------------------------------------------------------------


def run_seed(cfg: FrontierConfig, seed: int, model_dir: Path, progress: bool = True
             ) -> tuple[list[dict], list[dict]]:
    """Every method's checkpoints on the frontier plane for one seed -> (points, sample rows)."""
    import copy

    from neurips23.dpo.baselines import PreferredFTTrainer, UnlikelihoodTrainer
    from neurips23.dpo.trainer import DPOTrainer
    from neurips23.lm.models import load_model
    from neurips23.utils import seed_everything

    seed_everything(seed)
    ref, tok = load_model(model_dir)
    ref.requires_grad_(False)
    new_tokens = cfg.review_length - cfg.prompt_len
    train_prompts = prompts_for(cfg, cfg.n_prompts, 1, seed)
    eval_prompts = prompts_for(cfg, cfg.n_eval, 2, seed)
    pairs = preference_pairs(ref, tok, train_prompts, cfg.samples_per_prompt, new_tokens, seed)
    points: list[dict] = []
    samples: list[dict] = []

    def record(method: str, setting: str, step: int, policy: Any) -> None:
        pt, texts = evaluate_policy(policy, ref, tok, eval_prompts, new_tokens, seed=10_000 + seed)
        points.append({"method": method, "setting": setting, "seed": seed, "step": step,
                       **asdict(pt)})
        samples.extend({"method": method, "setting": setting, "seed": seed, "step": step,
                        "prompt": p, "completion": t, "reward": true_reward(p + " " + t)}
                       for p, t in list(zip(eval_prompts, texts, strict=True))[:3])

    record("SFT", "-", 0, ref)
    for n in cfg.bon_ns:
        pt = best_of_n(ref, tok, eval_prompts, new_tokens, n, seed=20_000 + seed)
        points.append({"method": "Best-of-N", "setting": f"N={n}", "seed": seed, "step": 0,
                       **asdict(pt)})

    runs: list[tuple[str, str, Any]] = []
    for beta in cfg.betas:
        runs.append(("DPO", f"beta={beta:g}", lambda m, beta=beta: DPOTrainer(
            m, tok, pairs, _dpo_cfg(cfg, seed, cfg.dpo_lr, beta=beta), ref_model=ref,
            progress=progress)))
    for lr in cfg.pft_lrs:
        runs.append(("Preferred-FT", f"lr={lr:g}", lambda m, lr=lr: PreferredFTTrainer(
            m, tok, pairs, _dpo_cfg(cfg, seed, lr), progress=progress)))
    for alpha in cfg.ul_alphas:
        runs.append(("Unlikelihood", f"alpha={alpha:g}", lambda m, alpha=alpha: UnlikelihoodTrainer(
            m, tok, pairs, _dpo_cfg(cfg, seed, cfg.ul_lr), alpha=alpha, progress=progress)))
    for method, setting, make in runs:
        policy = copy.deepcopy(ref).requires_grad_(True)
        trainer = make(policy)

        def callback(step: int, model: Any, method=method, setting=setting) -> None:
            if step % cfg.eval_every == 0 or step == cfg.steps:
                record(method, setting, step, model)

        logs = trainer.train(callback).logs
        samples.append({"kind": "train_log", "method": method, "setting": setting, "seed": seed,
                        "logs": logs})
    return points, samples


def _dpo_cfg(cfg: FrontierConfig, seed: int, lr: float, beta: float = 0.1) -> Any:
    from neurips23.dpo.trainer import DPOConfig

    return DPOConfig(beta=beta, steps=cfg.steps, batch_size=cfg.batch_size, lr=lr,
                     schedule="constant", warmup_steps=10, max_grad_norm=10.0,
                     max_length=cfg.review_length + 1, max_prompt_length=cfg.prompt_len,
                     add_eos=False, log_every=10, seed=seed)


# --- summary -------------------------------------------------------------------------------


def aggregate(points: list[dict]) -> list[dict]:
    """Mean over seeds of each (method, setting, step) point with a 95% CI half-width.

    The CI uses the larger of the across-seed standard error and the pooled sampling error.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in points:
        groups[(p["method"], p["setting"], p["step"])].append(p)
    out = []
    for (method, setting, step), ps in groups.items():
        row = {"method": method, "setting": setting, "step": step, "seeds": len(ps)}
        for key in ("reward", "kl"):
            vals = np.array([p[key] for p in ps])
            sampling = math.sqrt(sum(p[f"{key}_se"] ** 2 for p in ps)) / len(ps)
            across = vals.std(ddof=1) / math.sqrt(len(ps)) if len(ps) > 1 else 0.0
            row[key] = float(vals.mean())
            row[f"{key}_ci"] = 1.96 * max(sampling, across)
        out.append(row)
    return out


def frontier(points: list[dict], method: str, kl_max: float) -> float:
    """Best reward among `method`'s checkpoints with KL ≤ kl_max; π_SFT (KL 0) is every method's step 0."""
    rewards = [p["reward"] for p in points
               if p["method"] in (method, "SFT") and p["kl"] <= kl_max]
    return max(rewards) if rewards else float("nan")


def logps_drift(train_logs: list[dict]) -> dict[str, dict[str, list[float]]]:
    """DPO's chosen/rejected log-probs at the first and last logged step, mean over seeds."""
    out: dict[str, list] = defaultdict(list)
    for row in train_logs:
        if row["method"] == "DPO" and row["logs"]:
            first, last = row["logs"][0], row["logs"][-1]
            out[row["setting"]].append([first["chosen_logps"], last["chosen_logps"],
                                        first["rejected_logps"], last["rejected_logps"]])
    return {k: dict(zip(("chosen_first", "chosen_last", "rejected_first", "rejected_last"),
                        np.mean(v, axis=0).tolist(), strict=True)) for k, v in out.items()}


def summarise(cfg: FrontierConfig, points: list[dict], train_logs: list[dict] | None = None
              ) -> tuple[dict, list]:
    """Metrics and the paper's claims beside ours."""
    from neurips23.report.records import Claim

    seeds = sorted({p["seed"] for p in points})
    by_seed = {s: [p for p in points if p["seed"] == s] for s in seeds}
    budget = cfg.kl_budget
    metrics: dict[str, Any] = {"points": aggregate(points), "kl_budget": budget}
    claims = []
    for base in ("Preferred-FT", "Unlikelihood"):
        diffs = [frontier(ps, "DPO", budget) - frontier(ps, base, budget) for ps in by_seed.values()]
        mean = float(np.mean(diffs))
        metrics[f"dpo_minus_{base}_at_kl{budget:g}"] = {"per_seed": diffs, "mean": mean}
        verdict = ("reproduced" if mean >= cfg.margin and all(d > 0 for d in diffs)
                   else "mixed" if mean > 0 else "not reproduced")
        claims.append(Claim(
            paper=f"DPO's reward/KL frontier dominates {base} (Fig. 2 left); test: at KL ≤ "
                  f"{budget:g}, best DPO reward − best {base} reward ≥ {cfg.margin:g}",
            ours=f"difference {mean:+.3f} (per seed {', '.join(f'{d:+.3f}' for d in diffs)})",
            verdict=verdict))
        # dominance where the baseline actually is: at the KL of its best checkpoint
        gaps, gap_ses = [], []
        for ps in by_seed.values():
            top = max((p for p in ps if p["method"] == base), key=lambda p: p["reward"])
            best = max((p for p in ps if p["method"] in ("DPO", "SFT") and p["kl"] <= top["kl"]),
                       key=lambda p: p["reward"])
            gaps.append(best["reward"] - top["reward"])
            gap_ses.append(math.hypot(best["reward_se"], top["reward_se"]))
        gmean = float(np.mean(gaps))
        across = float(np.std(gaps, ddof=1)) / math.sqrt(len(gaps)) if len(gaps) > 1 else 0.0
        sampling = math.sqrt(sum(se ** 2 for se in gap_ses)) / len(gaps)
        half = 1.96 * max(across, sampling)
        metrics[f"dpo_minus_best_{base}_at_its_kl"] = {"per_seed": gaps, "mean": gmean,
                                                       "ci95": half}
        claims.append(Claim(
            paper=f"DPO's frontier dominates {base} everywhere; test: at the KL of {base}'s "
                  f"best checkpoint, DPO's best reward − that reward > 0 (95% CI)",
            ours=f"difference {gmean:+.3f} ± {half:.3f} (per seed "
                 f"{', '.join(f'{g:+.3f}' for g in gaps)})",
            verdict="reproduced" if gmean - half > 0 else "not reproduced" if gmean + half < 0
            else "inconclusive"))
    agg = metrics["points"]
    final = {float(p["setting"].split("=")[1]): p for p in agg
             if p["method"] == "DPO" and p["step"] == cfg.steps}
    betas = sorted(final)
    kls = [final[b]["kl"] for b in betas]
    metrics["dpo_final_kl_by_beta"] = dict(zip([f"{b:g}" for b in betas], kls, strict=True))
    monotone = all(a > b for a, b in itertools.pairwise(kls))
    claims.append(Claim(
        paper="KL(π‖π_ref) falls as β rises (β weights the KL penalty, eq. 3)",
        ours="final KL by β: " + ", ".join(f"β={b:g}: {k:.2f}" for b, k in zip(betas, kls, strict=True)),
        verdict="reproduced" if monotone and len(betas) > 1 else
        "inconclusive" if len(betas) < 2 else "not reproduced"))
    metrics["best_of_n"] = {p["setting"]: {"reward": p["reward"], "kl_bound": p["kl"]}
                            for p in agg if p["method"] == "Best-of-N"}
    metrics["sft_reward"] = next(p["reward"] for p in agg if p["method"] == "SFT")
    if train_logs:
        metrics["dpo_logps_first_last"] = logps_drift(train_logs)
    for m in ("DPO", "Preferred-FT", "Unlikelihood", "Best-of-N"):
        metrics[f"frontier_{m}"] = {f"kl<={b:g}": frontier(agg, m, b) for b in (0.5, 1, 2, 4)}
    return metrics, claims


def plot_frontier(cfg: FrontierConfig, points: list[dict]) -> Any:
    """Reward vs KL, every checkpoint (mean over seeds, 95% CI bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = aggregate(points)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = {"DPO": ("o", "C0"), "Preferred-FT": ("s", "C1"), "Unlikelihood": ("^", "C2"),
              "Best-of-N": ("D", "C3"), "SFT": ("*", "k")}
    for method, (marker, color) in styles.items():
        ps = sorted((p for p in agg if p["method"] == method), key=lambda p: p["kl"])
        if not ps:
            continue
        ax.errorbar([p["kl"] for p in ps], [p["reward"] for p in ps],
                    xerr=[p["kl_ci"] for p in ps], yerr=[p["reward_ci"] for p in ps],
                    fmt=marker, color=color, label=method + (" (KL bound)" if method ==
                                                              "Best-of-N" else ""),
                    ms=5, capsize=2, linestyle="--" if method == "Best-of-N" else "none")
    ax.set_xlabel("KL(π ‖ π_ref)  (exact, per-token over the vocabulary, summed)")
    ax.set_ylabel("true reward")
    ax.set_title(f"Sentiment frontier, {len(cfg.seeds)} seed(s), {cfg.n_eval} samples/point")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _seed_worker(args: tuple) -> tuple[list[dict], list[dict]]:
    from neurips23.utils import set_torch_threads

    set_torch_threads(1)
    return run_seed(*args)


def _map_seeds(cfg: FrontierConfig, model_dir: Path, progress: bool) -> Any:
    """run_seed over cfg.seeds, in order; in `workers` spawned processes when > 1."""
    if cfg.workers <= 1 or len(cfg.seeds) == 1:
        for seed in cfg.seeds:
            yield run_seed(cfg, seed, model_dir, progress)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(cfg.workers, len(cfg.seeds)), mp_context=ctx) as pool:
        yield from pool.map(_seed_worker, [(cfg, s, model_dir, False) for s in cfg.seeds])


def run_frontier(cfg: FrontierConfig, runs_dir: Path = Path("runs"), profile: str | None = None,
                 progress: bool = True) -> Path:
    """The whole reproduction: SFT, per-seed runs, records; returns the run dir."""
    from neurips23.report.records import start_run
    from neurips23.utils import set_torch_threads

    set_torch_threads()
    run = start_run("dpo", cfg, runs_dir, profile)
    model_dir = sft_model(cfg, progress)
    points: list[dict] = []
    train_logs: list[dict] = []
    for seed_points, samples in _map_seeds(cfg, model_dir, progress):
        points.extend(seed_points)
        train_logs.extend(s for s in samples if s.get("kind") == "train_log")
        run.log_samples(samples)
        run.log_samples({"kind": "point", **p} for p in seed_points)
    metrics, claims = summarise(cfg, points, train_logs)
    run.save_plot(plot_frontier(cfg, points), "frontier")
    run.finish(metrics, claims, list(cfg.seeds),
               notes="PPO-GT not run (CPU budget). One π_SFT shared by all seeds; seeds vary "
                     "the preference samples, training order and evaluation samples.")
    return run.dir
