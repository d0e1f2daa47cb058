"""Settings of `neurips23 reproduce toolformer`: data sizes, models, the pipeline's thresholds,
each claim's rule, and the profiles. The per-seed experiment, the SmolLM2 stage, the report and
the claims import it from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.lm.train import TrainConfig
from neurips23.toolformer.sampling import SamplingConfig


@dataclass
class DecodingConfig:
    """Tool-calling decoding for the evaluation (the paper's: top-10 trigger, one call)."""

    top_k: int = param(10, "Open a call when '[' is among the top-k tokens.")
    max_calls: int = param(1, "At most this many calls per input.")
    max_new_tokens: int = param(24, "Tokens generated per question (calls included).")


@dataclass
class PretrainedStageConfig:
    """The annotation and filtering stages on a real pretrained model with the paper's P(x)."""

    model: str = param("smollm2-135m", "Model name or path ('' skips this stage).")
    n_texts: int = param(24, "Synthetic texts annotated per tool (arithmetic / weekday).")
    calculator: SamplingConfig = field(default_factory=lambda: SamplingConfig(
        tau_s=0.0, k=5, m=3, max_call_tokens=24, batch_size=16))
    calendar: SamplingConfig = field(default_factory=lambda: SamplingConfig(
        tau_s=0.05, k=5, m=3, max_call_tokens=16, batch_size=16))


@dataclass
class ToolformerConfig:
    """The reproduction: data sizes, models, the pipeline's thresholds, and each claim's rule."""

    seeds: list[int] = param([0, 1, 2], "Independent replications (a model pretrained per seed).")
    workers: int = param(2, "Seeds run in parallel processes; 0 or 1 runs them in this process.")
    size: str = param("micro", "Tiny model size (lm.models.TINY_CONFIGS).")
    n_pretrain: int = param(6000, "Synthetic texts in pretraining (arithmetic/calendar/filler).")
    seed_calls: int = param(50, "Hand-made texts with a call per tool in pretraining: the stand-in "
                                "for the prompt P(x) a tiny model cannot follow (a deviation).")
    seed_prefix_fraction: float = param(0.5, "Share of seed texts with the call as a prefix "
                                             "(as the filter presents it) instead of inline.")
    n_annotate: int = param(1200, "Fresh texts annotated and used for finetuning (C).")
    n_arithmetic_test: int = param(1000, "Held-out arithmetic questions (unseen templates).")
    n_weekday_test: int = param(300, "Held-out weekday questions.")
    n_filler_test: int = param(500, "Held-out plain texts for perplexity.")
    pretrain: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=1200, batch_size=32, lr=3e-3, warmup_steps=50, max_length=96, log_every=50))
    finetune: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=300, batch_size=32, lr=1e-3, warmup_steps=20, max_length=96, log_every=50))
    calculator: SamplingConfig = field(default_factory=lambda: SamplingConfig(
        tau_s=0.0, k=5, m=4, max_call_tokens=8, use_prompt=False, force_tool_name=True,
        batch_size=128))
    calendar: SamplingConfig = field(default_factory=lambda: SamplingConfig(
        tau_s=0.05, k=5, m=4, max_call_tokens=6, use_prompt=False, force_tool_name=True,
        batch_size=128))
    calculator_tau_f: float = param(0.5, "τ_f for the calculator (App. A).")
    calendar_tau_f: float = param(1.0, "τ_f for the calendar (App. A default).")
    window: int = param(5, "Tokens the filter's weights reach (w̃_t = 0 from t = 5).")
    placement: Literal["prefix", "inline"] = param("prefix", "Where z goes when filtering "
                                                   "(footnote 3: prefix).")
    tau_f_sweep: list[float] = param([0.25, 0.5, 1.0, 2.0], "τ_f values for the kept-count table.")
    inference: DecodingConfig = field(default_factory=DecodingConfig)
    pretrained: PretrainedStageConfig = field(default_factory=PretrainedStageConfig)
    learned_max_perplexity: float = param(
        10.0, "Precondition: +C's per-token perplexity on plain text must be below this for any "
              "comparison to count (a uniform guess over the 3,385 tokens scores 3,385; the "
              "filler grammar's own entropy allows about 3).")
    filter_auroc: Rule = rule(
        "above", 0.75, min_n=3, reason="L⁻ − L⁺ must rank a call whose result is what the text "
        "says next above one whose result is not in most pairs; 0.5 is chance")
    filter_precision_gain: Rule = rule(
        "above", 0.2, min_n=3, reason="kept calls must be helpful 20 points more often than "
        "the calls sampled before filtering")
    arithmetic_vs_disabled: Rule = rule(
        "above", 0.10, min_n=3, reason="Table 4: +25.6 points over the same model with calls "
        "disabled on ASDiv; a 10-point gain is far beyond what a tiny model gets by chance")
    arithmetic_vs_plus_c: Rule = rule(
        "above", 0.10, min_n=3, reason="Table 4: +30.8 points over GPT-J finetuned on C")
    arithmetic_vs_unfiltered: Rule = rule(
        "above", 0.0, min_n=3, reason="§2: the filter is what turns sampled calls into useful "
        "training data, so C* from unfiltered calls must do worse")
    arithmetic_vs_seeds_only: Rule = rule(
        "above", 0.0, min_n=3, reason="self-annotation must add to what the seeded calls teach")
    weekday_gain: Rule = rule(
        "above", 0.25, min_n=3, reason="Table 7 (Dateset): 27.3 vs ≤ 8.4 without the calendar; "
        "here chance is 1/7, so the calendar must add 25 points over the best baseline")
    perplexity_unchanged: Rule = rule(
        "within", 1.0, margin=0.03, min_n=3, reason="Table 8: perplexity with calls disabled "
        "equals +CC's (10.3 vs 10.3); we allow ±3% on the ratio. Counts only when C* holds "
        "min_c_star_helpful helpful calls per seed (an empty C* is +C, ratio 1 by construction) "
        "and ±3% is finer than the base-vs-+C perplexity gap (the band can see finetuning)")
    min_c_star_helpful: int = param(
        20, "Precondition of every claim that compares finetuned arms: each seed's C* holds at "
            "least this many helpful calls (a filter that keeps nothing makes C* = C).")
    chance_margin: float = param(
        0.05, "Precondition of the accuracy claims: some arm's mean accuracy beats chance (0 for "
              "a number among ~1,000, 1/7 for a weekday) by this much; else nothing was learned "
              "that a comparison could rank.")
    pretrained_few_useful_calls: Rule = rule(
        "below", 0.2, min_n=10, reason="our extension of Fig. 4 (which is about downstream tool "
        "use across sizes) to annotation by one size: a 135M model should give under 20% of "
        "texts a kept, helpful call (48 texts resolve that with up to 4 such texts)")
    planted_min_kept: float = param(
        0.5, "Positive control of the SmolLM2 stage: the share of planted gold calls (the right "
             "call at the answer) that the same execute + filter stages must keep; if fewer are "
             "kept, a low count says nothing about the model.")


