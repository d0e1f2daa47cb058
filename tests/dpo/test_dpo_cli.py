"""`neurips23 dpo toy-data` and `neurips23 dpo train` end to end on a tiny model; bad input."""

import json

from typer.testing import CliRunner

from neurips23.dpo.cli import app
from neurips23.errors import ConfigError, DataError

runner = CliRunner()


def test_toy_data_then_train(tmp_path):
    data, model = tmp_path / "prefs.jsonl", tmp_path / "tiny"
    res = runner.invoke(app, ["toy-data", "--out", str(data), "--model-out", str(model), "--n", "16"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--out", str(out),
                              "--train.steps", "12", "--train.batch-size", "8", "--train.lr", "3e-3", "--beta", "0.5",
                              "--train.checkpoint-every", "6"])
    assert res.exit_code == 0, res.output
    assert "step 12: loss" in res.output
    logs = json.loads((out / "dpo_logs.json").read_text())
    assert len(logs) == 12 and logs[-1]["loss"] < logs[0]["loss"]
    assert (out / "model" / "config.json").exists() and (out / "checkpoint.pt").exists()
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--out",
                              str(tmp_path / "lora"), "--train.steps", "2", "--lora-rank", "2"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lora" / "adapter" / "adapter_config.json").exists()


def test_train_reports_bad_input(tmp_path):
    data, model = tmp_path / "prefs.jsonl", tmp_path / "tiny"
    runner.invoke(app, ["toy-data", "--out", str(data), "--model-out", str(model), "--n", "4"])
    with data.open("a") as f:
        f.write('{"prompt": "a", "chosen": "good"}\n')
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--train.steps", "1",
                              "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, DataError)
    assert "prefs.jsonl:5: missing field 'rejected'" in str(res.exception)
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--train.steps", "1",
                              "--out", str(tmp_path / "o"), "--set", "betta=1"])
    assert isinstance(res.exception, ConfigError) and "betta" in str(res.exception)
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--train.steps", "1",
                              "--out", str(tmp_path / "o"), "--load-4bit"])
    assert isinstance(res.exception, ConfigError) and "--lora-rank" in str(res.exception)


def test_a_refused_resume_leaves_the_saved_config_as_it_was(tmp_path):
    from neurips23.errors import UserError

    data, model, out = tmp_path / "prefs.jsonl", tmp_path / "tiny", tmp_path / "out"
    runner.invoke(app, ["toy-data", "--out", str(data), "--model-out", str(model), "--n", "8"])
    first = ["train", "--model", str(model), "--data", str(data), "--out", str(out), "--train.steps", "2",
             "--train.batch-size", "4", "--train.checkpoint-every", "1"]
    assert runner.invoke(app, [*first, "--beta", "0.5"]).exit_code == 0
    saved = (out / "dpo_config.json").read_text()
    res = runner.invoke(app, [*first, "--beta", "0.2"])  # another run's checkpoint: refused
    assert isinstance(res.exception, UserError) and "another run" in str(res.exception)
    assert (out / "dpo_config.json").read_text() == saved
    assert json.loads(saved)["beta"] == 0.5


def test_train_options_are_the_config_keys_with_dpos_defaults(tmp_path, monkeypatch):
    """`dpo train`'s options come from DPOTrainConfig: the trainer's as `--train.KEY` with DPO's
    defaults in --help; options, --config and --set reach the same keys."""
    import neurips23.dpo.run as run
    from neurips23.dpo.trainer import DPOTrainConfig

    text = " ".join(runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output.replace("│", " ").split())
    for option, default in (("--train.steps", "100"), ("--train.lr", "0.0001"),
                            ("--train.max-grad-norm", "10.0"), ("--beta", "0.1"),
                            ("--out", "dpo-out"), ("--no-reference-free", "--no-reference-free")):
        assert option in text and f"[default: {default}]" in text, option
    from neurips23.dpo.trainer import DPOResult

    seen = {}
    monkeypatch.setattr(run, "train_dpo", lambda *a, **k: seen.update(args=a, kw=k) or (None, DPOResult()))
    config = tmp_path / "c.yaml"
    config.write_text("beta: 0.3\ntrain:\n  steps: 7\n  warmup_steps: 5\n")
    res = runner.invoke(app, ["train", "--model", "m", "--data", "d.jsonl", "--config", str(config),
                              "--train.steps", "9", "--reference-free", "--set", "train.lr=1e-3",
                              "--lora-rank", "4", "--load-4bit"])
    cfg = seen["args"][2]
    assert res.exit_code == 0, res.output
    assert type(cfg) is DPOTrainConfig  # the command's own fields dropped
    assert (cfg.beta, cfg.reference_free, cfg.train.steps, cfg.train.lr, cfg.train.warmup_steps,
            cfg.train.max_grad_norm) == (0.3, True, 9, 1e-3, 5, 10.0)
    assert seen["args"][:2] == ("m", "d.jsonl") and seen["kw"]["lora_rank"] == 4
    assert seen["kw"]["load_in_4bit"] and seen["kw"]["ref_model"] is None
    res = runner.invoke(app, ["train", "--data", "d.jsonl"])
    assert isinstance(res.exception, ConfigError) and "--model is required" in str(res.exception)
    res = runner.invoke(app, ["train", "--model", "m", "--data", "d.jsonl", "--train.lr", "0"])
    assert isinstance(res.exception, ConfigError) and "train.lr" in str(res.exception)
