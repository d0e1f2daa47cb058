"""Model finetuning (§2): train M on C*, the texts with the kept calls and their results written
in; apart from the calls it is the same text as C, so the model keeps its language modelling."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from neurips23.lm.data import Example
from neurips23.lm.train import TrainConfig, TrainResult

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


def finetune(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
             texts: Sequence[str], cfg: TrainConfig,
             out_dir: str | Path | None = None, progress: bool = False) -> TrainResult:
    """Finetune `model` in place on plain texts with the core trainer (language-model loss on
    every token, calls and results included), checkpointing to `out_dir` if given."""
    from neurips23.errors import DataError
    from neurips23.lm.train import train_causal_lm

    examples = [Example("", t) for t in texts if t.strip()]
    if not examples:
        raise DataError("finetune: no non-empty texts")
    return train_causal_lm(model, tokenizer, examples, cfg, out_dir=out_dir, progress=progress)
