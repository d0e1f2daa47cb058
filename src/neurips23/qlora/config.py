"""Settings of `neurips23 reproduce qlora`: the finetuning arms, the real-model measurements,
the claims' rules and the profiles. The modules that run the arms and decide the claims import
it from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neurips23.core.claims import Rule, rule

ARMS = {
    "full": "(a) full finetune, fp32",
    "lora16": "(b) LoRA, bf16 base",
    "qlora_fp4": "(c) QLoRA FP4",
    "qlora_nf4": "(d) QLoRA NF4",
    "qlora_nf4_dq": "(e) QLoRA NF4+DQ",
}
"""The finetuning arms of Tables 3-4 at tiny scale (`qlora.comparison`): name -> label."""


@dataclass
class QLoRAConfig:
    """Settings of the finetuning arms, the real-model measurements and the claims' rules."""

    size: str = "mini"
    n_pretrain: int = 8000
    pretrain_steps: int = 1500
    pretrain_batch: int = 32
    pretrain_lr: float = 3e-3
    n_train: int = 2000
    n_test: int = 256
    steps: int = 400
    batch_size: int = 16
    lora_lr: float = 3e-3  # one value for arms b-e; piloted (1e-2 diverged) on seed 0, quick size
    full_lr: float = 1e-3
    rank: int = 8  # r=64 would give a 128-wide tiny model as many adapter as base weights
    alpha: float = 16.0
    dropout: float = 0.0
    max_grad_norm: float = 0.3
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
        "pretrain_steps": 300,  # pretraining steps (full: 1500)
        "n_train": 1000,  # rotate finetuning examples (full: 2000)
        "n_test": 64,  # held-out rotate examples (full: 256)
        "steps": 40,  # finetuning steps of every arm (full: 400)
        "seeds": [0, 1],  # 2 seeds, below the finetuning rules' min_n of 3 (full: 3)
        "ppl_chunks": 6,  # chunks of held-out prose, below ppl_order's min_n of 8 (full: 64)
        "ppl_chunk_tokens": 128,  # tokens per chunk (full: 256)
        "memory_repeats": 1,  # one process per storage format, below memory_ratio's min_n of 2 (full: 3)
        "memory_seq": 32,  # sequence length of the measured LoRA step (full: 128)
    },
    # The claims' test: the defaults above (docs/qlora.md's settings).
    "full": {},
}
