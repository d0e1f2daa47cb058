"""A frozen base in 4 bit (bitsandbytes NF4/FP4, optional double quantization) or 16/32 bit, with
LoRA adapters on every linear layer except the LM head: the loader every method that finetunes a
real model uses (QLoRA's recipe, DPO's LoRA policies).

The one bitsandbytes workaround lives here (`keep_4bit_reference_path`): on CPUs with AVX512-BF16,
bitsandbytes 0.50.2 repacks a `Linear4bit` weight in place the first time it runs in eval mode on
an input without grad, and switches to a bf16 kernel that has no autograd. Afterwards every
backward stops at that layer (a LoRA policy's loss stays put) and evaluation uses other numerics
than training. We turn that path off on every 4-bit layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from neurips23.errors import ConfigError, UserError

WeightFormat = Literal["nf4", "fp4", "bf16", "fp32"]
WEIGHT_FORMATS: tuple[str, ...] = ("nf4", "fp4", "bf16", "fp32")  # 4-bit (QLoRA) or 16/32-bit base


def torch_dtype(name: str):
    """torch dtype from a name (bfloat16/bf16, float16/fp16, float32/fp32)."""
    import torch

    table = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16,
             "fp16": torch.float16, "float32": torch.float32, "fp32": torch.float32}
    if name not in table:
        raise ConfigError(f"dtype {name!r}: choose bfloat16, float16 or float32")
    return table[name]


def quantization_config(weights: str = "nf4", double_quant: bool = True,
                        compute_dtype: str = "bfloat16"):
    """transformers' BitsAndBytesConfig for a 4-bit base (None for a 16/32-bit base)."""
    from transformers import BitsAndBytesConfig

    if weights not in WEIGHT_FORMATS:
        raise ConfigError(f"weights {weights!r}: choose from {', '.join(WEIGHT_FORMATS)}")
    if weights in ("bf16", "fp32"):
        return None
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type=weights,
                              bnb_4bit_use_double_quant=double_quant,
                              bnb_4bit_compute_dtype=torch_dtype(compute_dtype))


def load_base(name_or_path: str | Path, weights: str = "nf4", double_quant: bool = True,
              compute_dtype: str = "bfloat16", device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer): a causal LM whose linear weights are stored as `weights`.

    nf4/fp4 quantize every linear layer but the LM head with bitsandbytes at load time (QLoRA
    §3); bf16 loads the base in `compute_dtype`, fp32 in float32.
    """
    from neurips23.lm.models import load_model

    quant = quantization_config(weights, double_quant, compute_dtype)
    kw: dict[str, Any] = {"dtype": torch_dtype("float32" if weights == "fp32" else compute_dtype)}
    if quant is not None:
        kw["quantization_config"] = quant
        if device and device != "cpu":
            kw["device_map"] = {"": device}
            device = None
    model, tok = load_model(str(name_or_path), device=device, **kw)
    keep_4bit_reference_path(model)
    return model, tok


def keep_4bit_reference_path(model: Any) -> int:
    """Make every bitsandbytes Linear4bit compute x @ dequant(W)^T with autograd, in eval mode too.

    Sets the layer's public `support_avx512bf16_for_cpu` switch off, so no weight is repacked
    for the inference-only kernel. A weight that was repacked already (the model ran inference
    before it reached us) is restored to the standard layout through the layer's public
    `state_dict()`, which bitsandbytes unpacks before saving. Returns the number of 4-bit layers.
    """
    try:
        from bitsandbytes.nn import Linear4bit
    except ImportError:  # no bitsandbytes, so no 4-bit layers
        return 0
    count = 0
    for mod in model.modules():
        if isinstance(mod, Linear4bit):
            mod.support_avx512bf16_for_cpu = False
            if getattr(getattr(mod.weight, "quant_state", None), "packing_format_for_cpu", False):
                mod.state_dict()  # bitsandbytes restores the standard packing before saving
            count += 1
    return count


def adaptable_linears(model: Any) -> dict[str, tuple[int, int]]:
    """name -> (in_features, out_features) of every linear layer except the LM head (QLoRA §4)."""
    import torch

    try:
        from transformers.pytorch_utils import Conv1D
    except ImportError:  # pragma: no cover
        Conv1D = ()  # noqa: N806
    out_emb = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    found: dict[str, tuple[int, int]] = {}
    for name, mod in model.named_modules():
        if mod is out_emb or name.split(".")[-1] == "lm_head":
            continue
        if isinstance(mod, torch.nn.Linear):
            found[name] = (mod.in_features, mod.out_features)
        elif Conv1D and isinstance(mod, Conv1D):
            found[name] = (mod.weight.shape[0], mod.weight.shape[1])
    return found


def lora_target_modules(model: Any) -> list[str]:
    """Leaf names of every linear layer except the LM head (LoRA on *all* linear layers, §4)."""
    names = sorted({name.split(".")[-1] for name in adaptable_linears(model)})
    if not names:
        raise UserError(f"{type(model).__name__} has no linear layers to adapt with LoRA "
                        "(the LM head is never adapted)")
    return names


def attach_lora(model: Any, rank: int, alpha: float = 16.0, dropout: float = 0.0,
                gradient_checkpointing: bool = False) -> Any:
    """Freeze the base, prepare a 4-bit base for training, add LoRA adapters; the peft model."""
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    targets = lora_target_modules(model)
    if getattr(model, "is_loaded_in_4bit", False):
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=gradient_checkpointing)
    else:
        for p in model.parameters():
            p.requires_grad_(False)
        if gradient_checkpointing:
            model.gradient_checkpointing_enable()
            model.enable_input_require_grads()
    lora = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                      bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def trainable_parameters(model: Any) -> list:
    """The parameters that get gradients (the adapters of a LoRA model)."""
    return [p for p in model.parameters() if p.requires_grad]
