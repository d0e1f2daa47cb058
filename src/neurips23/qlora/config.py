"""Settings of QLoRA: the finetuning recipe (`FinetuneConfig`, what `neurips23 qlora finetune`
and every arm run) and `neurips23 reproduce qlora`'s config (the finetuning arms, the real-model
measurements, the claims' rules) and profiles. The modules that run the arms and decide the
claims import it from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neurips23.core.claims import Rule, rule
from neurips23.core.cli_config import param
from neurips23.errors import ConfigError
from neurips23.lm.train import TrainConfig

ARMS = {
    "full": "(a) full finetune, fp32",
    "lora16": "(b) LoRA, bf16 base",
    "qlora_fp4": "(c) QLoRA FP4",
    "qlora_nf4": "(d) QLoRA NF4",
    "qlora_nf4_dq": "(e) QLoRA NF4+DQ",
}
"""The finetuning arms of Tables 3-4 at tiny scale (`qlora.comparison`): name -> label."""

RECIPE_TRAIN: dict[str, Any] = dict(
    steps=200, batch_size=16, lr=2e-4, schedule="constant", warmup_ratio=0.03, max_grad_norm=0.3,
    weight_decay=0.0, adam_beta2=0.999, group_by_length=True, max_length=256, seed=0,
    log_every=10, checkpoint_every=50)
"""The QLoRA recipe's trainer settings (paper / official qlora.py: lr 2e-4 constant with 3%
warmup, max grad norm 0.3, AdamW with β2 0.999, batches grouped by length); `checkpoint_every`:
steps between checkpoints in the output dir (a rerun resumes), 0 for none."""


def recipe_train_settings(**overrides: Any) -> TrainConfig:
    """The core TrainConfig with the QLoRA recipe's settings, then `overrides`."""
    return TrainConfig(**{**RECIPE_TRAIN, **overrides})


@dataclass
class FinetuneConfig:
    """Recipe defaults from the paper / official qlora.py (r=64, alpha=16, lr 2e-4 constant, ...);
    the trainer's settings are the core's TrainConfig, nested as `train` (`RECIPE_TRAIN`)."""

    weights: str = param("nf4", "Storage of the frozen base: nf4 | fp4 (QLoRA) | bf16 | fp32 (LoRA).")
    double_quant: bool = param(True, "Double quantization of the quantization constants.")
    compute_dtype: str = param("bfloat16", "bfloat16 (the paper) | float16 | float32 (also works "
                                           "on CPU).")
    rank: int = param(64, "LoRA rank.")
    alpha: float = param(16.0, "LoRA alpha.")
    dropout: float = param(0.0, "LoRA dropout (0.1 for <=13B models in the paper).")
    train: TrainConfig = field(default_factory=recipe_train_settings)
    gradient_checkpointing: bool = param(False, "Recompute activations in the backward pass.")
    # "auto": bitsandbytes' paged AdamW (the official recipe's paged_adamw_32bit) when the model
    # sits on a CUDA device, where paging rides out memory spikes; torch's AdamW elsewhere.
    optimizer: str = param("auto", "auto (paged AdamW on CUDA, AdamW elsewhere) | adamw | "
                                   "paged_adamw.")

    def validate(self) -> FinetuneConfig:
        """Raise ConfigError naming the first setting that cannot work."""
        if self.rank < 1:
            raise ConfigError(f"rank={self.rank!r}: must be at least 1")
        for name in ("steps", "batch_size", "max_length"):
            if getattr(self.train, name) < 1:
                raise ConfigError(f"train.{name}={getattr(self.train, name)!r}: must be at least 1")
        if self.train.checkpoint_every < 0:
            raise ConfigError(f"train.checkpoint_every={self.train.checkpoint_every!r}: must be 0 "
                              "(none) or more")
        if not self.train.lr > 0:
            raise ConfigError(f"train.lr={self.train.lr!r}: must be positive")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout!r}: must be in [0, 1)")
        return self


