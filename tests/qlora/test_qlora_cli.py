"""The `neurips23 qlora` commands and a miniature reproduction through the real code path."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


def test_memory_command_answers_fit_question(tmp_path):
    from transformers import LlamaConfig

    from neurips23.qlora.cli import app

    LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                intermediate_size=11008, vocab_size=32000).save_pretrained(tmp_path)
    res = CliRunner().invoke(app, ["memory", "--model", str(tmp_path), "--rank", "64",
                                   "--gpu-gb", "24"])
    assert res.exit_code == 0, res.output
    assert "4.127" in res.output and "4.500" in res.output
    assert "fits in 24 GB: QLoRA NF4+DQ" in res.output


def test_memory_command_bad_path_is_one_clear_error(tmp_path, capsys, monkeypatch):
    import sys

    from neurips23 import cli

    monkeypatch.setattr(sys, "argv", ["neurips23", "qlora", "memory", "--model",
                                      str(tmp_path / "nope")])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    assert "no config.json" in " ".join(capsys.readouterr().err.split())


def test_finetune_options_are_the_recipe_keys_with_its_defaults(tmp_path, monkeypatch):
    """`qlora finetune`'s options come from FinetuneConfig: the trainer's as `--train.KEY` with
    the recipe's defaults in --help; the recipe reaches the finetune without the command's own
    fields; a bad storage or a missing --data is refused before anything loads."""
    import neurips23.qlora.cli as cli
    import neurips23.qlora.finetune as ft
    from neurips23.errors import ConfigError
    from neurips23.lm.train import TrainResult
    from neurips23.qlora.config import FinetuneConfig, recipe_train_settings

    res = CliRunner().invoke(cli.app, ["finetune", "--help"], env={"COLUMNS": "200"})
    text = " ".join(res.output.replace("│", " ").split())
    for option, default in (("--train.lr", "0.0002"), ("--train.schedule", "constant"),
                            ("--train.warmup-ratio", "0.03"), ("--train.checkpoint-every", "50"),
                            ("--rank", "64"), ("--out", "qlora-out")):
        assert option in text and f"[default: {default}]" in text, option
    seen = {}
    monkeypatch.setattr(cli, "_tokenizer", lambda model: None)
    monkeypatch.setattr(ft, "read_training_data", lambda data, tok, n: seen.update(max_length=n) or [])
    monkeypatch.setattr(ft, "finetune", lambda model, examples, cfg, **kw: seen.update(cfg=cfg, kw=kw)
                        or (None, None, TrainResult()))
    res = CliRunner().invoke(cli.app, ["finetune", "--model", "m", "--data", "d.jsonl", "--rank", "4",
                                       "--train.steps", "9", "--set", "train.max_length=64",
                                       "--out", str(tmp_path / "o"), "--restart"])
    assert res.exit_code == 0, res.output
    assert seen["cfg"] == FinetuneConfig(rank=4, train=recipe_train_settings(steps=9, max_length=64))
    assert seen["max_length"] == 64 and seen["kw"]["restart"] and seen["kw"]["device"] is None
    res = CliRunner().invoke(cli.app, ["finetune", "--model", "m", "--data", "d.jsonl", "--weights", "int3"])
    assert isinstance(res.exception, ConfigError) and "int3" in str(res.exception)
    res = CliRunner().invoke(cli.app, ["finetune", "--model", "m"])
    assert isinstance(res.exception, ConfigError) and "--data is required" in str(res.exception)


def test_mini_reproduction_writes_records(tmp_path):
    """The whole reproduction on a nano base, with a micro model standing in for SmolLM2 (the
    real-model stage's code path, seconds instead of minutes)."""
    from neurips23.core.reproduction import reproduce
    from neurips23.dpo.toy import toy_model_and_tokenizer
    from neurips23.lm.models import save_model

    save_model(*toy_model_and_tokenizer("micro", seed=0), tmp_path / "real")
    run_dir = reproduce("qlora", "quick", runs_dir=tmp_path / "runs", overrides=(
        "size=nano", "n_pretrain=64", "pretrain.steps=10", "n_train=32", "n_test=8", "train.steps=3",
        "train.batch_size=4", "seeds=0,1", f"real_model={tmp_path / 'real'}", "ppl_chunks=8",
        "ppl_chunk_tokens=16", "memory_repeats=1", "memory_seq=16"))
    results = json.loads((run_dir / "results.json").read_text())
    arms = results["metrics"]["arms"]
    assert set(arms) == {"full", "lora16", "qlora_fp4", "qlora_nf4", "qlora_nf4_dq"}
    assert arms["qlora_nf4_dq"]["linear_bits_per_param"] == pytest.approx(4.127, abs=0.01)
    assert arms["qlora_nf4"]["linear_bits_per_param"] == pytest.approx(4.5)
    assert arms["lora16"]["linear_bits_per_param"] == pytest.approx(16)
    verdicts = [c["verdict"] for c in results["claims"]]
    assert set(verdicts) <= {"reproduced", "not reproduced", "mixed", "inconclusive", "computed"}
    assert verdicts.count("computed") == 1 and len(verdicts) >= 6 and results["seeds"] == [0, 1]
    assert not results["finding"]  # the quick profile is a pipeline check
    assert (run_dir / "qlora_arms.png").exists() and (run_dir / "samples.jsonl").exists()
    assert (run_dir / "config.resolved.yaml").exists()


QUIET_DRIVER = """
import logging, sys
from neurips23 import cli
for argv in sys.argv[1:]:
    sys.argv = ["neurips23", *argv.split()]
    try:
        cli.main()
    except SystemExit as e:
        assert not e.code, (argv, e.code)
if "--debug" not in sys.argv:  # bitsandbytes' kernel-loading notice goes through its logger
    logging.getLogger("bitsandbytes.backends.cpu.ops").warning(
        "Failed to load CPU gemm_4bit_forward from kernels-community")
"""


@pytest.mark.slow
def test_cli_output_is_quiet_unless_debug(tmp_path):
    """qlora finetune and dpo train (4-bit + LoRA) print no third-party warnings; --debug does."""
    import subprocess
    import sys
    from pathlib import Path

    from neurips23.dpo.toy import toy_model_and_tokenizer, toy_pairs
    from neurips23.lm.models import save_model

    save_model(*toy_model_and_tokenizer(seed=0), tmp_path / "tiny")
    rows = [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in toy_pairs(8)]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"prompt": r["prompt"], "response":
                                                          r["chosen"]}) + "\n" for r in rows))
    common = f"--model {tmp_path / 'tiny'} --train.steps 1 --train.batch-size 4"
    finetune = f"qlora finetune {common} --data {tmp_path / 'd.jsonl'} --rank 2 --out {tmp_path}/q"
    dpo = (f"dpo train {common} --data {tmp_path / 'p.jsonl'} --lora-rank 2 --load-4bit "
           f"--out {tmp_path}/d")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    quiet = subprocess.run([sys.executable, "-c", QUIET_DRIVER, finetune, dpo], env=env,
                           capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "final train loss" in quiet.stdout and "step 1: loss" in quiet.stdout
    assert "Warning" not in quiet.stderr and "Failed to load" not in quiet.stderr, quiet.stderr
    loud = subprocess.run([sys.executable, "-c", QUIET_DRIVER, "--debug " + finetune.replace(
        f"{tmp_path}/q", f"{tmp_path}/q2")], env=env, capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0 and "FutureWarning" in loud.stderr, loud.stderr[-2000:]
