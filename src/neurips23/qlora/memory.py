"""Memory of QLoRA (§2 "Memory requirement", §3 double quantization): the accounting from a
config alone, the bytes a loaded model's frozen weights occupy, and the measured peak memory of
one LoRA training step in a fresh process.

For the accounting the model is instantiated on PyTorch's ``meta`` device, so only parameter
*shapes* exist: any architecture transformers knows works, and no weights are read or downloaded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from neurips23.errors import UserError

GB = 1e9


def bits_per_parameter(blocksize: int = 64, double_quant: bool = True,
                       nested_blocksize: int = 256) -> float:
    """4 bits per code + the block constants: 32/64 = 0.5 without DQ, 8/64 + 32/(64*256) with DQ."""
    if not double_quant:
        return 4 + 32 / blocksize
    return 4 + 8 / blocksize + 32 / (blocksize * nested_blocksize)


@dataclass
class MemoryReport:
    """Bytes of a finetune under full 16-bit, 16-bit LoRA and QLoRA (NF4, NF4+DQ) storage."""

    model: str
    n_params: int
    n_quantized: int  # weights of the linear layers that are stored in 4 bit (not lm_head)
    n_kept_16bit: int  # embeddings, norms, biases, lm_head
    n_adapted_layers: int
    rank: int
    n_lora: int
    bits_16bit: float
    bits_nf4: float
    bits_nf4_dq: float
    weights_16bit_bytes: float
    weights_nf4_bytes: float
    weights_nf4_dq_bytes: float
    lora_bytes: float  # adapter weights + gradients (16-bit) + AdamW states (2 x fp32)
    activation_bytes: float  # rough: checkpointed layer inputs + one layer + logits
    full_finetune_bytes: float  # 16-bit weights + 16-bit grads + 2 x fp32 Adam states
    lora_16bit_bytes: float
    qlora_nf4_bytes: float
    qlora_nf4_dq_bytes: float

    @property
    def model_bits_nf4_dq(self) -> float:
        """Average bits per parameter over the whole model under NF4+DQ (16-bit parts included)."""
        return 8 * self.weights_nf4_dq_bytes / self.n_params

    def fits(self, gpu_gb: float) -> dict[str, bool]:
        limit = gpu_gb * GB
        return {
            "full 16-bit finetune": self.full_finetune_bytes <= limit,
            "16-bit LoRA": self.lora_16bit_bytes <= limit,
            "QLoRA NF4": self.qlora_nf4_bytes <= limit,
            "QLoRA NF4+DQ": self.qlora_nf4_dq_bytes <= limit,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_config(model_or_config: Any):
    """A transformers config from a model, a config, a tiny size name, or a local path/hub name."""
    from transformers import AutoConfig, PretrainedConfig, PreTrainedModel

    from neurips23.lm.models import TINY_CONFIGS

    if isinstance(model_or_config, PreTrainedModel):
        return model_or_config.config
    if isinstance(model_or_config, PretrainedConfig):
        return model_or_config
    name = str(model_or_config)
    if name in TINY_CONFIGS:
        from transformers import LlamaConfig

        dims = dict(TINY_CONFIGS[name])
        return LlamaConfig(vocab_size=128, num_key_value_heads=dims["num_attention_heads"],
                           tie_word_embeddings=True, **dims)
    path = Path(name).expanduser()
    if path.exists() and path.is_file() and path.name.endswith(".json"):
        path = path.parent
    if (path.exists() or name.startswith((".", "/", "~"))) and not (path / "config.json").exists():
        raise UserError(f"{path}: no config.json (expected a model directory, a config.json, "
                        "a tiny size name or a hub model name)")
    try:
        return AutoConfig.from_pretrained(str(path) if path.exists() else name)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read a model config from {name!r}: "
                        f"{str(e).splitlines()[0]}") from None


def _meta_model(config):
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        try:
            return AutoModelForCausalLM.from_config(config)
        except ValueError as e:
            raise UserError(f"not a causal LM config ({type(config).__name__}): "
                            f"{str(e).splitlines()[0]}") from None


def memory_report(model_or_config: Any, rank: int = 64, blocksize: int = 64,
                  nested_blocksize: int = 256, batch_size: int = 1, seq_len: int = 512) -> MemoryReport:
    """Bits/param and bytes of full, LoRA and QLoRA finetuning of a model, from its config alone."""
    from transformers import PreTrainedModel

    from neurips23.lm.adapters import adaptable_linears

    if rank <= 0:
        raise UserError(f"LoRA rank must be positive, got {rank}")
    config = model_config(model_or_config)
    model = model_or_config if isinstance(model_or_config, PreTrainedModel) else _meta_model(config)
    linears = adaptable_linears(model)
    if not linears:
        raise UserError(f"{type(model).__name__} has no linear layers to quantize and adapt")
    modules = dict(model.named_modules())
    seen: set[int] = set()
    n_params = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n_params += p.numel()
    n_quant = sum(modules[name].weight.numel() for name in linears)
    n_keep = n_params - n_quant
    n_lora = sum(rank * (i + o) for i, o in linears.values())

    b_nf4 = bits_per_parameter(blocksize, False)
    b_dq = bits_per_parameter(blocksize, True, nested_blocksize)
    w16 = 2.0 * n_params
    w_nf4 = n_quant * b_nf4 / 8 + 2.0 * n_keep
    w_dq = n_quant * b_dq / 8 + 2.0 * n_keep
    lora = 12.0 * n_lora  # 2 (bf16 weight) + 2 (bf16 grad) + 8 (two fp32 AdamW moments)

    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 0)
    inter = int(getattr(config, "intermediate_size", 0) or getattr(config, "n_inner", 0)
                or 4 * hidden)
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    tokens = batch_size * seq_len
    # gradient checkpointing: one bf16 hidden state per layer, one layer's full activations
    # (~ attention + MLP intermediates) recomputed in backward, fp32 logits and their gradient
    activations = tokens * (2 * hidden * layers + 2 * (8 * hidden + 3 * inter) + 8 * vocab)

    return MemoryReport(
        model=getattr(config, "_name_or_path", "") or type(model).__name__,
        n_params=n_params, n_quantized=n_quant, n_kept_16bit=n_keep,
        n_adapted_layers=len(linears), rank=rank, n_lora=n_lora,
        bits_16bit=16.0, bits_nf4=b_nf4, bits_nf4_dq=b_dq,
        weights_16bit_bytes=w16, weights_nf4_bytes=w_nf4, weights_nf4_dq_bytes=w_dq,
        lora_bytes=lora, activation_bytes=float(activations),
        full_finetune_bytes=12.0 * n_params + activations,
        lora_16bit_bytes=w16 + lora + activations,
        qlora_nf4_bytes=w_nf4 + lora + activations,
        qlora_nf4_dq_bytes=w_dq + lora + activations,
    )


def format_report(rep: MemoryReport, gpu_gb: float | None = None) -> list[tuple[str, str]]:
    """Rows (label, value) for printing."""
    def gb(x: float) -> str:
        return f"{x / GB:,.3f} GB"

    rows = [
        ("model", rep.model),
        ("parameters", f"{rep.n_params:,} ({rep.n_quantized:,} in {rep.n_adapted_layers} "
                       f"linear layers stored in 4 bit)"),
        ("bits/param of quantized weights", f"16-bit {rep.bits_16bit:g}, NF4 {rep.bits_nf4:.3f}, "
                                            f"NF4+DQ {rep.bits_nf4_dq:.3f}"),
        ("weights 16-bit / NF4 / NF4+DQ", f"{gb(rep.weights_16bit_bytes)} / "
                                          f"{gb(rep.weights_nf4_bytes)} / "
                                          f"{gb(rep.weights_nf4_dq_bytes)}"),
        (f"LoRA r={rep.rank} adapters + grads + AdamW", f"{gb(rep.lora_bytes)} "
                                                        f"({rep.n_lora:,} params)"),
        ("activations (rough, checkpointed)", gb(rep.activation_bytes)),
        ("total: full 16-bit finetune", gb(rep.full_finetune_bytes)),
        ("total: 16-bit LoRA", gb(rep.lora_16bit_bytes)),
        ("total: QLoRA NF4", gb(rep.qlora_nf4_bytes)),
        ("total: QLoRA NF4+DQ", gb(rep.qlora_nf4_dq_bytes)),
    ]
    if gpu_gb is not None:
        for k, ok in rep.fits(gpu_gb).items():
            rows.append((f"fits in {gpu_gb:g} GB: {k}", "yes" if ok else "no"))
    return rows


def storage_bytes(model) -> dict[str, float]:
    """Measured bytes of the frozen base: linear weights (incl. 4-bit constants) and the rest."""
    import torch

    lin_bytes, lin_params, other = 0, 0, 0
    seen: set[int] = set()
    for mod in model.modules():
        w = getattr(mod, "weight", None)
        if w is None or id(w) in seen:  # peft wrappers expose their base layer's weight again
            continue
        qs = getattr(w, "quant_state", None)
        if qs is not None:
            seen.add(id(w))
            lin_bytes += w.data.numel() * w.data.element_size()
            lin_params += int(torch.Size(qs.shape).numel())
            consts = [qs.absmax] + ([qs.state2.absmax, qs.offset] if qs.nested else [])
            lin_bytes += sum(t.numel() * t.element_size() for t in consts)
        elif isinstance(mod, torch.nn.Linear) and "lora_" not in type(mod).__name__ and \
                not w.requires_grad and mod is not model.get_output_embeddings():
            seen.add(id(w))
            lin_bytes += w.numel() * w.element_size()
            lin_params += w.numel()
    for p in model.parameters():
        if id(p) not in seen and not p.requires_grad:
            seen.add(id(p))
            other += p.numel() * p.element_size()
    return {"linear_bytes": float(lin_bytes), "linear_params": float(lin_params),
            "linear_bits_per_param": 8 * lin_bytes / max(lin_params, 1), "other_bytes": float(other)}
