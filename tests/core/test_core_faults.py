"""Faults and bad input a new user (or a crafted file) produces: each is refused in one line
naming the problem, with exit 2, and nothing half-written is left behind."""

from __future__ import annotations

import pytest
from core_cli_helper import run_main

from neurips23.config import load_config
from neurips23.errors import ConfigError
from neurips23.lm.train import TrainConfig


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    for needle in needles:
        assert needle in lines[0], (needle, err)


# --- non-finite numbers --------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", ".nan", ".inf", "NaN", "1e400"])
def test_a_non_finite_number_is_refused_in_overrides(raw):
    with pytest.raises(ConfigError, match="'lr'.*not a finite number"):
        load_config(TrainConfig, overrides=[f"lr={raw}"])


def test_a_non_finite_number_is_refused_in_a_yaml_file_and_in_a_rule_threshold(tmp_path):
    from neurips23.dpo.config import DPOConfig

    path = tmp_path / "c.yaml"
    path.write_text("lr: .nan\n")
    with pytest.raises(ConfigError, match="'lr'"):
        load_config(TrainConfig, path)
    with pytest.raises(ConfigError, match="'dominance.threshold'.*not a finite number"):
        load_config(DPOConfig, overrides=["dominance.threshold=nan"])
    assert load_config(TrainConfig, overrides=["lr=1e-3"]).lr == 1e-3  # finite numbers pass


@pytest.mark.parametrize("args, needle", [
    (["dpo", "train", "--model", "m", "--data", "d.jsonl", "--beta", "nan"], "beta"),
    (["dpo", "train", "--model", "m", "--data", "d.jsonl", "--set", "train.lr=inf"], "train.lr"),
    (["qlora", "finetune", "--model", "m", "--data", "d.jsonl", "--train.lr", "nan"], "train.lr"),
    (["planning", "solve", "d.pddl", "p.pddl", "--time-limit", "inf"], "--time-limit"),
])
def test_non_finite_cli_options_exit_2_in_one_line(args, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(args, capsys, monkeypatch)
    assert_one_line_error(code, err, needle, "finite")
    assert not (tmp_path / "dpo-out").exists()


# --- file modes ----------------------------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_outputs_are_written_with_the_users_umask(mask, tmp_path):
    import os
    import stat

    from neurips23.utils import atomic_write_json, atomic_write_text

    old = os.umask(mask)
    try:
        atomic_write_json(tmp_path / "a.json", {"x": 1})
        atomic_write_text(tmp_path / "b.txt", "x")
        with open(tmp_path / "plain.txt", "w") as f:  # what any other tool would create
            f.write("x")
    finally:
        os.umask(old)
    expected = stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert expected == 0o666 & ~mask
    for name in ("a.json", "b.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == expected, name


# --- the report embeds only the run's own files ---------------------------------------------

def test_the_report_embeds_only_plot_files_inside_the_runs_folder(tmp_path, capsys):
    import base64
    import json

    from neurips23.core.run import start_run
    from neurips23.report.html import build_report

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN")
    run = start_run("m", {}, tmp_path / "runs", profile="quick")
    (run.dir / "ok.png").write_bytes(b"PNG-BYTES-OF-THE-RUN")
    (run.dir / "link.png").symlink_to(secret)
    run.plots = ["ok.png", "../../../secret.txt", str(secret), "link.png"]
    run.finish({"x": 1})
    page = build_report(tmp_path / "runs", tmp_path / "report").read_text()
    leaked = base64.b64encode(b"TOP-SECRET-TOKEN").decode()
    assert leaked not in page and "TOP-SECRET-TOKEN" not in page
    assert base64.b64encode(b"PNG-BYTES-OF-THE-RUN").decode() in page
    warnings = [x for x in capsys.readouterr().err.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 3 and all("outside the run's folder" in w for w in warnings)
    assert json.loads((run.dir / "results.json").read_text())["plots"][0] == "ok.png"


# --- one rule for `workers` ----------------------------------------------------------------

def _methods_with_workers() -> list[str]:
    import dataclasses

    from neurips23.core.reproduction import get_reproduction
    from neurips23.registry import METHODS

    return [m.name for m in METHODS
            if "workers" in {f.name for f in dataclasses.fields(get_reproduction(m.name).config)}]


def test_every_method_with_workers_refuses_a_negative_count_and_takes_zero_as_one():
    from neurips23.core.parallel import map_units
    from neurips23.core.reproduction import get_reproduction, resolve_config

    names = _methods_with_workers()
    assert len(names) >= 7, names
    for name in names:
        repro = get_reproduction(name)
        with pytest.raises(ConfigError, match="workers = -1: cannot be negative"):
            resolve_config(repro, "quick", overrides=["workers=-1"])
        assert resolve_config(repro, "quick", overrides=["workers=0"]).workers == 0
    with pytest.raises(ConfigError, match="workers = -2"):
        map_units(abs, [1, 2], workers=-2)
    assert map_units(abs, [-1, -2], workers=0) == [1, 2]  # 0: in this process, like 1


# --- unreadable input: one reader per format, one line naming file:line ---------------------

def test_a_duplicate_yaml_key_is_refused_naming_both_lines(tmp_path):
    from neurips23.config import read_yaml

    path = tmp_path / "c.yaml"
    path.write_text("steps: 3\nlr: 0.1\ntrain:\n  x: 1\n  x: 2\nsteps: 4\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:6: duplicate key 'steps' \(first given at "
                                          r"line 1\)"):
        load_config(TrainConfig, path)
    path.write_text("a:\n  x: 1\n  x: 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml:3: duplicate key 'x' \(first given at line 2\)"):
        read_yaml(path)
    path.write_text("{a: 1, a: 2}\n")
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        read_yaml(path)
    path.write_text("base: &b {x: 1}\nderived:\n  <<: *b\n  x: 2\n")  # a merge key is no duplicate
    assert read_yaml(path)["derived"] == {"x": 2}


def test_a_yaml_syntax_error_cites_the_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 3\nlr: [0.1,\nseed: 2\n")
    with pytest.raises(ConfigError) as err:
        load_config(TrainConfig, path)
    message = str(err.value)
    assert message.startswith(f"{path}:") and "<unicode string>" not in message
    assert "not valid YAML" in message and "\n" not in message
    line = int(message[len(str(path)) + 1:].split(":")[0])
    assert line in (2, 3, 4)


@pytest.mark.parametrize("content, needle", [
    (b'{"a": 1}\n\xff\xfe\n', ":2: not UTF-8"),
    (b"[" * 100_000, ":1: JSON nested too deeply"),
    (b'{"a": 1}\n{"a": \n', ":2: not valid JSON"),
])
def test_the_jsonl_reader_names_file_and_line(content, needle, tmp_path):
    from neurips23.errors import DataError
    from neurips23.lm.data import read_jsonl

    path = tmp_path / "d.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError, match=str(path) + needle):
        read_jsonl(path)
    with pytest.raises(DataError, match=f"{tmp_path}: a directory, not a JSONL file"):
        read_jsonl(tmp_path)


def test_emergence_analyze_refuses_a_results_file_of_the_wrong_shape(tmp_path, capsys,
                                                                     monkeypatch):
    import shutil
    from pathlib import Path

    logs = tmp_path / "logs"
    shutil.copytree(Path(__file__).parents[1] / "emergence" / "data" / "harness" / "one_folder", logs)
    results = sorted(logs.rglob("results_*.json"))[0]
    data = __import__("json").loads(results.read_text())
    data["configs"] = [1, 2]
    results.write_text(__import__("json").dumps(data))
    code, _, err = run_main(["emergence", "analyze", str(logs), "--out", str(tmp_path / "o")],
                            capsys, monkeypatch)
    assert_one_line_error(code, err, results.name, "'configs' should be a JSON object")


def test_analysis_json_is_strict_json_with_non_finite_values_as_null(tmp_path, capsys,
                                                                    monkeypatch):
    import json
    import math

    from neurips23.emergence.analysis import Curve

    plain_as_dict = Curve.as_dict

    def with_infinity(self):  # a curve with a value log p = -inf, as a real one can have
        d = plain_as_dict(self)
        d["value"] = [-math.inf, *d["value"][1:]]
        return d

    monkeypatch.setattr(Curve, "as_dict", with_infinity)
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"model": m, "params": p, "task": "t", "prediction": "x",
                                        "target": t}) + "\n"
                            for m, p, t in [("a", 1e6, "y"), ("b", 1e7, "x")]))
    code, _, err = run_main(["emergence", "analyze", str(rows), "--out", str(tmp_path / "o")],
                            capsys, monkeypatch)
    assert code == 0, err
    text = (tmp_path / "o" / "analysis.json").read_text()

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(text, parse_constant=refuse)
    assert all(c["value"][0] is None for c in data["tasks"]["t"]["curves"].values())


