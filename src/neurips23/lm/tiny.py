"""One way to get a trained tiny model: "a model of size S trained on data D with settings T",
built once into the model cache and reused after (every reproduction asks through here)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from neurips23.lm.data import Example
from neurips23.lm.train import TrainConfig

TRAIN_LOG = "train_log.json"


def cached_tiny_lm(key: dict[str, Any], data: Callable[[], tuple[Any, Sequence[Example]]],
                   size: str | dict, train: TrainConfig, arch: str = "llama",
                   max_position_embeddings: int = 512, progress: bool = True,
                   log: Callable[[str], Any] | None = None) -> Path:
    """The cache dir of a tiny model trained from scratch; trained on first use only.

    `key` names everything about the data that `data()` depends on (task, sizes, seeds, a
    version string); the model size, architecture and training settings are added to it.
    `data()` returns (tokenizer, examples) and is only called when the model must be built.
    The entry holds the model, its tokenizer and `train_log.json` (losses, tokens/s).
    `log` (e.g. a worker process's stderr, where no progress bar shows) gets a line at every
    tenth of the training steps.
    """
    from neurips23.config import config_to_dict
    from neurips23.lm.cache import get_or_train
    from neurips23.lm.models import save_model
    from neurips23.lm.train import train_tiny_lm

    spec = {**key, "model": {"size": size, "arch": arch, "max_position_embeddings":
                             max_position_embeddings}, "train": config_to_dict(train)}

    def build(tmp: Path) -> None:
        tokenizer, examples = data()
        model, result = train_tiny_lm(examples, tokenizer, size, train, arch=arch,
                                      max_position_embeddings=max_position_embeddings,
                                      progress=progress, callback=_step_logger(log, train.steps))
        save_model(model, tokenizer, tmp)
        (tmp / TRAIN_LOG).write_text(json.dumps(
            {"losses": result.losses, "tokens_per_second": result.tokens_per_second,
             "wall_seconds": result.wall_seconds}))

    return get_or_train(spec, build)


def _step_logger(log: Callable[[str], Any] | None, steps: int):
    """A training callback that logs "training step k/n (Ns)" at every tenth of the steps."""
    if log is None:
        return None
    every, t0 = max(1, steps // 10), time.perf_counter()

    def callback(step: int, model: Any) -> None:
        if step % every == 0 or step == steps:
            log(f"training the tiny model: step {step}/{steps} ({time.perf_counter() - t0:.0f}s)")

    return callback


def train_log(path: Path) -> dict[str, Any]:
    """The training log saved beside a cached tiny model."""
    return json.loads((Path(path) / TRAIN_LOG).read_text())