PROFILES: dict[str, dict[str, Any]] = {
    # Pipeline check: every stage on a few texts. One seed is below the tiny-model rules' min_n
    # of 3 and 2 SmolLM2 texts below its rule's 10, so no verdict can be reached.
    "quick": {
        "seeds": [0], "workers": 1,  # one seed, in this process (full: 3 seeds, 2 processes)
        "size": "nano",  # the tiny model (full: micro, 2 layers, width 128)
        "n_pretrain": 800,  # synthetic pretraining texts (full: 6000)
        "seed_calls": 20,  # hand-made texts with a call, per tool (full: 50)
        "n_annotate": 60,  # fresh texts annotated for finetuning (full: 1200)
        # held-out arithmetic / weekday questions and plain texts (full: 1000 / 300 / 500)
        "n_arithmetic_test": 32, "n_weekday_test": 16, "n_filler_test": 32,
        "pretrain": {"steps": 400, "batch_size": 16, "warmup_steps": 20},  # full: 1200 steps of 32, warmup 50
        "finetune": {"steps": 8, "batch_size": 16, "warmup_steps": 2},  # full: 300 steps of 32, warmup 20
        # k positions and m calls per position (full: 5 and 4 for both tools)
        "calculator": {"k": 2, "m": 2}, "calendar": {"k": 2, "m": 2},
        # the SmolLM2 stage: 1 text per tool, 1 position, 1 call (full: 24 texts per tool, k 5, m 3)
        "pretrained": {"n_texts": 1, "calculator": {"k": 1, "m": 1},
                       "calendar": {"k": 1, "m": 1}}},
    # The claims' test: the defaults above (docs/toolformer.md's settings).
    "full": {},
}