def test_an_unwritable_output_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"model": "a", "params": 1e6, "task": "t", "prediction": "x", "target": "x"}\n')
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, _, err = run_main(["emergence", "analyze", str(rows), "--out", str(blocker / "out")],
                            capsys, monkeypatch)
    assert_one_line_error(code, err, str(blocker))
    code, _, err = run_main(["dpo", "toy-data", "--out", str(blocker / "p.jsonl")], capsys,
                            monkeypatch)
    assert_one_line_error(code, err, str(blocker))


def test_dpo_settings_built_in_code_refuse_nan_too():
    from neurips23.dpo.trainer import DPOTrainConfig

    with pytest.raises(ConfigError, match="beta must be a finite number"):
        DPOTrainConfig(beta=float("nan")).validate()
    cfg = DPOTrainConfig()
    cfg.train.lr = float("inf")
    with pytest.raises(ConfigError, match="train.lr must be a finite number"):
        cfg.validate()


# --- no checkpoint is ever unpickled -------------------------------------------------------

class _Planted:
    """Unpickling this creates a file: what a crafted checkpoint would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_dpo_train_refuses_a_crafted_checkpoint_in_one_line_without_running_it(
        tmp_path, capsys, monkeypatch):
    import torch

    data, model, out = tmp_path / "prefs.jsonl", tmp_path / "tiny", tmp_path / "evil_out"
    code, _, err = run_main(["dpo", "toy-data", "--out", str(data), "--model-out", str(model),
                             "--n", "8"], capsys, monkeypatch)
    assert code == 0, err
    out.mkdir()
    marker = tmp_path / "pwned.txt"
    torch.save({"step": 1, "payload": _Planted(marker)}, out / "checkpoint.pt")
    code, _, err = run_main(["dpo", "train", "--model", str(model), "--data", str(data), "--out",
                             str(out), "--train.steps", "2", "--train.batch-size", "4"], capsys, monkeypatch)
    assert_one_line_error(code, err, "checkpoint.pt", "refused")
    assert not marker.exists(), "a checkpoint in --out ran code"
    assert not (out / "dpo_config.json").exists()
