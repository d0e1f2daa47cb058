"""QLoRA's 4-bit storage (Dettmers et al., 2023, §3): NF4 / FP4 / Int4 codebooks, blockwise
absmax quantization, and double quantization of the quantization constants.

The layout follows bitsandbytes 0.50.2 so that our bytes can be checked against it:

* the tensor is flattened row-major and cut into blocks of ``blocksize`` values (the last block
  may be partial); each block is scaled by its absolute maximum into [-1, 1];
* every scaled value gets the index of its nearest code (ties go to the lower code);
* two 4-bit indices share a byte, the first in the high nibble; an odd length is padded by 0.0;
* double quantization (DQ) subtracts the mean of the fp32 block constants and quantizes them
  with an 8-bit signed dynamic data type in blocks of 256.

Everything is vectorised torch; nothing here imports bitsandbytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import torch

from neurips23.errors import UserError

FLOAT_DTYPES = (torch.float32, torch.bfloat16, torch.float16)
QUANT_TYPES = ("nf4", "fp4", "int4")
NF4_OFFSET = 0.9677083  # outermost quantile; chosen in bitsandbytes so the type spans ~1.85 sigma


class QuantizationError(UserError):
    """A tensor or setting that cannot be quantized as asked (dtype, emptiness, block size)."""


# --------------------------------------------------------------------------------------------
# Codebooks
# --------------------------------------------------------------------------------------------


def nf4_codebook(offset: float = NF4_OFFSET) -> torch.Tensor:
    """The 16 NormalFloat4 values (§3, eq. 4 and App. E): normal quantiles, exact zero, in [-1, 1].

    The type is asymmetric so that zero is representable: 8 quantiles for the positive half, 7 for
    the negative half, plus 0. Each half is built from equally spaced probabilities between
    ``offset`` and 0.5, mapped through the N(0, 1) quantile function and normalised by the max.
    """
    positive = torch.special.ndtri(torch.linspace(offset, 0.5, 9)[:-1].double()).float()
    negative = -torch.special.ndtri(torch.linspace(offset, 0.5, 8)[:-1].double()).float()
    values = torch.cat([positive, torch.zeros(1), negative]).sort().values
    return values / values.max()  # normalise in fp32, as the reference table was built


def fp4_codebook() -> torch.Tensor:
    """FP4 (E2M1, §3 "4-bit NormalFloat" baseline) as bitsandbytes encodes it, indexed by bit pattern.

    Bit layout ``s e1 e0 m``: exponent field e>0 gives (1 + m/2) * 2^(4-e); e=0 is subnormal
    (m/16). The 16 values are normalised by the largest magnitude (12) into [-1, 1].
    """
    magnitudes = []
    for e in range(4):
        for m in range(2):
            magnitudes.append(m / 16 if e == 0 else (1 + m / 2) * 2.0 ** (4 - e))
    values = torch.tensor(magnitudes + [-v for v in magnitudes], dtype=torch.float32)
    return values / values.abs().max()


def int4_codebook() -> torch.Tensor:
    """Symmetric 4-bit integer absmax quantization (the paper's "Int4" baseline): k/7, k=-7..7."""
    return torch.arange(-7, 8, dtype=torch.float32) / 7


def dynamic_map_8bit(max_exponent_bits: int = 7, total_bits: int = 8) -> torch.Tensor:
    """The signed 8-bit dynamic tree type (Dettmers, 2015) that DQ uses for the constants (§3).

    A run of zero exponent bits sets the decade 10^-(6-i); the remaining bits are a linear
    fraction in [0.1, 1] (bin centres). Plus 0 and 1.0; 256 sorted values.
    """
    non_sign_bits = total_bits - 1
    data: list[float] = []
    for i in range(max_exponent_bits):
        n_fraction = 2 ** (i + non_sign_bits - max_exponent_bits) + 1
        edges = torch.linspace(0.1, 1, n_fraction, dtype=torch.float32)
        centres = (edges[:-1] + edges[1:]) / 2.0
        scale = 10 ** (-(max_exponent_bits - 1) + i)
        data += (scale * centres).tolist()  # fp32 product, as in the reference construction
        data += (-scale * centres).tolist()
    data += [0.0, 1.0]
    data += [0.0] * (2**total_bits - len(data))
    return torch.tensor(sorted(data), dtype=torch.float32)


def codebook(quant_type: str) -> torch.Tensor:
    """The 16-entry (Int4: 15) code table of ``quant_type`` in storage order."""
    if quant_type == "nf4":
        return nf4_codebook()
    if quant_type == "fp4":
        return fp4_codebook()
    if quant_type == "int4":
        return int4_codebook()
    raise QuantizationError(f"quant_type must be one of {QUANT_TYPES}, got {quant_type!r}")


# --------------------------------------------------------------------------------------------
# Quantized state
# --------------------------------------------------------------------------------------------


@dataclass
class DoubleQuant:
    """Second-level state of DQ: 8-bit codes of (absmax - offset), their own fp32 absmax."""

    codes: torch.Tensor  # uint8, one per first-level block
    absmax: torch.Tensor  # fp32, one per `blocksize` constants
    offset: torch.Tensor  # 0-d fp32, the mean that was subtracted
    code: torch.Tensor  # the 8-bit dynamic map
    blocksize: int = 256


@dataclass
class QuantState4bit:
    """Everything needed to dequantize a 4-bit tensor (packed codes + constants + metadata)."""

    packed: torch.Tensor  # uint8, shape ((n + 1) // 2, 1), first value in the high nibble
    absmax: torch.Tensor | None  # fp32 per block, or None when double-quantized
    shape: tuple[int, ...]
    dtype: torch.dtype
    blocksize: int
    quant_type: str
    code: torch.Tensor
    double_quant: DoubleQuant | None = None

    @property
    def numel(self) -> int:
        return prod(self.shape)

    def nbytes(self) -> int:
        """Storage bytes: packed codes plus the (possibly double-quantized) constants."""
        total = self.packed.numel()
        if self.double_quant is None:
            assert self.absmax is not None
            return total + 4 * self.absmax.numel()
        dq = self.double_quant
        return total + dq.codes.numel() + 4 * dq.absmax.numel() + 4

    def bits_per_parameter(self) -> float:
        return 8 * self.nbytes() / self.numel


# --------------------------------------------------------------------------------------------
# Blockwise absmax quantization (generic over the code table)
# --------------------------------------------------------------------------------------------


def _check_tensor(w: torch.Tensor, blocksize: int) -> None:
    if not isinstance(w, torch.Tensor):
        raise QuantizationError(f"expected a torch.Tensor, got {type(w).__name__}")
    if w.dtype not in FLOAT_DTYPES:
        raise QuantizationError(
            f"cannot quantize a tensor of dtype {w.dtype}: expected float32, bfloat16 or float16"
        )
    if w.numel() == 0:
        raise QuantizationError(f"cannot quantize an empty tensor (shape {tuple(w.shape)})")
    if blocksize <= 0 or blocksize % 2:
        raise QuantizationError(f"blocksize must be a positive even number, got {blocksize}")


def blockwise_absmax(flat: torch.Tensor, blocksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a flat fp32 tensor into blocks; return (absmax per block, values scaled to [-1, 1]).

    Full blocks are multiplied by the fp32 reciprocal of their absmax (clamped to >= 1e-38);
    the partial tail block is divided by its clamped absmax. This is bitsandbytes' arithmetic.
    """
    n = flat.numel()
    full = n - n % blocksize
    head = flat[:full].view(-1, blocksize)
    absmax = head.abs().amax(dim=1)
    scaled = (head * (1.0 / absmax.clamp(min=1e-38)).unsqueeze(1)).clamp_(-1, 1).view(-1)
    if full < n:
        tail_max = flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, tail_max.view(1)])
        scaled = torch.cat([scaled, (flat[full:] / tail_max).clamp_(-1, 1)])
    return absmax, scaled


def nearest_code(scaled: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """Index (into ``code``) of the nearest code value; exact ties go to the lower value."""
    values, order = torch.sort(code, stable=True)
    midpoints = (values[:-1] + values[1:]) / 2
    return order[torch.bucketize(scaled, midpoints)]


def pack_nibbles(indices: torch.Tensor) -> torch.Tensor:
    """Two 4-bit indices per byte, the first in the high nibble; shape ``(n_bytes, 1)``."""
    q = indices.to(torch.uint8)
    return ((q[0::2] << 4) | q[1::2]).unsqueeze(1)


def unpack_nibbles(packed: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of :func:`pack_nibbles`: the first ``n`` 4-bit indices as int64."""
    flat = packed.reshape(-1)
    out = torch.stack([flat >> 4, flat & 0xF], dim=1).reshape(-1)
    return out[:n].long()


def quantize_blockwise_8bit(
    x: torch.Tensor, code: torch.Tensor, blocksize: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """8-bit blockwise absmax quantization (nearest code) used by DQ; returns (codes, absmax)."""
    n = x.numel()
    full = n - n % blocksize
    head = x[:full].view(-1, blocksize)
    absmax = head.abs().amax(dim=1)
    scaled = (head / absmax.clamp(min=1e-38).unsqueeze(1)).view(-1)
    if full < n:
        tail_max = x[full:].abs().max()
        absmax = torch.cat([absmax, tail_max.view(1)])
        scaled = torch.cat([scaled, x[full:] / tail_max.clamp(min=1e-38)])
    return nearest_code(scaled.clamp(-1, 1), code).to(torch.uint8), absmax


def dequantize_blockwise_8bit(
    codes: torch.Tensor, absmax: torch.Tensor, code: torch.Tensor, blocksize: int = 256
) -> torch.Tensor:
    """code[q] * absmax[block] in fp32 (flat)."""
    values = code[codes.reshape(-1).long()]
    full = values.numel() - values.numel() % blocksize
    values[:full].view(-1, blocksize).mul_(absmax[: full // blocksize].unsqueeze(1))
    if full < values.numel():
        values[full:].mul_(absmax[-1])
    return values


def double_quantize(absmax: torch.Tensor, blocksize: int = 256) -> DoubleQuant:
    """DQ (§3): subtract the mean of the positive constants, then 8-bit blockwise quantize them."""
    offset = absmax.mean()
    code = dynamic_map_8bit()
    codes, absmax2 = quantize_blockwise_8bit(absmax - offset, code, blocksize)
    return DoubleQuant(codes=codes, absmax=absmax2, offset=offset, code=code, blocksize=blocksize)


def double_dequantize(dq: DoubleQuant) -> torch.Tensor:
    """The fp32 block constants recovered from DQ: dyn[q8] * absmax2 + offset."""
    return dequantize_blockwise_8bit(dq.codes, dq.absmax, dq.code, dq.blocksize) + dq.offset


CHUNK = 1 << 17  # values per chunk: whole blocks; keeps temporaries small and cache-resident


def _chunks(n: int, blocksize: int):
    step = blocksize * max(1, CHUNK // blocksize)
    for start in range(0, n, step):
        yield start, min(n, start + step)


def quantize_4bit(
    w: torch.Tensor,
    quant_type: str = "nf4",
    blocksize: int = 64,
    double_quant: bool = False,
) -> QuantState4bit:
    """Blockwise absmax 4-bit quantization of ``w`` (§3, eq. 1 with the NF4/FP4/Int4 code)."""
    _check_tensor(w, blocksize)
    code = codebook(quant_type)
    flat = w.detach().reshape(-1)
    n = flat.numel()
    packed = torch.empty((n + 1) // 2, 1, dtype=torch.uint8)
    absmax = torch.empty(-(-n // blocksize), dtype=torch.float32)
    for start, stop in _chunks(n, blocksize):  # start is a multiple of blocksize (and even)
        chunk_absmax, scaled = blockwise_absmax(flat[start:stop].float(), blocksize)
        absmax[start // blocksize: start // blocksize + chunk_absmax.numel()] = chunk_absmax
        if scaled.numel() % 2:
            scaled = torch.cat([scaled, scaled.new_zeros(1)])
        packed[start // 2: start // 2 + scaled.numel() // 2] = pack_nibbles(
            nearest_code(scaled, code))
    dq = double_quantize(absmax) if double_quant else None
    return QuantState4bit(
        packed=packed,
        absmax=None if double_quant else absmax,
        shape=tuple(w.shape),
        dtype=w.dtype,
        blocksize=blocksize,
        quant_type=quant_type,
        code=code,
        double_quant=dq,
    )


def block_constants(state: QuantState4bit) -> torch.Tensor:
    """The fp32 absmax of every block (double-dequantized when DQ was used)."""
    if state.double_quant is not None:
        return double_dequantize(state.double_quant)
    assert state.absmax is not None
    return state.absmax


_PAIR_TABLES: dict[tuple[float, ...], torch.Tensor] = {}


def _pair_table(code: torch.Tensor) -> torch.Tensor:
    """256 x 2 table: the (high-nibble, low-nibble) code values of every byte (cached per code)."""
    key = tuple(code.tolist())
    if key not in _PAIR_TABLES:
        padded = torch.nn.functional.pad(code, (0, 16 - code.numel()))  # Int4 has 15 codes
        byte = torch.arange(256)
        _PAIR_TABLES[key] = torch.stack([padded[byte >> 4], padded[byte & 0xF]], dim=1).contiguous()
    return _PAIR_TABLES[key]


def dequantize_4bit(state: QuantState4bit) -> torch.Tensor:
    """code[q] * absmax[block] in fp32, reshaped and cast back to the original dtype.

    One pass per chunk of whole blocks, all in cache: the packed bytes become int32 indices,
    one 64-bit gather per byte from a 256-entry table of (high, low) code-value pairs writes
    both values at once (straight into an fp32 output), and an in-place multiply by the block
    constants finishes them; other dtypes are cast on the copy out, as bitsandbytes casts.
    """
    n, bs = state.numel, state.blocksize
    absmax = block_constants(state)
    packed = state.packed.reshape(-1)
    table = _pair_table(state.code).view(torch.int64).view(256)
    out = torch.empty(n, dtype=state.dtype)
    step = min(bs * max(1, CHUNK // bs), n + n % 2)  # temporaries no larger than needed
    index = torch.empty((step + 1) // 2, dtype=torch.int32)
    buffer = None
    for start, stop in _chunks(n, bs):  # start is a multiple of blocksize, so even
        m = stop - start
        nbytes = (m + 1) // 2
        index[:nbytes].copy_(packed[start // 2: start // 2 + nbytes])
        if state.dtype == torch.float32 and m % 2 == 0:
            values = out[start:stop]
        else:
            buffer = torch.empty(step + 1, dtype=torch.float32) if buffer is None else buffer
            values = buffer[: 2 * nbytes]
        torch.index_select(table, 0, index[:nbytes], out=values.view(torch.int64))
        values = values[:m]
        full, first = m - m % bs, start // bs
        values[:full].view(-1, bs).mul_(absmax[first: first + full // bs].unsqueeze(1))
        if full < m:
            values[full:].mul_(absmax[-1])
        if values.data_ptr() != out[start:stop].data_ptr():
            out[start:stop].copy_(values)
    return out.view(state.shape)


# --------------------------------------------------------------------------------------------
# The paper's named entry points
# --------------------------------------------------------------------------------------------


def quantize_nf4(w: torch.Tensor, blocksize: int = 64, double_quant: bool = True) -> QuantState4bit:
    """NF4 quantization of ``w`` (§3), with double quantization of the constants by default."""
    return quantize_4bit(w, "nf4", blocksize, double_quant)


def dequantize_nf4(state: QuantState4bit) -> torch.Tensor:
    """Inverse of :func:`quantize_nf4` (works for any :class:`QuantState4bit`)."""
    return dequantize_4bit(state)


def quantize_fp4(w: torch.Tensor, blocksize: int = 64, double_quant: bool = False) -> QuantState4bit:
    """FP4 (E2M1) blockwise quantization, the paper's main 4-bit float baseline."""
    return quantize_4bit(w, "fp4", blocksize, double_quant)


def quantize_int4(w: torch.Tensor, blocksize: int = 64, double_quant: bool = False) -> QuantState4bit:
    """Int4 blockwise absmax quantization (round(x / absmax * 7) / 7), the paper's Int4 baseline."""
    return quantize_4bit(w, "int4", blocksize, double_quant)


def quantization_mse(w: torch.Tensor, quant_type: str, blocksize: int = 64, double_quant: bool = False) -> float:
    """Mean squared error of a quantize/dequantize round trip of ``w`` (in fp64)."""
    w_hat = dequantize_4bit(quantize_4bit(w, quant_type, blocksize, double_quant))
    return float(((w_hat.double() - w.double()) ** 2).mean())
