"""The QLoRA finetuning recipe (§4, artidoro/qlora defaults): a causal LM loaded in 4-bit NF4+DQ by
transformers + bitsandbytes, LoRA adapters (peft) on every linear layer except the LM head, only the
adapters trained (by the shared trainer), and a merge into 16-bit weights. The recipe's settings
(`FinetuneConfig`, its trainer settings nested as `train`) are in `qlora.config`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

from neurips23.errors import ConfigError, DataError, UserError
from neurips23.lm.train import TrainConfig
from neurips23.qlora.config import FinetuneConfig, recipe_train_settings
from neurips23.qlora.quant import QuantState4bit, dequantize_4bit

ADAPTER_DIR = "adapter"
RECIPE_FILE = "qlora.json"


def load_base(name_or_path: str | Path, cfg: FinetuneConfig, device: str | None = None):
    """(model, tokenizer): the base causal LM with its weights stored as ``cfg.weights``."""
    from neurips23.lm.adapters import load_base as load

    return load(name_or_path, cfg.weights, cfg.double_quant, cfg.compute_dtype, device)


def attach_lora(model, cfg: FinetuneConfig):
    """Freeze the base, prepare a k-bit model for training, add LoRA adapters; returns the peft model."""
    from neurips23.lm.adapters import attach_lora as attach

    return attach(model, cfg.rank, cfg.alpha, cfg.dropout, cfg.gradient_checkpointing)


def make_optimizer_factory(cfg: FinetuneConfig, device: str):
    """The trainer's optimizer factory for this recipe (see FinetuneConfig.optimizer)."""
    from neurips23.lm.train import lr_lambda

    if cfg.optimizer not in ("auto", "adamw", "paged_adamw"):
        raise ConfigError(f"optimizer {cfg.optimizer!r}: choose auto, adamw or paged_adamw")
    paged = cfg.optimizer == "paged_adamw" or (cfg.optimizer == "auto" and device.startswith("cuda"))
    if not paged:
        return None  # the shared trainer's AdamW

    def factory(params, tcfg):
        import bitsandbytes as bnb
        import torch

        opt = bnb.optim.PagedAdamW32bit([p for p in params if p.requires_grad], lr=tcfg.lr,
                                        betas=(tcfg.adam_beta1, tcfg.adam_beta2),
                                        weight_decay=tcfg.weight_decay)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(tcfg))

    return factory


def read_training_data(path: str | Path, tokenizer, max_length: int):
    """Examples from JSONL {prompt, response} or {text}; a bad record is named by its line."""
    from neurips23.lm.data import Example, encode_example, read_jsonl

    path = Path(path)
    rows = read_jsonl(path)
    examples = []
    for row in rows:
        lineno = row["_line"]
        if "text" in row and "response" not in row:
            ex = Example("", row["text"])
        elif "response" in row:
            ex = Example(row.get("prompt", ""), row["response"])
        else:
            raise DataError(f"{path}:{lineno}: missing field 'response' "
                            "(expected {prompt, response} or {text})")
        for field in ("prompt", "response"):
            if not isinstance(getattr(ex, field), str):
                raise DataError(f"{path}:{lineno}: field {field!r} should be a string")
        try:
            encode_example(tokenizer, ex, max_length)
        except DataError as e:
            raise DataError(f"{path}:{lineno}: {e}") from None
        examples.append(ex)
    return examples


def finetune(model_name: str | Path, train_examples, cfg: FinetuneConfig, out_dir: Path | None = None,
             eval_examples=None, device: str | None = None, progress: bool = True,
             restart: bool = False):
    """Load the base in 4 bit, attach LoRA, train only the adapters; returns (peft model, tok, result).

    A checkpoint in `out_dir` from another run is an error unless `restart` discards it."""
    from neurips23.lm.adapters import trainable_parameters
    from neurips23.lm.train import train_causal_lm
    from neurips23.utils import seed_everything

    cfg.validate()
    seed_everything(cfg.train.seed)
    model, tok = load_base(model_name, cfg, device)
    model = attach_lora(model, cfg)
    on = str(next(model.parameters()).device)
    result = train_causal_lm(model, tok, train_examples, cfg.train,
                             out_dir=out_dir, eval=eval_examples,
                             params=trainable_parameters(model), progress=progress,
                             make_optimizer=make_optimizer_factory(cfg, on),
                             objective={"recipe": _recipe(cfg), "base": str(model_name)},
                             restart=restart)
    if out_dir is not None:
        save_adapter(model, tok, cfg, model_name, Path(out_dir))
    return model, tok, result


_RECIPE_TRAIN_KEYS = ("steps", "batch_size", "lr", "schedule", "warmup_ratio", "max_grad_norm",
                      "weight_decay", "group_by_length", "max_length", "seed")
"""The trainer settings a recipe held as its own fields before they moved into `train`."""


def _recipe(cfg: FinetuneConfig) -> dict:
    """The recipe's settings that change what is trained, for the checkpoint's fingerprint (the
    trainer's settings are fingerprinted on their own); in the flat form recipes had before
    `train` was nested, so checkpoints written then still resume."""
    flat = {k: v for k, v in asdict(cfg).items() if k != "train"}
    return {**flat, **{k: getattr(cfg.train, k) for k in _RECIPE_TRAIN_KEYS}}


