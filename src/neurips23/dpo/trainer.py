"""A DPO trainer in the style of TRL's `DPOTrainer`, on the core's training loop.

The reference is a frozen copy of the starting policy, a user-given model, or, for a PEFT
(LoRA / QLoRA) policy, the same model with its adapter disabled. Reference log-probs are
computed once before training (`precompute_ref=True`) and travel with each batch, so each step
is one forward/backward of the policy over the [chosen; rejected] batch. The optimizer,
schedule, clipping, batches (a pure function of (seed, step)), checkpoints and exact resume are
the core trainer's (`lm.train.train_causal_lm` with a DPO loss); its settings are the core's
`TrainConfig`, nested as `DPOTrainConfig.train`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurips23.core.cli_config import param
from neurips23.dpo.config import dpo_train_settings
from neurips23.dpo.data import PreferencePair, collate_pairs, encode_pairs
from neurips23.dpo.loss import LOSS_TYPES, concatenated_forward, dpo_loss
from neurips23.errors import ConfigError, DataError
from neurips23.lm.train import TrainConfig

LOGS = "dpo_logs.json"


@dataclass
class DPOTrainConfig:
    """DPO's own settings; optimizer, schedule, clipping, batch and length in `train` (the core's
    TrainConfig). Paper App. B: beta 0.1, batch 64, lr 1e-6 for billion-parameter models."""

    beta: float = param(0.1, "KL weight β (paper: 0.1; 0.5 for TL;DR).")
    loss_type: str = param("sigmoid", "sigmoid (DPO / conservative DPO) | ipo.")
    label_smoothing: float = param(0.0, "Conservative DPO's flip rate ε.")
    reference_free: bool = param(False, "Ignore the reference (log π_ref = 0).")
    average_log_prob: bool = param(False, "Length-normalised log-probs (TRL's ipo).")
    precompute_ref: bool = param(True, "Reference log-probs computed once before training.")
    max_prompt_length: int = param(128, "A pair longer than train.max_length keeps the last this "
                                   "many prompt tokens.")
    add_eos: bool = param(True, "EOS appended to every response (official code).")
    # train.max_length: prompt + response tokens; paper: lr 1e-6 for billion-parameter models
    train: TrainConfig = field(default_factory=dpo_train_settings)

    def validate(self) -> None:
        """Raise ConfigError on a value no run could use."""
        if self.loss_type not in LOSS_TYPES:
            raise ConfigError(f"loss_type must be one of {', '.join(LOSS_TYPES)}; got {self.loss_type!r}")
        if not (self.beta > 0 and math.isfinite(self.beta)):  # NaN fails every comparison
            raise ConfigError(f"beta must be a finite number > 0, got {self.beta}")
        for name in ("steps", "batch_size", "lr", "max_length"):
            value = getattr(self.train, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"train.{name} must be a finite number > 0, got {value}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")


@dataclass
class DPOResult:
    """Per-step logs (dicts with loss, reward accuracy/margin, log-probs, KL estimate) and timing."""

    logs: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    resumed_from: int = 0
    wall_seconds: float = 0.0
    pairs_per_second: float = 0.0

    @property
    def final(self) -> dict[str, float]:
        return self.logs[-1] if self.logs else {}


def is_peft_model(model: Any) -> bool:
    """True for a PEFT model (its reference is the adapter-disabled base)."""
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def disable_dropout(model: Any) -> None:
    """Dropout off (official code and TRL do the same): nn.Dropout p=0 and attention dropout 0."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(getattr(module, "attention_dropout", None), float):
            module.attention_dropout = 0.0


