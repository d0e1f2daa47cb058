"""A DPO trainer in the style of TRL's `DPOTrainer`, on the foundation's training helpers.

The reference is a frozen copy of the starting policy, a user-given model, or, for a PEFT
(LoRA / QLoRA) policy, the same model with its adapter disabled. Reference log-probs are
computed once before training (`precompute_ref=True`), so each step is one forward/backward
of the policy over the [chosen; rejected] batch. The batch of step t is a pure function of
(seed, t) and checkpoints hold parameters, optimizer, scheduler, step and logs, so a resumed
run continues exactly.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurips23.dpo.data import PreferencePair, collate_pairs, encode_pairs
from neurips23.dpo.loss import LOSS_TYPES, concatenated_forward, dpo_loss
from neurips23.errors import ConfigError, DataError

LOGS = "dpo_logs.json"


@dataclass
class DPOConfig:
    """DPO settings (paper App. B: beta 0.1, batch 64, lr 1e-6 for billion-parameter models)."""

    beta: float = 0.1
    loss_type: str = "sigmoid"  # sigmoid (DPO / conservative DPO) | ipo
    label_smoothing: float = 0.0  # conservative DPO's flip rate epsilon
    reference_free: bool = False
    average_log_prob: bool = False  # length-normalised log-probs (TRL's ipo)
    precompute_ref: bool = True
    steps: int = 100
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: str = "constant"  # constant | linear | cosine
    max_grad_norm: float = 10.0
    max_length: int = 256
    max_prompt_length: int = 128
    add_eos: bool = True  # EOS appended to every response (official code)
    log_every: int = 1
    checkpoint_every: int = 0
    seed: int = 0

    def validate(self) -> None:
        """Raise ConfigError on a value no run could use."""
        if self.loss_type not in LOSS_TYPES:
            raise ConfigError(f"loss_type must be one of {', '.join(LOSS_TYPES)}; got {self.loss_type!r}")
        for name in ("beta", "steps", "batch_size", "lr", "max_length"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")

    def train_config(self) -> Any:
        """The foundation's TrainConfig for the optimizer, schedule and clipping."""
        from neurips23.lm.train import TrainConfig

        return TrainConfig(steps=self.steps, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, warmup_steps=self.warmup_steps,
                           schedule=self.schedule, max_grad_norm=self.max_grad_norm,
                           seed=self.seed, max_length=self.max_length, log_every=self.log_every)


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


def unpack_bnb_cpu_weights(model: Any) -> int:
    """Undo bitsandbytes' CPU inference repacking of 4-bit weights so gradients flow again.

    bitsandbytes 0.50 on an AVX512-BF16 CPU repacks a `Linear4bit` weight, the first time it runs
    in eval mode on an input without grad, for a kernel that has no autograd: every later
    backward stops there and a LoRA policy's loss stays at log 2. Returns how many were unpacked.
    """
    count = 0
    for module in model.modules():
        weight = getattr(module, "weight", None)
        state = getattr(weight, "quant_state", None)
        if state is not None and getattr(state, "packing_format_for_cpu", False):
            from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

            weight.data, weight.quant_state = _convert_weight_packed_for_cpu_inverse(weight.data, state)
            count += 1
    return count


