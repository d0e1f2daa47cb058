"""QLoRA (Dettmers et al., NeurIPS 2023): NF4, double quantization, 4-bit LoRA finetuning.

The codec names are imported lazily (PEP 562) so that `neurips23 --help` does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "QuantState4bit", "QuantizationError", "dequantize_4bit", "dequantize_nf4", "fp4_codebook",
    "int4_codebook", "nf4_codebook", "quantization_mse", "quantize_4bit", "quantize_fp4",
    "quantize_int4", "quantize_nf4",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("neurips23.qlora.quant"), name)
    raise AttributeError(f"module 'neurips23.qlora' has no attribute {name!r}")
