"""`neurips23 reproduce substrate`'s settings: the tiny model, its task, data and training, the
rule its held-out exact match is judged by, and the profiles."""

from __future__ import annotations

from dataclasses import dataclass, field

from neurips23.core.claims import Rule, rule
from neurips23.lm.train import TrainConfig


@dataclass
class SubstrateConfig:
    """A tiny model on one synthetic task: size, task, data and training settings."""

    size: str = "micro"
    task: str = "reverse"
    n_train: int = 4000
    n_test: int = 200
    arch: str = "llama"
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=400, batch_size=32,
                                                                   lr=3e-3, log_every=20))
    learned: Rule = rule(
        "above", 0.2, min_n=50, reason="exact match on 3-8 digit strings is ~0 by chance; a "
        "model that learned the task clears 20% with its whole interval")


PROFILES = {
    # A pipeline check (full is the finding profile): 300 steps of the micro model (~0.45M
    # parameters at a vocabulary of ~100, `lm.models.TINY_CONFIGS`) on the default task and data.
    "quick": {"train": {"steps": 300}},
    # 1500 steps of the mini model (~1.9M parameters) on the same task and data.
    "full": {"train": {"steps": 1500}, "size": "mini"},
}
