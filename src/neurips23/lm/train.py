"""A causal-LM trainer: masked loss, AdamW + schedule, clipping, atomic checkpoints, exact resume.

The batch of step t is a pure function of (seed, t), and a checkpoint holds the optimised
parameters, optimizer, scheduler and step, so a run killed at any moment and restarted
continues bit-for-bit where its last checkpoint left off. A checkpoint also records a
fingerprint of the settings, the data, the model and the objective, and is never resumed by
another run. The loop uses `accelerate`, so the same code runs on one CPU, one GPU, or several
processes under `torchrun` / `accelerate launch`: each process takes its slice of the global
batch and the loss is weighted so the update equals one process's on the whole batch.
Trainable bf16/fp16 weights are kept in fp32 (master weights) with the forward autocast to
their 16-bit type, so small updates are not rounded away.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.lm.data import IGNORE_INDEX, Example, collate, encode_examples
from neurips23.utils import seed_everything, set_torch_threads

CHECKPOINT_NAME = "checkpoint.pt"


def _setting(default: Any, help: str) -> Any:
    """A TrainConfig field with the help its CLI option shows (`--train.KEY`)."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Settings of one training run (defaults suit the tiny models)."""

    steps: int = _setting(200, "Optimizer steps.")
    batch_size: int = _setting(32, "Examples per optimizer step.")
    lr: float = _setting(3e-3, "Peak learning rate.")
    weight_decay: float = _setting(0.0, "AdamW weight decay (not on 1-d parameters).")
    adam_beta1: float = _setting(0.9, "AdamW beta1.")
    adam_beta2: float = _setting(0.95, "AdamW beta2.")
    warmup_steps: int = _setting(0, "Linear warmup steps (0: warmup_ratio decides).")
    warmup_ratio: float = _setting(0.0, "Warmup as a share of the steps (when warmup_steps is 0).")
    schedule: str = _setting("cosine", "After warmup: cosine | constant | linear.")
    min_lr_ratio: float = _setting(0.1, "Final lr of the cosine/linear schedule, as a share of lr.")
    max_grad_norm: float = _setting(1.0, "Gradient clipping norm.")
    eval_every: int = _setting(0, "Held-out loss every N steps (0: at the end only).")
    eval_batch_size: int = _setting(64, "Examples per forward pass of the held-out loss.")
    checkpoint_every: int = _setting(0, "Write a resumable checkpoint every N steps (0: at the "
                                        "end only, where an output dir is given).")
    log_every: int = _setting(10, "Log the loss every N steps.")
    seed: int = _setting(0, "Seed of initialisation and batch order.")
    group_by_length: bool = _setting(False, "Batch examples of similar length together.")
    max_length: int = _setting(256, "Longest sequence in tokens (longer ones are truncated).")


@dataclass
class TrainResult:
    """What a run measured: loss curve, eval curve, per-step logs, throughput.

    `logs` has one dict per logged step: step, lr, loss and whatever metrics the loss function
    returned beside the loss (DPO's reward accuracy, margins, log-probs)."""

    losses: list[tuple[int, float]] = field(default_factory=list)
    evals: list[tuple[int, float]] = field(default_factory=list)
    logs: list[dict[str, float]] = field(default_factory=list)
    final_loss: float = float("nan")
    tokens_per_second: float = 0.0
    steps: int = 0
    wall_seconds: float = 0.0
    resumed_from: int = 0


def lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    """Multiplier of the base lr at step t: linear warmup then cosine/linear/constant."""
    warmup = cfg.warmup_steps or int(round(cfg.warmup_ratio * cfg.steps))

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if cfg.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, cfg.steps - warmup))
        if cfg.schedule == "linear":
            return 1.0 - (1.0 - cfg.min_lr_ratio) * progress
        if cfg.schedule == "cosine":
            return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        from neurips23.errors import ConfigError
        raise ConfigError(f"schedule {cfg.schedule!r}: choose cosine, constant or linear")

    return f