class DPOTrainer:
    """Train `model` in place on preference pairs with the DPO loss."""

    def __init__(self, model: Any, tokenizer: Any, pairs: Sequence[PreferencePair], cfg: DPOConfig,
                 ref_model: Any | None = None, out_dir: str | Path | None = None,
                 progress: bool = True, source: str = "pairs"):
        cfg.validate()
        if not pairs:
            raise DataError(f"{source}: no preference pairs")
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg
        self.out_dir = Path(out_dir) if out_dir else None
        self.progress = progress
        self.encoded = encode_pairs(tokenizer, pairs, cfg.max_length, cfg.max_prompt_length, source,
                                    cfg.add_eos)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        disable_dropout(model)
        unpack_bnb_cpu_weights(model)
        self.use_adapter_ref = ref_model is None and is_peft_model(model)
        if ref_model is None and not self.use_adapter_ref and not cfg.reference_free:
            ref_model = copy.deepcopy(model)
        if ref_model is not None:
            disable_dropout(ref_model)
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
                # train mode (dropout is off, so the numbers are eval's): keeps a 4-bit base
                # differentiable, see unpack_bnb_cpu_weights
                was = self.model.training
                self.model.train()
                with self.model.disable_adapter():
                    out = concatenated_forward(self.model, batch, self.cfg.average_log_prob)
                self.model.train(was)
                return out
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

    # -- one step -----------------------------------------------------------------------
    def compute_loss(self, model: Any, batch: dict, idx: Sequence[int]) -> tuple[Any, dict]:
        """Mean DPO loss over the batch and its metrics."""
        import torch

        cfg = self.cfg
        pc, pr = concatenated_forward(model, batch, cfg.average_log_prob)
        if cfg.precompute_ref:
            ref_c, ref_r = self.reference_logps()
            index = torch.as_tensor(list(idx))
            rc, rr = ref_c[index].to(pc.device), ref_r[index].to(pc.device)
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
        """Run cfg.steps optimizer steps (resuming from out_dir's checkpoint); returns the logs."""
        import json

        from accelerate import Accelerator

        from neurips23.lm.train import (
            CHECKPOINT_NAME,
            BatchSampler,
            TrainResult,
            load_checkpoint,
            make_optimizer_and_scheduler,
            progress_bar,
            save_checkpoint,
        )
        from neurips23.utils import atomic_write_json, seed_everything

        cfg = self.cfg
        seed_everything(cfg.seed)
        if cfg.precompute_ref:
            self.reference_logps()
        sampler = BatchSampler([len(e["chosen_input_ids"]) for e in self.encoded],
                               cfg.batch_size, cfg.seed)
        opt, sched = make_optimizer_and_scheduler(self.params, cfg.train_config())
        result = DPOResult()
        ckpt = self.out_dir / CHECKPOINT_NAME if self.out_dir else None
        start = 0
        if ckpt is not None and ckpt.exists():
            state = load_checkpoint(ckpt, self.model, opt, sched)
            start = result.resumed_from = state["step"]
            logs_path = self.out_dir / LOGS
            if logs_path.exists():
                logs = json.loads(logs_path.read_text())
                result.logs = [row for row in logs if row["step"] <= start]
        acc = Accelerator()
        model, opt = acc.prepare(self.model, opt)
        rank, world = acc.process_index, acc.num_processes
        model.train()
        bar = progress_bar(self.progress and acc.is_main_process, cfg.steps, start, desc="dpo")
        t0 = time.perf_counter()
        for step in range(start, cfg.steps):
            idx = sampler(step)[rank::world]
            batch = collate_pairs([self.encoded[i] for i in idx], self.pad_id)
            batch = {k: v.to(acc.device) for k, v in batch.items()}
            loss, metrics = self.compute_loss(model, batch, idx)
            opt.zero_grad(set_to_none=True)
            acc.backward(loss)
            if cfg.max_grad_norm:
                acc.clip_grad_norm_(self.params, cfg.max_grad_norm)
            opt.step()
            sched.step()
            if (step + 1) % max(1, cfg.log_every) == 0 or step == cfg.steps - 1:
                result.logs.append({"step": step + 1, "lr": sched.get_last_lr()[0], **metrics})
            if bar is not None:
                shown = {k: f"{metrics[k]:.3f}" for k in ("loss", "reward_accuracy") if k in metrics}
                bar.set_postfix(shown, refresh=False)
                bar.update(1)
            if callback is not None:
                callback(step + 1, acc.unwrap_model(model))
                model.train()
            if ckpt is not None and cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0:
                if acc.is_main_process:
                    atomic_write_json(self.out_dir / LOGS, result.logs)
                    save_checkpoint(ckpt, acc.unwrap_model(model), opt, sched, step + 1,
                                    TrainResult(losses=[(r["step"], r["loss"]) for r in result.logs]))
                acc.wait_for_everyone()
        if bar is not None:
            bar.close()
        self.model = acc.unwrap_model(model)
        self.model.eval()
        result.wall_seconds = time.perf_counter() - t0
        result.steps = cfg.steps
        done = cfg.steps - start
        result.pairs_per_second = done * cfg.batch_size / max(result.wall_seconds, 1e-9)
        if ckpt is not None and acc.is_main_process and start < cfg.steps:
            atomic_write_json(self.out_dir / LOGS, result.logs)
            save_checkpoint(ckpt, self.model, opt, sched, cfg.steps,
                            TrainResult(losses=[(r["step"], r["loss"]) for r in result.logs]))
        return result

