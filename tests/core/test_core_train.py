import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurips23.lm.train import BatchSampler, TrainConfig, lr_lambda

SCRIPT = Path(__file__).with_name("train_script.py")


def test_lr_schedule_by_hand():
    f = lr_lambda(TrainConfig(steps=110, warmup_steps=10, schedule="cosine", min_lr_ratio=0.0))
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5)  # half-way through the cosine
    assert f(110) == pytest.approx(0.0, abs=1e-12)
    g = lr_lambda(TrainConfig(steps=100, warmup_ratio=0.03, schedule="constant"))
    assert g(0) == pytest.approx(1 / 3) and g(50) == 1.0
    h = lr_lambda(TrainConfig(steps=10, schedule="linear", min_lr_ratio=0.5))
    assert h(5) == pytest.approx(0.75)


def test_batch_sampler_is_a_function_of_step_and_covers_each_epoch():
    s1 = BatchSampler(list(range(10)), batch_size=5, seed=7)
    s2 = BatchSampler(list(range(10)), batch_size=5, seed=7)
    assert [s1(t) for t in range(6)] == [s2(t) for t in reversed(range(6))][::-1]
    assert sorted(s1(0) + s1(1)) == list(range(10))  # one epoch = every example once
    grouped = BatchSampler([i % 7 for i in range(64)], batch_size=4, seed=1, group_by_length=True,
                           window_batches=4)
    batch = grouped(2)
    lengths = [i % 7 for i in batch]
    assert max(lengths) - min(lengths) <= 3


def _run(out_dir, steps, pause):
    r = subprocess.run([sys.executable, str(SCRIPT), str(out_dir), str(steps), str(pause)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_sigkill_mid_run_then_resume_gives_the_same_final_loss(tmp_path):
    steps = 24
    reference = _run(tmp_path / "straight", steps, 0.0)
    interrupted = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(interrupted), str(steps), "0.15"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckpt = interrupted / "checkpoint.pt"
    deadline = time.time() + 240
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    import torch

    step_at_kill = torch.load(ckpt, weights_only=True)["step"]  # plain tensors and values
    assert 0 < step_at_kill < steps
    resumed = _run(interrupted, steps, 0.0)
    assert resumed["resumed_from"] == step_at_kill
    assert resumed["final_loss"] == reference["final_loss"]
    assert resumed["weights"] == reference["weights"]  # sha256 over every tensor's bytes


class _Planted:
    """An object whose unpickling creates a file: what a crafted checkpoint would run."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_crafted_pickle_in_the_output_folder_is_refused_and_never_run(tmp_path):
    import torch

    from neurips23.errors import UserError
    from neurips23.lm.models import build_model
    from neurips23.lm.tasks import get_task
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import train_causal_lm

    out, marker = tmp_path / "out", tmp_path / "pwned.txt"
    out.mkdir()
    torch.save({"step": 1, "payload": _Planted(marker)}, out / "checkpoint.pt")
    task = get_task("reverse")
    tok = build_char_tokenizer(task.alphabet)
    model = build_model("nano", len(tok), seed=0)
    cfg = TrainConfig(steps=2, batch_size=4, checkpoint_every=1)
    with pytest.raises(UserError) as err:
        train_causal_lm(model, tok, task.make(20, 0), cfg, out_dir=out, progress=False)
    assert not marker.exists(), "loading the checkpoint ran code from it"
    message = str(err.value)
    assert "\n" not in message and "checkpoint.pt" in message and "refused" in message
    # --restart discards the file without reading it
    train_causal_lm(model, tok, task.make(20, 0), cfg, out_dir=out, progress=False, restart=True)
    assert not marker.exists()
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 2