def make_optimizer_and_scheduler(params: Iterable[Any], cfg: TrainConfig):
    """AdamW (no decay on 1-d params) and a LambdaLR schedule."""
    import torch

    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr,
                            betas=(cfg.adam_beta1, cfg.adam_beta2))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))
    return opt, sched


@dataclass
class TrainData:
    """What the loop needs of a dataset: each item's length (for grouping by length), a
    function collating item indices into a batch (tensors with at least `attention_mask`), the
    number of loss units of each item (the loss is a mean over them: scored tokens, pairs) and
    a fingerprint of the content (checkpoints record it).

    `examples_data` builds it for prompt/response examples; other objectives (DPO's preference
    pairs) build their own."""

    lengths: Sequence[int]
    collate: Callable[[Sequence[int]], dict]
    units: Sequence[float] | None = None  # None: one unit per item
    fingerprint: str = ""

    def count(self, idx: Sequence[int]) -> float:
        """Loss units in the items `idx`."""
        return float(len(idx)) if self.units is None else float(sum(self.units[i] for i in idx))


def content_fingerprint(rows: Any) -> str:
    """sha256 of a JSON-able structure (encoded token ids, settings)."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:16]


def examples_data(tokenizer, examples: Sequence[Example], max_length: int) -> TrainData:
    """TrainData of prompt/response examples: loss masks on the prompt, right padding; the loss
    unit is a scored response token."""
    encoded = encode_examples(tokenizer, examples, max_length)
    units = [sum(1 for t in e["labels"][1:] if t != IGNORE_INDEX) for e in encoded]
    return TrainData([len(e["input_ids"]) for e in encoded],
                     lambda idx: collate([encoded[i] for i in idx], tokenizer.pad_token_id),
                     units, content_fingerprint([[e["input_ids"], e["labels"]] for e in encoded]))


class BatchSampler:
    """Indices of the global batch at step t: a pure function of (seed, t)."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int,
                 group_by_length: bool = False, window_batches: int = 32):
        self.lengths = np.asarray(lengths)
        self.n = len(lengths)
        self.b = batch_size
        self.seed = seed
        self.group = group_by_length
        self.window = window_batches
        self._perms: dict[int, np.ndarray] = {}

    def _stream(self, k: int) -> int:
        epoch, pos = divmod(k, self.n)
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng([self.seed, epoch]).permutation(self.n)}
        return int(self._perms[epoch][pos])

    def __call__(self, step: int) -> list[int]:
        if not self.group:
            return [self._stream(step * self.b + i) for i in range(self.b)]
        # group_by_length: sort a window of batches by length, then shuffle the batches.
        w, j = divmod(step, self.window)
        start = w * self.window * self.b
        idx = [self._stream(start + i) for i in range(self.window * self.b)]
        idx.sort(key=lambda i: self.lengths[i])
        batches = [idx[i * self.b:(i + 1) * self.b] for i in range(self.window)]
        order = np.random.default_rng([self.seed, 10_000_019, w]).permutation(self.window)
        return batches[order[j]]


def masked_lm_loss(model, batch: dict, reduction: str = "mean"):
    """Next-token cross-entropy over response tokens (labels != -100): their mean, or sum."""
    import torch.nn.functional as F

    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits = logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction=reduction)


def evaluate_loss(model, tokenizer, examples: Sequence[Example], max_length: int = 256,
                  batch_size: int = 64) -> float:
    """Mean per-token loss over the responses of `examples` (teacher-forced)."""
    import torch

    encoded = encode_examples(tokenizer, examples, max_length)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(encoded), batch_size):
            batch = {k: v.to(device) for k, v in collate(encoded[i:i + batch_size],
                                                          tokenizer.pad_token_id).items()}
            total += masked_lm_loss(model, batch, reduction="sum").item()
            count += int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    model.train(was_training)
    return total / max(count, 1)


