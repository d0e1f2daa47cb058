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
                              "--steps", "12", "--batch-size", "8", "--lr", "3e-3", "--beta", "0.5",
                              "--checkpoint-every", "6"])
    assert res.exit_code == 0, res.output
    assert "step 12: loss" in res.output
    logs = json.loads((out / "dpo_logs.json").read_text())
    assert len(logs) == 12 and logs[-1]["loss"] < logs[0]["loss"]
    assert (out / "model" / "config.json").exists() and (out / "checkpoint.pt").exists()
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--out",
                              str(tmp_path / "lora"), "--steps", "2", "--lora-rank", "2"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lora" / "adapter" / "adapter_config.json").exists()


def test_train_reports_bad_input(tmp_path):
    data, model = tmp_path / "prefs.jsonl", tmp_path / "tiny"
    runner.invoke(app, ["toy-data", "--out", str(data), "--model-out", str(model), "--n", "4"])
    with data.open("a") as f:
        f.write('{"prompt": "a", "chosen": "good"}\n')
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--steps", "1",
                              "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, DataError)
    assert "prefs.jsonl:5: missing field 'rejected'" in str(res.exception)
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--steps", "1",
                              "--out", str(tmp_path / "o"), "--set", "betta=1"])
    assert isinstance(res.exception, ConfigError) and "betta" in str(res.exception)
    res = runner.invoke(app, ["train", "--model", str(model), "--data", str(data), "--steps", "1",
                              "--out", str(tmp_path / "o"), "--load-4bit"])
    assert isinstance(res.exception, ConfigError) and "--lora-rank" in str(res.exception)


def test_a_refused_resume_leaves_the_saved_config_as_it_was(tmp_path):
    from neurips23.errors import UserError

    data, model, out = tmp_path / "prefs.jsonl", tmp_path / "tiny", tmp_path / "out"
    runner.invoke(app, ["toy-data", "--out", str(data), "--model-out", str(model), "--n", "8"])
    first = ["train", "--model", str(model), "--data", str(data), "--out", str(out), "--steps", "2",
             "--batch-size", "4", "--checkpoint-every", "1"]
    assert runner.invoke(app, [*first, "--beta", "0.5"]).exit_code == 0
    saved = (out / "dpo_config.json").read_text()
    res = runner.invoke(app, [*first, "--beta", "0.2"])  # another run's checkpoint: refused
    assert isinstance(res.exception, UserError) and "another run" in str(res.exception)
    assert (out / "dpo_config.json").read_text() == saved
    assert json.loads(saved)["beta"] == 0.5
