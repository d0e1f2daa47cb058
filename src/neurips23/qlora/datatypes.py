"""4-bit data types compared on a real model (QLoRA §3, Table 2): the quantization error of each
type on the model's weight matrices, and the perplexity when every linear weight is stored in it.

The paper quantizes LLaMA's linear weights to Int4, FP4 or NF4+DQ (blocksize 64) and reports
mean Pile-CC perplexity (Int4 34.34, FP4 31.07, NF4+DQ 27.41). Here: SmolLM2-135M-Instruct, whose
linear weights (all but the embeddings / tied LM head) are quantized with our codec, dequantized
and evaluated on English prose from Python's own documentation (`pydoc_data.topics`, shipped with
every CPython), cut into chunks of equal token length so a bootstrap over chunks gives intervals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# name -> (quant_type, double_quant); "bf16" is the 16-bit reference
TABLE2_TYPES: dict[str, tuple[str, bool] | None] = {
    "bf16": None, "int4": ("int4", False), "fp4": ("fp4", False), "nf4": ("nf4", False),
    "nf4_dq": ("nf4", True),
}
PAPER_TABLE2 = {"int4": 34.34, "fp4": 31.07, "nf4_dq": 27.41}  # mean Pile-CC perplexity, LLaMA
HELD_OUT_SOURCE = "pydoc_data.topics"


def held_out_prose(min_chars: int = 200) -> str:
    """The prose paragraphs of Python's documentation topics (`pydoc_data.topics`), in key order.

    Paragraphs are blank-line separated; indented blocks (code, grammar), headings and
    paragraphs shorter than `min_chars` or with few letters are dropped.
    """
    from pydoc_data.topics import topics

    kept = []
    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            lines = para.splitlines()
            if not lines or any(line.startswith((" ", "\t")) for line in lines):
                continue
            text = " ".join(line.strip() for line in lines)
            letters = sum(c.isalpha() or c.isspace() for c in text)
            if len(text) >= min_chars and letters >= 0.9 * len(text) and not set(text) <= set("*=-"):
                kept.append(text)
    return "\n\n".join(kept)


def text_chunks(tokenizer: Any, text: str, n_chunks: int, chunk_tokens: int) -> list[list[int]]:
    """The first `n_chunks` consecutive windows of `chunk_tokens` token ids of `text`."""
    from neurips23.errors import DataError

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < n_chunks * chunk_tokens:
        raise DataError(f"{HELD_OUT_SOURCE}: {len(ids):,} tokens of prose, fewer than "
                        f"{n_chunks} x {chunk_tokens} asked for")
    return [ids[i * chunk_tokens:(i + 1) * chunk_tokens] for i in range(n_chunks)]


def quantize_linear_weights_(model: Any, quant_type: str | None, double_quant: bool = False,
                             blocksize: int = 64) -> list[float]:
    """Replace every linear weight but the LM head by dequant(quant(W)) of our codec (in place).

    Weights are first rounded to bf16 (the paper's 16-bit models); `quant_type=None` stops
    there (the 16-bit reference). Returns the round-trip MSE of each matrix (against its bf16
    weights; empty for the reference).
    """
    import torch

    from neurips23.lm.adapters import adaptable_linears
    from neurips23.qlora.quant import dequantize_4bit, quantize_4bit

    modules = dict(model.named_modules())
    mse = []
    with torch.no_grad():
        for name in adaptable_linears(model):
            w = modules[name].weight
            w16 = w.detach().to(torch.bfloat16)
            if quant_type is not None:
                w_hat = dequantize_4bit(quantize_4bit(w16, quant_type, blocksize, double_quant))
                mse.append(float(((w_hat.double() - w16.double()) ** 2).mean()))
                w16 = w_hat
            w.copy_(w16.to(w.dtype))
    return mse


def chunk_nll(model: Any, chunks: Sequence[Sequence[int]], batch_size: int = 8) -> list[float]:
    """Summed next-token negative log-likelihood of each chunk (its first token is context only)."""
    import torch

    out: list[float] = []
    with torch.no_grad():
        for i in range(0, len(chunks), batch_size):
            ids = torch.tensor(chunks[i:i + batch_size])
            logits = model(input_ids=ids).logits[:, :-1].float()
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:],
                                                    reduction="none")
            out.extend(nll.sum(-1).tolist())
    return out


@dataclass
class PerplexityTable:
    """Per-chunk summed NLL of each storage type on the same chunks, the tokens scored per
    chunk, and each 4-bit type's round-trip MSE per weight matrix."""

    nll: dict[str, list[float]]
    tokens_per_chunk: int
    mse: dict[str, list[float]]

    def perplexity(self, kind: str) -> float:
        """exp(mean NLL per token) over all chunks."""
        return math.exp(sum(self.nll[kind]) / (self.tokens_per_chunk * len(self.nll[kind])))

    def log_ppl_difference(self, a: str, b: str, seed: int = 0, n_boot: int = 2000
                           ) -> tuple[float, float, float]:
        """log ppl(a) − log ppl(b), with a paired percentile bootstrap over chunks."""
        from neurips23.core.stats import bootstrap_ci

        pairs = list(zip(self.nll[a], self.nll[b], strict=True))

        def stat(sample: Sequence[tuple[float, float]]) -> float:
            return sum(x - y for x, y in sample) / (self.tokens_per_chunk * len(sample))

        return bootstrap_ci(pairs, stat, n_boot=n_boot, seed=seed)


def table2_perplexities(model: Any, tokenizer: Any, n_chunks: int, chunk_tokens: int = 256,
                        kinds: Sequence[str] = tuple(TABLE2_TYPES), blocksize: int = 64,
                        log: Any = None) -> PerplexityTable:
    """Perplexity of `model` on held-out prose with its linear weights stored in each type, and
    each type's error per weight matrix (the model's weights are restored afterwards)."""
    import torch

    original = {n: p.detach().clone() for n, p in model.named_parameters()}
    chunks = text_chunks(tokenizer, held_out_prose(), n_chunks, chunk_tokens)
    nll: dict[str, list[float]] = {}
    mse: dict[str, list[float]] = {}
    try:
        for kind in kinds:
            spec = TABLE2_TYPES[kind]
            errors = quantize_linear_weights_(model, *(spec or (None, False)), blocksize=blocksize)
            if spec is not None:
                mse[kind] = errors
            nll[kind] = chunk_nll(model, chunks)
            if log is not None:
                ppl = math.exp(sum(nll[kind]) / (len(chunks) * (chunk_tokens - 1)))
                log(f"{kind}: perplexity {ppl:.2f}")
            with torch.no_grad():
                for n, p in model.named_parameters():
                    p.copy_(original[n])
    finally:
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(original[n])
    return PerplexityTable(nll, chunk_tokens - 1, mse)
