"""QLoRA (Dettmers et al., NeurIPS 2023): NF4, double quantization, 4-bit LoRA finetuning."""

from neurips23.qlora.quant import (
    QuantizationError,
    QuantState4bit,
    dequantize_4bit,
    dequantize_nf4,
    fp4_codebook,
    int4_codebook,
    nf4_codebook,
    quantization_mse,
    quantize_4bit,
    quantize_fp4,
    quantize_int4,
    quantize_nf4,
)

__all__ = [
    "QuantState4bit", "QuantizationError", "dequantize_4bit", "dequantize_nf4", "fp4_codebook",
    "int4_codebook", "nf4_codebook", "quantization_mse", "quantize_4bit", "quantize_fp4",
    "quantize_int4", "quantize_nf4",
]