def _trainable_state(model) -> dict:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(path: Path, model, opt, sched, step: int, result: TrainResult,
                    fingerprint: dict[str, str] | None = None) -> None:
    """Write the resumable state atomically (tmp file + fsync + rename)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    state = {"step": step, "model": _trainable_state(model), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "losses": result.losses, "evals": result.evals,
             "logs": result.logs, "torch_rng": torch.get_rng_state(),
             "fingerprint": fingerprint or {}}
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# settings that do not change what is trained (how often to log, evaluate, checkpoint)
_BOOKKEEPING = ("log_every", "eval_every", "eval_batch_size", "checkpoint_every")


def run_fingerprint(model, cfg: TrainConfig, data: TrainData, objective: Any = None) -> dict[str, str]:
    """What identifies a training run: its settings, data, starting model and objective.

    The model part hashes every parameter's name, shape, dtype and a strided sample of its
    values (the frozen base included), so a checkpoint is not resumed onto another base."""
    import torch

    settings = {k: v for k, v in vars(cfg).items() if k not in _BOOKKEEPING}
    sample = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            flat = p.detach().reshape(-1)
            picked = flat[:: max(1, flat.numel() // 16)][:16]
            if picked.dtype.is_floating_point:
                picked = picked.float()
            sample.append([name, list(p.shape), str(p.dtype).replace("torch.", ""),
                           [round(float(x), 6) for x in picked.tolist()]])
    return {"settings": content_fingerprint(settings), "data": data.fingerprint,
            "model": content_fingerprint(sample), "objective": content_fingerprint(objective)}


def check_resumable(path: Path, state: dict, fingerprint: dict[str, str]) -> None:
    """A UserError naming what differs when the checkpoint at `path` belongs to another run."""
    from neurips23.errors import UserError

    theirs = state.get("fingerprint") or {}
    differs = [k for k in fingerprint if theirs.get(k) != fingerprint[k]]
    if differs:
        raise UserError(f"{path}: a checkpoint of another run (its {', '.join(differs)} "
                        "differ from this run's); use another output directory, or restart "
                        "(--restart) to discard it")


def read_checkpoint(path: Path) -> dict:
    """A checkpoint's contents, read without unpickling code: tensors and plain Python values
    only (`weights_only`), so a crafted file in an output folder cannot run anything."""
    import pickle

    import torch

    from neurips23.errors import UserError

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, KeyError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"{path}: not a checkpoint this tool wrote, refused to load it "
                        f"({first[:160]}); use another output directory, or --restart "
                        "to discard it") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the checkpoint ({e.strerror or e})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise UserError(f"{path}: not a checkpoint this tool wrote (no step recorded)")
    return state


def load_checkpoint(path: Path, model, opt, sched, fingerprint: dict[str, str] | None = None
                    ) -> dict:
    """Restore a checkpoint written by save_checkpoint; returns its metadata.

    With `fingerprint`, a checkpoint of another run is refused (UserError) before anything
    is restored."""
    import torch

    state = read_checkpoint(path)
    if fingerprint is not None:
        check_resumable(path, state, fingerprint)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["model"].items():
            params[name].copy_(value)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    return state


LossFn = Callable[[Any, dict], Any]
"""loss_fn(model, batch) -> loss, or (loss, metrics) where metrics is a dict of floats logged
with the step."""


def fp32_master_weights_(params: Sequence[Any]) -> Any:
    """Keep trainable bf16/fp16 weights in fp32 (upcast in place); the 16-bit dtype to autocast
    the forward to, or None when every trainable weight is fp32 already (LoRA adapters are)."""
    import torch

    low = [p for p in params if p.dtype in (torch.bfloat16, torch.float16)]
    if not low:
        return None
    dtype = torch.bfloat16 if any(p.dtype == torch.bfloat16 for p in low) else torch.float16
    for p in low:
        p.data = p.data.float()
    return dtype


class _MixedPrecision:
    """Autocast of the forward to the weights' 16-bit dtype (fp32 master weights), with loss
    scaling for fp16; a no-op when the trainable weights were fp32 already."""

    def __init__(self, dtype: Any, device_type: str):
        import torch

        self.dtype, self.device_type = dtype, device_type
        self.scaler = (torch.amp.GradScaler(device_type) if dtype == torch.float16 else None)

    def autocast(self):
        import contextlib

        import torch

        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)

    def backward(self, acc, loss) -> None:
        acc.backward(self.scaler.scale(loss) if self.scaler else loss)

    def clip_and_step(self, acc, opt, params: Sequence[Any], max_grad_norm: float) -> None:
        if self.scaler:
            self.scaler.unscale_(opt)
        if max_grad_norm:
            acc.clip_grad_norm_(params, max_grad_norm)
        if self.scaler:
            self.scaler.step(opt)
            self.scaler.update()
        else:
            opt.step()


def _weighted(acc, loss, metrics: dict, local: float, total: float) -> tuple[Any, float, dict]:
    """Under several processes: the loss to backpropagate (DDP averages gradients, so each rank
    weights its mean by its share of the global batch) and the global loss and metrics."""
    import torch

    world = acc.num_processes
    if world == 1:
        return loss, loss.item(), metrics
    values = torch.tensor([loss.item(), *metrics.values()], dtype=torch.float64,
                          device=acc.device) * local
    values = (acc.reduce(values, "sum") / total).tolist()
    return loss * (local * world / total), values[0], dict(zip(metrics, values[1:], strict=True))


def train_causal_lm(model, tokenizer, train: Sequence[Example] | TrainData, cfg: TrainConfig,
                    out_dir: str | Path | None = None, eval: Sequence[Example] | None = None,
                    params: Iterable[Any] | None = None, progress: bool = True,
                    loss_fn: LossFn | None = None,
                    make_optimizer: Callable[[list, TrainConfig], Any] | None = None,
                    callback: Callable[[int, Any], None] | None = None,
                    desc: str = "train", objective: Any = None,
                    restart: bool = False) -> TrainResult:
    """Train `model` in place; resumes from out_dir's checkpoint if it belongs to this run.

    `train` is prompt/response examples (masked LM loss on the responses) or a `TrainData`
    with its own collate (then `loss_fn` says what to minimise). `params` restricts what is
    optimised (LoRA). `make_optimizer(params, cfg) -> (optimizer, scheduler)` replaces AdamW +
    LambdaLR (e.g. bitsandbytes' paged AdamW on a GPU). `callback(step, model)` runs after
    every optimizer step. `objective` (JSON-able) names the loss's own settings for the
    checkpoint's fingerprint; `restart` discards a checkpoint of another run instead of
    refusing it."""
    set_torch_threads()
    seed_everything(cfg.seed)
    data = train if isinstance(train, TrainData) else examples_data(tokenizer, train, cfg.max_length)
    if not len(data.lengths):
        from neurips23.errors import DataError
        raise DataError("no training examples")
    loss_fn = loss_fn or masked_lm_loss
    sampler = BatchSampler(data.lengths, cfg.batch_size, cfg.seed, cfg.group_by_length)
    params = list(params) if params is not None else list(model.parameters())
    fingerprint = run_fingerprint(model, cfg, data, objective)
    autocast_dtype = fp32_master_weights_([p for p in params if p.requires_grad])
    opt, sched = (make_optimizer or make_optimizer_and_scheduler)(params, cfg)
    ckpt = Path(out_dir) / CHECKPOINT_NAME if out_dir else None
    result = _resume(ckpt, model, opt, sched, fingerprint, restart)
    start = result.resumed_from

    from accelerate import Accelerator

    acc = Accelerator()
    model, opt = acc.prepare(model, opt)
    mixed = _MixedPrecision(autocast_dtype, acc.device.type)
    rank, world = acc.process_index, acc.num_processes
    model.train()
    t0, tokens = time.perf_counter(), 0
    bar = progress_bar(progress and acc.is_main_process, cfg.steps, start, desc)
    for step in range(start, cfg.steps):
        idx = sampler(step)
        batch = {k: v.to(acc.device) for k, v in data.collate(idx[rank::world]).items()}
        with mixed.autocast():
            out = loss_fn(model, batch)
        loss, metrics = out if isinstance(out, tuple) else (out, {})
        loss, loss_value, metrics = _weighted(acc, loss, metrics, data.count(idx[rank::world]),
                                              data.count(idx))
        opt.zero_grad(set_to_none=True)
        mixed.backward(acc, loss)
        mixed.clip_and_step(acc, opt, params, cfg.max_grad_norm)
        sched.step()
        tokens += int(batch["attention_mask"].sum()) * world
        if (step + 1) % max(1, cfg.log_every) == 0 or step == cfg.steps - 1:
            _log_step(result, step + 1, sched.get_last_lr()[0], loss_value, metrics)
        if eval and cfg.eval_every and (step + 1) % cfg.eval_every == 0:
            result.evals.append((step + 1, evaluate_loss(acc.unwrap_model(model), tokenizer, eval,
                                                         cfg.max_length, cfg.eval_batch_size)))
            model.train()
        if bar is not None:
            rate = tokens / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{loss_value:.3f}", tok_s=f"{rate:,.0f}", refresh=False)
            bar.update(1)
        if callback is not None:
            callback(step + 1, acc.unwrap_model(model))
            model.train()
        if ckpt is not None and cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0:
            if acc.is_main_process:
                save_checkpoint(ckpt, acc.unwrap_model(model), opt, sched, step + 1, result,
                                fingerprint)
            acc.wait_for_everyone()
    if bar is not None:
        bar.close()
    model = acc.unwrap_model(model)
    model.eval()
    _summarize(result, cfg, time.perf_counter() - t0, tokens)
    if eval and (not result.evals or result.evals[-1][0] != cfg.steps):
        result.evals.append((cfg.steps, evaluate_loss(model, tokenizer, eval, cfg.max_length,
                                                      cfg.eval_batch_size)))
    if ckpt is not None and acc.is_main_process and start < cfg.steps:
        save_checkpoint(ckpt, model, opt, sched, cfg.steps, result, fingerprint)
    return result


def _summarize(result: TrainResult, cfg: TrainConfig, seconds: float, tokens: int) -> None:
    """Fill in the run's totals: wall time, throughput, steps, final loss."""
    result.wall_seconds = seconds
    result.tokens_per_second = tokens / max(seconds, 1e-9)
    result.steps = cfg.steps
    result.final_loss = result.losses[-1][1] if result.losses else float("nan")


def _log_step(result: TrainResult, step: int, lr: float, loss: float, metrics: dict) -> None:
    """Record one logged step: its loss, and lr + the loss function's metrics in `logs`."""
    result.losses.append((step, loss))
    plain = {k: float(v) for k, v in metrics.items()}  # a checkpoint holds plain values only
    result.logs.append({"step": step, "lr": float(lr), **plain, "loss": float(loss)})


def _resume(ckpt: Path | None, model, opt, sched, fingerprint: dict[str, str],
            restart: bool) -> TrainResult:
    """A fresh TrainResult, or the state of this run's checkpoint (another run's is refused,
    or deleted with `restart`)."""
    result = TrainResult()
    if ckpt is None or not ckpt.exists():
        return result
    if restart:
        ckpt.unlink()
        return result
    state = load_checkpoint(ckpt, model, opt, sched, fingerprint)
    result.resumed_from = state["step"]
    result.losses = [tuple(x) for x in state["losses"]]
    result.evals = [tuple(x) for x in state["evals"]]
    result.logs = list(state.get("logs", []))
    return result


def progress_bar(enabled: bool, total: int, initial: int = 0, desc: str = "train"):
    """A step progress bar (tqdm), shown only on a terminal; None when disabled."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", leave=False,
                dynamic_ncols=True, mininterval=0.5, disable=None)


def train_tiny_lm(examples: Sequence[Example], tokenizer, size: str | dict, cfg: TrainConfig,
                  arch: str = "llama", max_position_embeddings: int = 512,
                  progress: bool = True,
                  callback: Callable[[int, Any], None] | None = None) -> tuple[Any, TrainResult]:
    """Build a tiny model of `size` for `tokenizer` and train it on `examples` (from scratch)."""
    from neurips23.lm.models import build_model

    model = build_model(size, vocab_size=len(tokenizer), arch=arch,
                        max_position_embeddings=max_position_embeddings, seed=cfg.seed)
    result = train_causal_lm(model, tokenizer, examples, cfg, progress=progress,
                             callback=callback)
    return model, result
