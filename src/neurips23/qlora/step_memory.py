"""Peak memory of one LoRA training step, measured in a fresh process (QLoRA §1/§3: a 4-bit
base makes finetuning fit in a fraction of 16-bit memory).

Each measurement runs `python -m neurips23.qlora.step_memory` in its own process so the
peaks of two storage formats never mix. The child records its resident memory before loading
the model, loads the base (NF4+DQ or bf16) with LoRA on every linear layer, resets the
kernel's high-water mark (so reading the 32-bit checkpoint at load time is not counted), runs
one forward/backward/AdamW step, and reports the high-water mark. "Step memory" is that peak
minus the memory before loading: what the model and its step add to the process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass


@dataclass
class StepMemory:
    """One measurement (bytes and seconds)."""

    weights: str
    rss_before_load: int
    rss_after_load: int
    peak_step: int
    peak_reset: bool
    step_seconds: float
    linear_weight_bytes: float
    other_frozen_bytes: float
    trainable_params: int

    @property
    def step_bytes(self) -> int:
        """Peak of the step minus the memory before the model was loaded."""
        return self.peak_step - self.rss_before_load

    @property
    def model_bytes(self) -> int:
        """Resident memory the loaded model (with adapters) added."""
        return self.rss_after_load - self.rss_before_load


def _rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _release_freed_memory() -> None:
    """Collect garbage and hand the heap's free pages back to the OS (glibc), if possible."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the reading keeps the allocator's slack
        pass


def _measure(model: str, weights: str, rank: int, batch: int, seq: int, seed: int) -> StepMemory:
    """In this process: load, one LoRA step, the memory it took (see the module docstring)."""
    import time

    import accelerate  # noqa: F401 - every library loaded before the first reading
    import bitsandbytes  # noqa: F401
    import peft  # noqa: F401
    import torch
    import transformers  # noqa: F401

    from neurips23.lm.adapters import attach_lora, load_base, trainable_parameters
    from neurips23.qlora.memory import storage_bytes

    _release_freed_memory()
    before = _rss("VmRSS:")
    base, tok = load_base(model, weights, double_quant=True, compute_dtype="bfloat16")
    peft_model = attach_lora(base, rank)
    params = trainable_parameters(peft_model)
    stored = storage_bytes(peft_model)
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(0, len(tok), (batch, seq), generator=torch.Generator().manual_seed(seed))
    peft_model.train()
    _release_freed_memory()
    after = _rss("VmRSS:")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark to the current resident size
        reset = True
    except OSError:
        reset = False
    t0 = time.perf_counter()
    loss = peft_model(input_ids=ids, labels=ids).loss
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return StepMemory(weights, before, after, _rss("VmHWM:"), reset, time.perf_counter() - t0,
                      stored["linear_bytes"], stored["other_bytes"],
                      sum(p.numel() for p in params))


def measure_step_memory(model: str, weights: str, rank: int = 16, batch: int = 1,
                        seq: int = 128, seed: int = 0, timeout: float = 900) -> StepMemory:
    """One LoRA step on `model` with its base stored as `weights` (nf4 = NF4+DQ, bf16), in a
    fresh process; a failed child is a UserError with its last line."""
    from neurips23.errors import UserError

    cmd = [sys.executable, "-m", "neurips23.qlora.step_memory", model, weights, str(rank),
           str(batch), str(seq), str(seed)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"step-memory measurement of {model} ({weights}) took over {timeout:.0f} s"
                        ) from None
    lines = res.stdout.strip().splitlines()
    if res.returncode != 0 or not lines:
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"step-memory measurement of {model} ({weights}) failed: {tail}")
    return StepMemory(**json.loads(lines[-1]))


def main(argv: list[str]) -> None:
    """Child entry point: MODEL WEIGHTS RANK BATCH SEQ SEED -> one JSON line on stdout."""
    from neurips23.utils import quiet_third_party, set_torch_threads

    quiet_third_party()
    set_torch_threads(1)
    model, weights, rank, batch, seq, seed = argv
    print(json.dumps(asdict(_measure(model, weights, int(rank), int(batch), int(seq), int(seed)))))


if __name__ == "__main__":
    main(sys.argv[1:])
