"""The reward-vs-KL frontier of DPO §6.1 (Fig. 2 left) at CPU scale, one seed at a time.

π_SFT (= π_ref) is a tiny LM trained from scratch on synthetic reviews; 4 samples per prompt
prefix, all 6 pairs labelled by the true reward, train DPO (several β), Preferred-FT and
Unlikelihood on those pairs, and place every checkpoint on the (exact KL(π‖π_ref), true reward)
plane. Best-of-N from π_ref (KL bound log N − (N−1)/N) is shown for scale.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.dpo.config import DPOConfig
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


# --- the data --------------------------------------------------------------------------------


def sft_model(cfg: DPOConfig, progress: bool = True) -> Path:
    """π_SFT trained from scratch on synthetic reviews (cached by its settings)."""
    from neurips23.lm.data import Example
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_word_tokenizer

    world = SentimentWorld(length=cfg.review_length, seed=cfg.world_seed)
    tcfg = replace(cfg.sft, seed=cfg.world_seed + cfg.sft.seed,
                   max_length=max(cfg.sft.max_length, cfg.review_length + 2))

    def data():
        tok = build_word_tokenizer([" ".join(NEUTRAL + POSITIVE + NEGATIVE)])
        reviews = world.sample_reviews(cfg.n_reviews, np.random.default_rng([cfg.world_seed, 0]))
        return tok, [Example("", " ".join(r)) for r in reviews]

    return cached_tiny_lm({"task": "dpo-sentiment-sft", "version": VERSION, "world": asdict(world),
                           "n_reviews": cfg.n_reviews}, data, cfg.model_size, tcfg,
                          max_position_embeddings=64, progress=progress)


def prompts_for(cfg: DPOConfig, n: int, stream: int, seed: int) -> list[str]:
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


def run_seed(cfg: DPOConfig, model_dir: Path, seed: int, progress: bool = True
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
    test_prompts = prompts_for(cfg, cfg.n_test, 2, seed)
    val_prompts = prompts_for(cfg, cfg.n_val, 3, seed)
    pairs = preference_pairs(ref, tok, train_prompts, cfg.samples_per_prompt, new_tokens, seed)
    points: list[dict] = []
    samples: list[dict] = []

    def record(method: str, setting: str, step: int, policy: Any) -> None:
        """A checkpoint's point: reward and KL on validation prompts (for choosing among
        checkpoints) and on test prompts (what is reported)."""
        val, _ = evaluate_policy(policy, ref, tok, val_prompts, new_tokens, seed=30_000 + seed)
        pt, texts = evaluate_policy(policy, ref, tok, test_prompts, new_tokens, seed=10_000 + seed)
        points.append({"method": method, "setting": setting, "seed": seed, "step": step,
                       "val_reward": val.reward, "val_kl": val.kl, **asdict(pt)})
        samples.extend({"method": method, "setting": setting, "seed": seed, "step": step,
                        "prompt": p, "completion": t, "reward": true_reward(p + " " + t)}
                       for p, t in list(zip(test_prompts, texts, strict=True))[:3])

    record("SFT", "-", 0, ref)
    for n in cfg.bon_ns:
        pt = best_of_n(ref, tok, test_prompts, new_tokens, n, seed=20_000 + seed)
        points.append({"method": "Best-of-N", "setting": f"N={n}", "seed": seed, "step": 0,
                       **asdict(pt)})

    runs: list[tuple[str, str, Any]] = []
    for beta in cfg.betas:
        runs.append(("DPO", f"beta={beta:g}", lambda m, beta=beta: DPOTrainer(
            m, tok, pairs, train_settings(cfg, seed, cfg.train.lr, beta=beta), ref_model=ref,
            progress=progress)))
    for lr in cfg.pft_lrs:
        runs.append(("Preferred-FT", f"lr={lr:g}", lambda m, lr=lr: PreferredFTTrainer(
            m, tok, pairs, train_settings(cfg, seed, lr), progress=progress)))
    for alpha in cfg.ul_alphas:
        runs.append(("Unlikelihood", f"alpha={alpha:g}", lambda m, alpha=alpha: UnlikelihoodTrainer(
            m, tok, pairs, train_settings(cfg, seed, cfg.ul_lr), alpha=alpha, progress=progress)))
    for method, setting, make in runs:
        policy = copy.deepcopy(ref).requires_grad_(True)
        trainer = make(policy)

        def callback(step: int, model: Any, method=method, setting=setting) -> None:
            if step % cfg.eval_every == 0 or step == cfg.train.steps:
                record(method, setting, step, model)

        logs = trainer.train(callback).logs
        samples.append({"kind": "train_log", "method": method, "setting": setting, "seed": seed,
                        "logs": logs})
    return points, samples


def train_settings(cfg: DPOConfig, seed: int, lr: float, beta: float = 0.1) -> Any:
    """The trainer settings every method of the frontier shares (only lr and β differ)."""
    from neurips23.dpo.trainer import DPOTrainConfig

    return DPOTrainConfig(beta=beta, max_prompt_length=cfg.prompt_len, add_eos=False,
                          train=replace(cfg.train, lr=lr, seed=seed + cfg.train.seed,
                                        max_length=max(cfg.train.max_length, cfg.review_length + 1)))


# --- summary -------------------------------------------------------------------------------


def aggregate(points: list[dict]) -> list[dict]:
    """Mean over seeds of each (method, setting, step) point, with a t-interval half-width over
    seeds (0 for a single seed: then the plot shows no bar)."""
    from neurips23.core.stats import t_interval

    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in points:
        groups[(p["method"], p["setting"], p["step"])].append(p)
    out = []
    for (method, setting, step), ps in groups.items():
        row = {"method": method, "setting": setting, "step": step, "seeds": len(ps)}
        for key in ("reward", "kl"):
            mean, low, high = t_interval([p[key] for p in ps])
            row[key] = mean
            row[f"{key}_ci"] = 0.0 if math.isnan(high) else high - mean
        out.append(row)
    return out


def select_point(points: list[dict], method: str, kl_max: float,
                 include_sft: bool = False) -> dict | None:
    """One seed's best checkpoint of `method` within a KL budget, chosen on validation prompts.

    Among the method's checkpoints whose validation KL is ≤ kl_max, the one with the highest
    validation reward (π_SFT, step 0, counts only with `include_sft`); the caller reports its
    test reward, so choosing the best of many checkpoints does not inflate what is reported.
    """
    allowed = (method, "SFT") if include_sft else (method,)
    candidates = [p for p in points if p["method"] in allowed and p["val_kl"] <= kl_max]
    return max(candidates, key=lambda p: p["val_reward"]) if candidates else None


def frontier_by_seed(points: list[dict], method: str, kl_max: float,
                     include_sft: bool = False) -> dict[int, float]:
    """seed -> test reward of that seed's selected point (nan when no checkpoint fits)."""
    out = {}
    for seed in sorted({p["seed"] for p in points}):
        best = select_point([p for p in points if p["seed"] == seed], method, kl_max, include_sft)
        out[seed] = best["reward"] if best else float("nan")
    return out


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


def plot_frontier(cfg: DPOConfig, points: list[dict]) -> Any:
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
    ax.set_title(f"Sentiment frontier (test prompts), {len(cfg.seeds)} seed(s), "
                 f"{cfg.n_test} samples/point")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig
