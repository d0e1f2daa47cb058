"""The finetuning comparison of QLoRA's Tables 3-4 at CPU scale: a tiny Llama pretrained on
digit-string tasks (reverse, sort) is finetuned on a new task (rotate) under five arms with the
same data, steps and seeds (full fp32, LoRA on a bf16 base, QLoRA FP4 / NF4 / NF4+DQ); each arm
reports held-out loss, exact-match accuracy and the measured storage of its frozen weights.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from neurips23.lm.data import Example
from neurips23.qlora.config import ARMS, FinetuneConfig, QLoRAConfig

ALPHABET = "0123456789revsort ="


# --------------------------------------------------------------------------------------------
# Tasks: pretraining family (reverse, sort) and the finetuning task (rotate)
# --------------------------------------------------------------------------------------------


def _digits(rng: random.Random, lo: int = 3, hi: int = 8) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(lo, hi)))


def pretrain_examples(n: int, seed: int) -> list[Example]:
    """Half 'rev s =' -> reversed s, half 'sort s =' -> sorted digits of s."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = _digits(rng)
        if i % 2:
            out.append(Example(f"rev {s} =", f" {s[::-1]}"))
        else:
            out.append(Example(f"sort {s} =", f" {''.join(sorted(s))}"))
    return out


def rotate_examples(n: int, seed: int, exclude: set[str] | None = None) -> list[Example]:
    """The new task: 'rot s =' -> s rotated left by one ('12345' -> '23451')."""
    rng = random.Random(seed)
    out, seen = [], set(exclude or ())
    while len(out) < n:
        s = _digits(rng)
        if s in seen:
            continue
        seen.add(s)
        out.append(Example(f"rot {s} =", f" {s[1:] + s[0]}"))
    return out


def pretrained_model(cfg: QLoRAConfig, progress: bool = True) -> Path:
    """The cached tiny Llama pretrained on reverse + sort (trained once per settings)."""
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer

    def data():
        return build_char_tokenizer(ALPHABET), pretrain_examples(cfg.n_pretrain, 0)

    return cached_tiny_lm({"kind": "qlora-pretrain", "version": 1, "alphabet": ALPHABET,
                           "tasks": ["reverse", "sort"], "n": cfg.n_pretrain}, data, cfg.size,
                          cfg.pretrain, progress=progress)


# --------------------------------------------------------------------------------------------
# One arm
# --------------------------------------------------------------------------------------------


def arm_recipe(arm: str, cfg: QLoRAConfig, seed: int):
    """The FinetuneConfig of an arm (the full-finetune arm uses it only for its trainer settings)."""
    from neurips23.errors import ConfigError

    weights = {"full": "fp32", "lora16": "bf16", "qlora_fp4": "fp4", "qlora_nf4": "nf4",
               "qlora_nf4_dq": "nf4"}
    if arm not in weights:
        raise ConfigError(f"unknown arm {arm!r}; choose from {', '.join(ARMS)}")
    full = arm == "full"
    train = replace(cfg.train, lr=cfg.full_lr if full else cfg.train.lr, seed=seed + cfg.train.seed,
                    group_by_length=cfg.train.group_by_length and not full)
    return FinetuneConfig(weights=weights[arm], double_quant=arm == "qlora_nf4_dq",
                          compute_dtype="float32" if full else cfg.compute_dtype,
                          rank=cfg.rank, alpha=cfg.alpha, dropout=cfg.dropout, train=train)


def run_arm(arm: str, base: Path, cfg: QLoRAConfig, seed: int, train: list[Example],
            test: list[Example], progress: bool = False) -> dict[str, Any]:
    """Finetune one arm with one seed; held-out loss, exact-match accuracy and memory."""
    import torch

    from neurips23.lm.adapters import trainable_parameters
    from neurips23.lm.generate import generate
    from neurips23.lm.models import count_parameters, load_model
    from neurips23.lm.train import evaluate_loss, train_causal_lm
    from neurips23.qlora.finetune import attach_lora, load_base
    from neurips23.qlora.memory import storage_bytes
    from neurips23.utils import seed_everything

    recipe = arm_recipe(arm, cfg, seed)
    seed_everything(seed)
    if arm == "full":
        model, tok = load_model(base, dtype=torch.float32)
        mem = {"linear_bytes": 0.0, "linear_params": 0.0, "linear_bits_per_param": 32.0,
               "other_bytes": 0.0}
        params = [p for p in model.parameters()]
        for p in params:
            p.requires_grad_(True)
    else:
        model, tok = load_base(base, recipe)
        model = attach_lora(model, recipe)
        mem = storage_bytes(model)
        params = trainable_parameters(model)
    n_trainable = sum(p.numel() for p in params)
    result = train_causal_lm(model, tok, train, recipe.train, params=params, progress=progress)
    loss = evaluate_loss(model, tok, test, max_length=64, batch_size=128)
    outs = generate(model, tok, [e.prompt for e in test], max_new_tokens=12, batch_size=128)
    preds = [o[0].text for o in outs]
    correct = [p == e.response for p, e in zip(preds, test, strict=True)]
    if arm == "full":
        mem["linear_bytes"] = float(4 * count_parameters(model))
    return {
        "arm": arm, "seed": seed, "heldout_loss": loss, "accuracy": sum(correct) / len(correct),
        "final_train_loss": result.final_loss, "train_seconds": result.wall_seconds,
        "trainable_params": n_trainable,
        "trainable_and_adam_bytes": float(n_trainable * (4 + 4 + 8)),  # fp32 weight, grad, 2 moments
        **mem, "samples": [{"prompt": e.prompt, "target": e.response, "output": p}
                           for e, p in list(zip(test, preds, strict=True))[:8]],
    }


# --------------------------------------------------------------------------------------------
# Quantization error on the pretrained weights
# --------------------------------------------------------------------------------------------


def weight_quantization_mse(base: Path, blocksize: int = 64) -> dict[str, float]:
    """MSE of NF4, NF4+DQ, FP4 and Int4 round trips over every linear weight but the LM head."""
    from neurips23.lm.adapters import adaptable_linears
    from neurips23.lm.models import load_model
    from neurips23.qlora.quant import dequantize_4bit, quantize_4bit

    model, _ = load_model(base)
    mods = dict(model.named_modules())
    sums = {"nf4": 0.0, "nf4_dq": 0.0, "fp4": 0.0, "int4": 0.0}
    n, var = 0, 0.0
    for name in adaptable_linears(model):
        w = mods[name].weight.detach().float()
        n += w.numel()
        var += float(((w - w.mean()) ** 2).sum())
        for key, (qt, dq) in {"nf4": ("nf4", False), "nf4_dq": ("nf4", True),
                              "fp4": ("fp4", False), "int4": ("int4", False)}.items():
            w_hat = dequantize_4bit(quantize_4bit(w, qt, blocksize, dq))
            sums[key] += float(((w_hat.double() - w.double()) ** 2).sum())
    out = {k: v / n for k, v in sums.items()}
    out["weight_variance"] = var / n
    return out
