"""Exact and near-duplicate removal: MinHash signatures with LSH banding, verified by exact Jaccard.

Near duplicates are pairs whose character k-gram sets have Jaccard similarity ≥ `threshold`
(character shingles, so the method works for languages written without spaces). MinHash
(Broder 1997) estimates Jaccard: for a random hash h, P[min h(A) = min h(B)] = J(A, B).
Signatures of `num_perm` hashes are cut into `bands` bands of `rows` rows; two texts become
candidates when any band matches, with probability 1 − (1 − J^rows)^bands (the LSH S-curve).
Every candidate pair is then checked with the exact Jaccard of its shingle sets, so a removal
never rests on an estimate: precision is exact and recall at the threshold is at least the
S-curve's value there (`lsh_recall`, ≥ 0.999 by default).

Removal is greedy in input order: a text is dropped when it is a near duplicate of a text
already kept, so the first occurrence survives and no text is dropped because of a text that
was itself dropped.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

MERSENNE_61 = (1 << 61) - 1
_SPACE = re.compile(r"\s+")


def canonical_text(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: what two texts must share to be duplicates."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def shingles(text: str, k: int = 5) -> frozenset[int]:
    """The set of 32-bit hashes of the character k-grams of `canonical_text(text)`."""
    t = canonical_text(text)
    grams = {t[i:i + k] for i in range(max(1, len(t) - k + 1))} if t else set()
    return frozenset(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                     for g in grams)


def jaccard(a: frozenset, b: frozenset) -> float:
    """|A ∩ B| / |A ∪ B| (1.0 for two empty sets)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _mod61(v: np.ndarray) -> np.ndarray:
    """v mod (2^61 − 1) for uint64 v, using 2^61 ≡ 1 (no overflow, no division)."""
    p = np.uint64(MERSENNE_61)
    v = (v & p) + (v >> np.uint64(61))
    return np.where(v >= p, v - p, v)


def mulmod61(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(a · x) mod (2^61 − 1) elementwise for a < 2^61, x < 2^32, exactly in uint64.

    a = a_hi·2^32 + a_lo; a_lo·x < 2^64 fits, and a_hi·x < 2^61 is shifted by 32 bits with
    2^61 ≡ 1: y·2^32 ≡ (y >> 29) + ((y mod 2^29) << 32)."""
    a_hi, a_lo = a >> np.uint64(32), a & np.uint64(0xFFFFFFFF)
    y = a_hi * x
    shifted = (y >> np.uint64(29)) + ((y & np.uint64((1 << 29) - 1)) << np.uint64(32))
    return _mod61(_mod61(shifted) + _mod61(a_lo * x))


class MinHasher:
    """`num_perm` universal hashes h(x) = (a·x + b) mod (2^61 − 1) over 32-bit shingle hashes,
    with a, b drawn uniformly below the prime (a ≠ 0), computed exactly."""

    def __init__(self, num_perm: int = 128, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, MERSENNE_61, num_perm, dtype=np.uint64)
        self.b = rng.integers(0, MERSENNE_61, num_perm, dtype=np.uint64)
        self.num_perm = num_perm

    def signature(self, shingle_set: frozenset[int]) -> np.ndarray:
        """The MinHash signature: per hash function, the minimum over the set (all-max if empty)."""
        if not shingle_set:
            return np.full(self.num_perm, MERSENNE_61, dtype=np.uint64)
        x = np.fromiter(shingle_set, dtype=np.uint64, count=len(shingle_set))
        h = _mod61(mulmod61(self.a[:, None], x[None, :]) + self.b[:, None])
        return h.min(axis=1)


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The share of equal signature entries: an unbiased estimate of Jaccard similarity."""
    return float(np.mean(sig_a == sig_b))


def lsh_recall(jaccard_value: float, bands: int, rows: int) -> float:
    """P(two texts with this Jaccard share a band): 1 − (1 − J^rows)^bands."""
    return 1.0 - (1.0 - jaccard_value ** rows) ** bands


def lsh_bands(num_perm: int, threshold: float, min_recall: float = 0.999) -> tuple[int, int]:
    """(bands, rows) with the most rows per band (fewest spurious candidates) whose recall at
    `threshold` is at least `min_recall`."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if lsh_recall(threshold, bands, rows) >= min_recall:
            return bands, rows
    return num_perm, 1


def near_duplicate_groups(texts: Sequence[str], threshold: float = 0.8, num_perm: int = 128,
                          k: int = 5, seed: int = 0) -> list[int | None]:
    """For each text, the index of the earlier kept text it duplicates (None if it is kept).

    Exact duplicates (equal `canonical_text`) point at their first occurrence without any
    hashing; the rest go through MinHash + LSH and exact-Jaccard verification.
    """
    hasher = MinHasher(num_perm, seed)
    bands, rows = lsh_bands(num_perm, threshold)
    buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
    first: dict[str, int] = {}
    sets: dict[int, frozenset[int]] = {}
    out: list[int | None] = []
    for i, text in enumerate(texts):
        key = canonical_text(text)
        if key in first:
            out.append(first[key])
            continue
        s = shingles(text, k)
        sig = hasher.signature(s)
        keys = [sig[b * rows:(b + 1) * rows].tobytes() for b in range(bands)]
        candidates = sorted({j for b, kb in enumerate(keys) for j in buckets[b].get(kb, ())})
        match = next((j for j in candidates if jaccard(s, sets[j]) >= threshold), None)
        out.append(match)
        if match is None:
            first[key] = i
            sets[i] = s
            for b, kb in enumerate(keys):
                buckets[b].setdefault(kb, []).append(i)
    return out


def near_duplicates_brute_force(texts: Sequence[str], threshold: float = 0.8,
                                k: int = 5) -> list[int | None]:
    """The same greedy rule with exact Jaccard against every kept text (O(n²): for checking)."""
    kept: list[tuple[int, frozenset[int]]] = []
    out: list[int | None] = []
    for i, text in enumerate(texts):
        s = shingles(text, k)
        match = next((j for j, sj in kept if jaccard(s, sj) >= threshold), None)
        out.append(match)
        if match is None:
            kept.append((i, s))
    return out
