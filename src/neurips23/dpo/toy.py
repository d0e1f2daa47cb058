"""A tiny preference dataset and model for tests, benchmarks and the CLI smoke path."""

from __future__ import annotations

import random
from typing import Any

from neurips23.dpo.data import PreferencePair

WORDS = "good great fine nice bad awful poor dull the a movie plot actor scene was is very".split()


def toy_pairs(n: int, seed: int = 0, min_len: int = 2, max_len: int = 7) -> list[PreferencePair]:
    """Random word pairs of uneven lengths (so padding and masking are exercised)."""
    rng = random.Random(seed)

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    return [
        PreferencePair(text(1, 4), text(min_len, max_len), text(min_len, max_len)) for _ in range(n)
    ]


def toy_model_and_tokenizer(size: str | dict = "nano", seed: int = 0) -> tuple[Any, Any]:
    """A freshly initialised tiny Llama over `WORDS` and its word tokenizer."""
    from neurips23.lm.models import build_model
    from neurips23.lm.tokenizers import build_word_tokenizer

    tok = build_word_tokenizer([" ".join(WORDS)])
    model = build_model(size, vocab_size=len(tok), seed=seed)
    return model, tok