def _saved_recipe(recipe: dict) -> FinetuneConfig:
    """The FinetuneConfig of a saved recipe: nested (`train: {...}`) or the flat form written
    before `train` was nested; TypeError for a key that is neither."""
    train_keys = {f.name for f in fields(TrainConfig)}
    own = {k: v for k, v in recipe.items() if k != "train" and k not in train_keys}
    train = recipe.get("train") if isinstance(recipe.get("train"), dict) else \
        {k: v for k, v in recipe.items() if k in train_keys}
    return FinetuneConfig(**own, train=recipe_train_settings(**train))


def save_adapter(model, tokenizer, cfg: FinetuneConfig, base: str | Path, out_dir: Path) -> Path:
    """Adapter weights (peft format) + tokenizer + the recipe, so `merge` can rebuild the base."""
    from neurips23.utils import atomic_write_json

    target = Path(out_dir) / ADAPTER_DIR
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    base_str = str(base)
    if Path(base_str).exists():
        base_str = str(Path(base_str).resolve())
    atomic_write_json(target / RECIPE_FILE, {"base_model": base_str, "recipe": asdict(cfg)})
    return target


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def quant_state_from_bnb(weight) -> QuantState4bit:
    """Our QuantState4bit view of a bitsandbytes Params4bit (same packed bytes and constants)."""
    from neurips23.qlora.quant import DoubleQuant

    qs = weight.quant_state
    if getattr(qs, "packing_format_for_cpu", False):
        raise UserError("a 4-bit weight in bitsandbytes' CPU inference layout: load the base "
                        "with neurips23.lm.adapters.load_base (or call keep_4bit_reference_path)")
    dq = None
    absmax = qs.absmax.float()
    if qs.nested:
        dq = DoubleQuant(codes=qs.absmax, absmax=qs.state2.absmax, offset=qs.offset,
                         code=qs.state2.code, blocksize=qs.state2.blocksize)
        absmax = None
    return QuantState4bit(packed=weight.data.view(-1, 1).cpu(), absmax=None if dq else absmax.cpu(),
                          shape=tuple(qs.shape), dtype=qs.dtype, blocksize=qs.blocksize,
                          quant_type=qs.quant_type, code=qs.code.cpu(), double_quant=dq)


def dequantize_model_(model, dtype) -> int:
    """Replace every bitsandbytes Linear4bit by an nn.Linear holding dequant(W4) (our codec)."""
    import torch
    from bitsandbytes.nn import Linear4bit

    replaced = 0
    for name, mod in list(model.named_modules()):
        if not isinstance(mod, Linear4bit):
            continue
        parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
        lin = torch.nn.Linear(mod.in_features, mod.out_features, bias=mod.bias is not None,
                              dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(dequantize_4bit(quant_state_from_bnb(mod.weight)).to(dtype))
            if mod.bias is not None:
                lin.bias.copy_(mod.bias.to(dtype))
        setattr(parent, name.rsplit(".", 1)[-1], lin)
        replaced += 1
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the model is now a plain 32/16-bit model: drop the 4-bit flags
        quantizer.remove_quantization_config(model)
    model.is_loaded_in_4bit = False
    return replaced


def merge(adapter_dir: str | Path, out_dir: str | Path, dtype: str = "bfloat16",
          base: str | Path | None = None) -> Path:
    """Write base + LoRA as one 16-bit model: W = dequant(W_NF4) + (alpha/r) B A (not into 4 bit)."""
    import torch
    from peft import PeftModel

    from neurips23.lm.adapters import torch_dtype
    from neurips23.lm.models import save_model

    adapter_dir = Path(adapter_dir)
    if (adapter_dir / ADAPTER_DIR / RECIPE_FILE).exists():
        adapter_dir = adapter_dir / ADAPTER_DIR
    recipe_path = adapter_dir / RECIPE_FILE
    if not recipe_path.exists():
        raise UserError(f"{adapter_dir}: no {RECIPE_FILE} (expected the output of `qlora finetune`)")
    try:
        info = json.loads(recipe_path.read_text())
        cfg = _saved_recipe(info["recipe"])
        base_model = base or info["base_model"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise UserError(f"{recipe_path}: not a recipe written by `qlora finetune` ({e})") from None
    # Load the base exactly as it was trained (same compute dtype, so the same 4-bit codes),
    # then dequantize and do the LoRA arithmetic in float32.
    target = torch_dtype(dtype)
    model, tok = load_base(base_model, cfg)
    if getattr(model, "is_loaded_in_4bit", False):
        dequantize_model_(model, torch.float32)
    model = model.float()  # norms/embeddings were loaded in float32 already; LoRA math in fp32
    peft_model = PeftModel.from_pretrained(model, str(adapter_dir))
    merged = peft_model.merge_and_unload()
    merged = merged.to(target)
    return save_model(merged, tok, out_dir)
