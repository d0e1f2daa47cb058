"""Training that is safe on real checkpoints: fp32 master weights for a bf16 policy, checkpoints
that refuse another run's state, and the same numbers from two processes as from one."""

import json
import os
import runpy
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from neurips23.dpo.cli import app
from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
from neurips23.dpo.trainer import DPOTrainConfig, DPOTrainer, dpo_train_settings
from neurips23.errors import UserError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _train(model, tok, pairs, steps=5, lr=1e-6, batch_size=8, **kw):
    cfg = DPOTrainConfig(beta=0.1, train=dpo_train_settings(steps=steps, batch_size=batch_size,
                                                            lr=lr, max_length=32, log_every=1, **kw))
    return DPOTrainer(model, tok, pairs, cfg, progress=False).train()


def test_bf16_policy_moves_like_fp32_training():
    """5 DPO steps at lr 1e-6: a bf16 policy keeps fp32 master weights, so (nearly) every weight
    moves, and by what fp32 training moves it; pure bf16 storage would round most updates away."""
    model, tok = toy_model_and_tokenizer(seed=0)
    pairs = toy_pairs(16, seed=1)
    start = {n: p.detach().to(torch.bfloat16).float() for n, p in model.named_parameters()}
    fp32 = model
    with torch.no_grad():
        for n, p in fp32.named_parameters():
            p.copy_(start[n])
    bf16 = toy_model_and_tokenizer(seed=0)[0].to(torch.bfloat16)
    with torch.no_grad():
        for n, p in bf16.named_parameters():
            p.copy_(start[n])
    _train(fp32, tok, pairs)
    _train(bf16, tok, pairs)
    moved32 = torch.cat([(p.detach() - start[n]).reshape(-1) for n, p in fp32.named_parameters()])
    moved16 = torch.cat([(p.detach().float() - start[n]).reshape(-1)
                         for n, p in bf16.named_parameters()])
    assert all(p.dtype == torch.float32 for p in bf16.parameters())  # the master weights
    n = moved32.numel()
    assert (moved32 != 0).sum() > 0.9 * n  # embeddings of tokens absent from the data stay put
    assert (moved16 != 0).sum() >= 0.99 * (moved32 != 0).sum()
    # Adam moves each weight by about lr per step: the bf16-compute run agrees in size and sign
    same_sign = ((moved16 > 0) == (moved32 > 0)).float().mean()
    assert same_sign > 0.95
    assert torch.linalg.norm(moved16 - moved32) < 0.25 * torch.linalg.norm(moved32)
    # what storing those updates in bf16 would keep: almost nothing
    rounded = torch.cat([(p.detach().to(torch.bfloat16).float() - start[n]).reshape(-1)
                         for n, p in fp32.named_parameters()])
    assert (rounded != 0).sum() < 0.2 * n


def _toy_files(tmp_path, name, n, seed):
    data, model = tmp_path / f"{name}.jsonl", tmp_path / "tiny"
    args = ["toy-data", "--out", str(data), "--n", str(n), "--seed", str(seed)]
    if not model.exists():
        args += ["--model-out", str(model)]
    assert CliRunner().invoke(app, args).exit_code == 0
    return data, model


def test_a_second_run_into_the_same_out_dir_is_refused(tmp_path):
    a, model = _toy_files(tmp_path, "a", 16, 0)
    b, _ = _toy_files(tmp_path, "b", 16, 1)
    out = tmp_path / "out"
    base = ["train", "--model", str(model), "--out", str(out), "--train.steps", "4", "--train.batch-size", "8",
            "--train.lr", "3e-3"]
    res = CliRunner().invoke(app, base + ["--data", str(a)])
    assert res.exit_code == 0, res.output
    first = json.loads((out / "dpo_logs.json").read_text())
    for other in (["--data", str(b)], ["--data", str(a), "--beta", "0.5"],
                  ["--data", str(a), "--set", "train.lr=1e-3"]):
        res = CliRunner().invoke(app, base + other)
        assert isinstance(res.exception, UserError), res.output
        message = str(res.exception)
        assert "checkpoint.pt: a checkpoint of another run" in message and "--restart" in message
    assert "data" in str(CliRunner().invoke(app, base + ["--data", str(b)]).exception)
    res = CliRunner().invoke(app, base + ["--data", str(b), "--restart"])
    assert res.exit_code == 0, res.output
    second = json.loads((out / "dpo_logs.json").read_text())
    assert [r["step"] for r in second] == [1, 2, 3, 4] and second[-1]["loss"] != first[-1]["loss"]
    res = CliRunner().invoke(app, base + ["--data", str(b)])  # the same run again: it resumes
    assert res.exit_code == 0 and json.loads((out / "dpo_logs.json").read_text()) == second


DISTRIBUTED = textwrap.dedent("""
    import json, sys, torch
    from neurips23.utils import set_torch_threads
    set_torch_threads(1)
    from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
    from neurips23.dpo.trainer import DPOTrainConfig, DPOTrainer, dpo_train_settings
    from neurips23.lm.data import Example
    from neurips23.lm.train import TrainConfig, train_causal_lm

    def dpo():
        model, tok = toy_model_and_tokenizer(seed=0)
        cfg = DPOTrainConfig(beta=0.5, train=dpo_train_settings(steps=4, batch_size=8, lr=3e-3,
                                                                max_length=32, log_every=1))
        logs = DPOTrainer(model, tok, toy_pairs(24, seed=2), cfg, progress=False).train().logs
        return model, [r["loss"] for r in logs], [r["reward_accuracy"] for r in logs]

    def lm():  # responses of uneven length: the loss is a mean over the global batch's tokens
        model, tok = toy_model_and_tokenizer(seed=1)
        data = [Example(p.prompt, " " + p.chosen) for p in toy_pairs(24, seed=3, max_len=9)]
        res = train_causal_lm(model, tok, data, TrainConfig(steps=4, batch_size=8, lr=3e-3,
                              log_every=1, max_length=32), progress=False)
        return model, [x for _, x in res.losses], []

    def run_all():
        out = {}
        for name, fn in (("dpo", dpo), ("lm", lm)):
            model, losses, acc = fn()
            out[name] = {"losses": losses, "acc": acc, "weights": torch.cat(
                [p.detach().reshape(-1) for p in model.parameters()]).tolist()}
        return out

    if __name__ == "__main__":
        import os
        out = run_all()
        if int(os.environ.get("RANK", "0")) == 0:
            json.dump(out, open(sys.argv[1], "w"))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_give_the_numbers_of_one(tmp_path):
    """torchrun --nproc_per_node 2 (gloo, CPU): same losses and weights as one process, for DPO
    (a mean over pairs) and the LM trainer (a mean over unevenly many tokens per process)."""
    script = tmp_path / "train.py"
    script.write_text(DISTRIBUTED)
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "NEURIPS23_THREADS": "1"}
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(out)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    two_procs = json.loads(out.read_text())
    one_proc = runpy.run_path(str(script))["run_all"]()  # the same code in this one process
    for name in ("dpo", "lm"):
        one, two = one_proc[name], two_procs[name]
        assert two["losses"] == pytest.approx(one["losses"], abs=1e-5)
        assert two["acc"] == pytest.approx(one["acc"], abs=1e-9)
        assert torch.allclose(torch.tensor(two["weights"]), torch.tensor(one["weights"]), atol=1e-5)