class DPOTrainer:
    """Train `model` in place on preference pairs with the DPO loss."""

    def __init__(self, model: Any, tokenizer: Any, pairs: Sequence[PreferencePair],
                 cfg: DPOTrainConfig, ref_model: Any | None = None,
                 out_dir: str | Path | None = None, progress: bool = True, source: str = "pairs",
                 restart: bool = False):
        from neurips23.lm.adapters import keep_4bit_reference_path

        cfg.validate()
        if not pairs:
            raise DataError(f"{source}: no preference pairs")
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg
        self.out_dir = Path(out_dir) if out_dir else None
        self.progress, self.restart = progress, restart
        self.encoded = encode_pairs(tokenizer, pairs, cfg.train.max_length, cfg.max_prompt_length,
                                    source, cfg.add_eos)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        disable_dropout(model)
        keep_4bit_reference_path(model)
        self.use_adapter_ref = ref_model is None and is_peft_model(model)
        if ref_model is None and not self.use_adapter_ref and not cfg.reference_free:
            ref_model = copy.deepcopy(model)
        if ref_model is not None:
            disable_dropout(ref_model)
            keep_4bit_reference_path(ref_model)
            ref_model.eval().requires_grad_(False)
        self.ref_model = ref_model
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ConfigError("the policy has no trainable parameters (the loss would stay at log 2)")
        self._ref: tuple[Any, Any] | None = None

    # -- reference log-probs ---------------------------------------------------------------
    def _reference_forward(self, batch: dict) -> tuple[Any, Any]:
        import torch

        with torch.no_grad():
            if self.cfg.reference_free:
                n = batch["input_ids"].shape[0] // 2
                return torch.zeros(n), torch.zeros(n)
            if self.use_adapter_ref:
                with self.model.disable_adapter():
                    return concatenated_forward(self.model, batch, self.cfg.average_log_prob)
            return concatenated_forward(self.ref_model, batch, self.cfg.average_log_prob)

    def reference_logps(self, batch_size: int = 64) -> tuple[Any, Any]:
        """log π_ref(y_w|x), log π_ref(y_l|x) for every pair, computed once."""
        import torch

        if self._ref is None:
            device = next(self.model.parameters()).device
            chosen, rejected = [], []
            for i in range(0, len(self.encoded), batch_size):
                batch = collate_pairs(self.encoded[i:i + batch_size], self.pad_id)
                c, r = self._reference_forward({k: v.to(device) for k, v in batch.items()})
                chosen.append(c.float().cpu())
                rejected.append(r.float().cpu())
            self._ref = (torch.cat(chosen), torch.cat(rejected))
        return self._ref

    def collate(self, idx: Sequence[int]) -> dict:
        """The [chosen; rejected] batch of pairs `idx`, with their precomputed reference log-probs."""
        import torch

        batch = collate_pairs([self.encoded[i] for i in idx], self.pad_id)
        if self.cfg.precompute_ref:
            ref_c, ref_r = self.reference_logps()
            index = torch.as_tensor(list(idx))
            batch["ref_chosen_logps"], batch["ref_rejected_logps"] = ref_c[index], ref_r[index]
        return batch

    # -- one step -----------------------------------------------------------------------
    def compute_loss(self, model: Any, batch: dict) -> tuple[Any, dict]:
        """Mean DPO loss over the batch (eq. 7) and its metrics."""
        import torch

        cfg = self.cfg
        pc, pr = concatenated_forward(model, batch, cfg.average_log_prob)
        if "ref_chosen_logps" in batch:
            rc, rr = batch["ref_chosen_logps"].to(pc.device), batch["ref_rejected_logps"].to(pc.device)
        else:
            rc, rr = self._reference_forward(batch)
        losses, chosen_r, rejected_r = dpo_loss(pc, pr, rc, rr, cfg.beta, cfg.label_smoothing,
                                                cfg.loss_type, cfg.reference_free)
        loss = losses.mean()
        logratio = torch.cat([(pc - rc).detach(), (pr - rr).detach()])
        metrics = {
            "loss": loss.item(),
            "reward_accuracy": (chosen_r > rejected_r).float().mean().item(),
            "reward_margin": (chosen_r - rejected_r).mean().item(),
            "chosen_reward": chosen_r.mean().item(),
            "rejected_reward": rejected_r.mean().item(),
            "chosen_logps": pc.detach().mean().item(),
            "rejected_logps": pr.detach().mean().item(),
            # off-policy estimate: mean log(pi/pi_ref) on the dataset's responses
            "kl_estimate": logratio.mean().item(),
        }
        return loss, metrics

    # -- the loop -------------------------------------------------------------------------
    def train(self, callback: Callable[[int, Any], None] | None = None) -> DPOResult:
        """Run cfg.train.steps optimizer steps (resuming from out_dir's checkpoint); returns the logs."""
        from dataclasses import asdict

        from neurips23.lm.train import TrainData, content_fingerprint, train_causal_lm
        from neurips23.utils import atomic_write_json, seed_everything

        cfg = self.cfg
        seed_everything(cfg.train.seed)
        if cfg.precompute_ref:
            self.reference_logps()
        data = TrainData([len(e["chosen_input_ids"]) for e in self.encoded], self.collate,
                         fingerprint=content_fingerprint(self.encoded))
        objective = {"class": type(self).__name__, **{k: v for k, v in asdict(cfg).items()
                                                       if k != "train"}}
        out = train_causal_lm(self.model, self.tokenizer, data, cfg.train, out_dir=self.out_dir,
                              params=self.params, progress=self.progress,
                              loss_fn=self.compute_loss, callback=callback, desc="dpo",
                              objective=objective, restart=self.restart)
        done = cfg.train.steps - out.resumed_from
        result = DPOResult(logs=out.logs, steps=out.steps, resumed_from=out.resumed_from,
                           wall_seconds=out.wall_seconds,
                           pairs_per_second=done * cfg.train.batch_size / max(out.wall_seconds, 1e-9))
        if self.out_dir is not None:
            atomic_write_json(self.out_dir / LOGS, result.logs)
        return result