@dataclass
class QLoRAConfig:
    """Settings of the finetuning arms, the real-model measurements and the claims' rules."""

    size: str = "mini"
    n_pretrain: int = 8000
    # the tiny base's pretraining on reverse + sort
    pretrain: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=1500, batch_size=32, lr=3e-3, log_every=50, seed=0, max_length=64))
    n_train: int = 2000
    n_test: int = 256
    # every arm's finetuning: the recipe's settings (RECIPE_TRAIN) with the lr of arms b-e (one
    # value, piloted on seed 0 at the quick size: 1e-2 diverged); `train.seed` is added to each
    # seed
    train: TrainConfig = field(default_factory=lambda: recipe_train_settings(
        steps=400, batch_size=16, lr=3e-3, max_grad_norm=0.3, max_length=64, log_every=20))
    full_lr: float = 1e-3  # the full finetune's lr (arm a)
    rank: int = 8  # r=64 would give a 128-wide tiny model as many adapter as base weights
    alpha: float = 16.0
    dropout: float = 0.0
    compute_dtype: str = "bfloat16"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    arms: list[str] = field(default_factory=lambda: list(ARMS))
    min_accuracy: float = 0.2  # below this the reference arm did not learn the task: no verdict
    real_model: str = "smollm2-135m"
    ppl_chunks: int = 64  # chunks of held-out prose (the bootstrap's units)
    ppl_chunk_tokens: int = 256
    memory_repeats: int = 3  # fresh processes per storage format
    memory_batch: int = 1
    memory_seq: int = 128
    memory_rank: int = 16
    matches_16bit: Rule = rule(
        "above", -0.03, min_n=3, reason="'matches' read as non-inferiority: the paired "
        "accuracy gap (QLoRA NF4+DQ − reference) may not lose more than 3 points; Table 4's "
        "gaps between 16-bit and NF4+DQ are within 1 point")
    nf4_beats_fp4: Rule = rule(
        "below", 0.0, min_n=3, reason="the paper ranks NF4 above FP4 (Table 4: FP4 52.2 vs "
        "NF4+DQ 53.1): held-out loss NF4 − FP4, paired by seed, below 0")
    mse_order: Rule = rule(
        "below", 0.0, min_n=20, reason="NF4 is built for normally distributed weights (§3): "
        "log(MSE NF4 / MSE other) per weight matrix below 0, t-interval over matrices")
    ppl_order: Rule = rule(
        "below", 0.0, min_n=8, reason="Table 2 orders NF4+DQ (27.41) below FP4 (31.07) and "
        "Int4 (34.34): log-perplexity difference below 0, bootstrap over text chunks")
    memory_ratio: Rule = rule(
        "below", 0.45, min_n=2, reason="4-bit linear weights are 4.127/16 = 0.26 of bf16; with "
        "the 16-bit rest, adapters and activations on top, a step whose memory is mostly "
        "weights should need under 0.45 of bf16 LoRA's (target set before the run)")


PROFILES: dict[str, dict[str, Any]] = {
    # Pipeline check: the same code with smaller settings; with fewer units than the rules need,
    # its verdicts are pipeline checks (docs/qlora.md).
    "quick": {
        "size": "micro",  # the tiny model pretrained and finetuned (full: mini)
        "n_pretrain": 4000,  # reverse/sort pretraining examples (full: 8000)
        "pretrain": {"steps": 300},  # pretraining steps (full: 1500)
        "n_train": 1000,  # rotate finetuning examples (full: 2000)
        "n_test": 64,  # held-out rotate examples (full: 256)
        # finetuning steps of every arm, a loss logged every 2 (full: 400, every 20)
        "train": {"steps": 40, "log_every": 2},
        "seeds": [0, 1],  # 2 seeds, below the finetuning rules' min_n of 3 (full: 3)
        "ppl_chunks": 6,  # chunks of held-out prose, below ppl_order's min_n of 8 (full: 64)
        "ppl_chunk_tokens": 128,  # tokens per chunk (full: 256)
        "memory_repeats": 1,  # one process per storage format, below memory_ratio's min_n of 2 (full: 3)
        "memory_seq": 32,  # sequence length of the measured LoRA step (full: 128)
    },
    # The claims' test: the defaults above (docs/qlora.md's settings).
    "full": {},
}
