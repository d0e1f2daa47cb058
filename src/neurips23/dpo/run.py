"""`neurips23 dpo train` as a library call: load a model, optionally wrap it in (Q)LoRA, train DPO."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from neurips23.dpo.data import read_preference_jsonl
from neurips23.dpo.trainer import DPOResult, DPOTrainConfig, DPOTrainer
from neurips23.errors import ConfigError


def load_policy(model: str, lora_rank: int = 0, lora_alpha: float = 16.0,
                load_in_4bit: bool = False, device: str | None = None) -> tuple[Any, Any]:
    """(policy, tokenizer): full model, or LoRA on every linear layer of a 16/32-bit or NF4+DQ base."""
    import torch

    from neurips23.lm.adapters import attach_lora, load_base
    from neurips23.lm.models import load_model

    if load_in_4bit and not lora_rank:
        raise ConfigError("--load-4bit needs LoRA (--lora-rank > 0): 4-bit weights cannot be trained")
    if load_in_4bit:
        on_gpu = (device or "").startswith("cuda") or (device is None and torch.cuda.is_available())
        policy, tok = load_base(model, "nf4", double_quant=True,
                                compute_dtype="bfloat16" if on_gpu else "float32", device=device)
    else:
        policy, tok = load_model(model, device=device)
    if lora_rank:
        policy = attach_lora(policy, lora_rank, lora_alpha)
    return policy, tok


def train_dpo(model: str, data: str | Path, cfg: DPOTrainConfig, out_dir: str | Path,
              ref_model: str | None = None, lora_rank: int = 0, lora_alpha: float = 16.0,
              load_in_4bit: bool = False, device: str | None = None,
              progress: bool = True, restart: bool = False) -> tuple[Any, DPOResult]:
    """Train `model` on JSONL preference pairs; saves out_dir/model (or adapter) and dpo_logs.json.

    A checkpoint in `out_dir` from another run (other data, model or settings) is an error
    unless `restart` discards it."""
    from neurips23.lm.models import load_model
    from neurips23.utils import atomic_write_json, seed_everything, set_torch_threads

    set_torch_threads()
    cfg.validate()
    if load_in_4bit and not lora_rank:
        raise ConfigError("--load-4bit needs LoRA (--lora-rank > 0): 4-bit weights cannot be trained")
    seed_everything(cfg.train.seed)  # LoRA's initialisation follows --train.seed too
    pairs = read_preference_jsonl(data)
    policy, tok = load_policy(model, lora_rank, lora_alpha, load_in_4bit, device)
    ref = None
    if ref_model is not None:
        ref, _ = load_model(ref_model, device=device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trainer = DPOTrainer(policy, tok, pairs, cfg, ref_model=ref, out_dir=out, progress=progress,
                         source=str(data), restart=restart)
    result = trainer.train()  # a checkpoint of another run is refused before anything is written
    trainer.model.save_pretrained(out / ("adapter" if lora_rank else "model"))
    tok.save_pretrained(out / ("adapter" if lora_rank else "model"))
    # written with the model it describes, so a refused or failed run never leaves a config
    # that contradicts the model saved beside it
    atomic_write_json(out / "dpo_config.json", {"model": model, "ref_model": ref_model,
                                                "lora_rank": lora_rank, "load_in_4bit": load_in_4bit,
                                                **asdict(cfg)})
    return trainer.model, result
