"""One set of backend settings: every command that talks to a model inherits `BackendOptions`
(same flags and keys everywhere) and loads its model with `.load()`."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from neurips23.lm import backends
from neurips23.lm.backends import BackendOptions

FLAGS = ("--backend", "--model", "--base-url", "--api-key-env", "--timeout")


def _configs():
    from neurips23.multilingual.cli import EvalConfig as AyaEval
    from neurips23.multilingual.cli import WinrateConfig
    from neurips23.planning.cli import EvalConfig as PlanningEval
    from neurips23.probe.config import ProbeConfig
    from neurips23.tot.runner import RunConfig

    return [PlanningEval, RunConfig, AyaEval, WinrateConfig, ProbeConfig]


def test_load_passes_every_setting_to_load_backend(monkeypatch):
    seen = {}
    monkeypatch.setattr(backends, "load_backend",
                        lambda kind, model, **kw: seen.update(kind=kind, model=model, **kw))
    BackendOptions("openai", "m", "http://h/v1", "MY_KEY", 5.0).load(batch_size=3)
    assert seen == {"kind": "openai", "model": "m", "base_url": "http://h/v1",
                    "api_key_env": "MY_KEY", "timeout": 5.0, "batch_size": 3}
    BackendOptions().load()
    assert seen["kind"] == "hf" and seen["model"] == "smollm2-135m" and seen["base_url"] is None


@pytest.mark.parametrize("cls", _configs(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_model_command_takes_the_same_backend_options(cls):
    from neurips23.core.cli_config import config_options

    assert issubclass(cls, BackendOptions)
    names = [p.default.param_decls[0].split("/")[0] for p in config_options(cls)]
    assert set(FLAGS) <= set(names)
    ours = {f.name: f.default for f in dataclasses.fields(cls)}
    assert ours["base_url"] == "" and ours["api_key_env"] == "OPENAI_API_KEY"
    assert ours["timeout"] == 600.0 and ours["backend"] == "hf"


def test_a_model_judge_is_the_backend_options_model(tmp_path, monkeypatch):
    from neurips23.multilingual.cli import app

    seen = {}

    class Stop(Exception):
        pass

    def fake(kind, model, **kw):
        seen.update(kind=kind, model=model, **kw)
        raise Stop

    monkeypatch.setattr(backends, "load_backend", fake)
    row = {"id": "x", "inputs": "q", "output": "a", "language_code": "spa"}
    for name in ("a", "b"):
        (tmp_path / f"{name}.jsonl").write_text(json.dumps(row) + "\n")
    res = CliRunner().invoke(app, ["winrate", "--a", str(tmp_path / "a.jsonl"), "--b",
                                   str(tmp_path / "b.jsonl"), "--judge", "model", "--backend",
                                   "openai", "--model", "judge-m", "--base-url", "http://h/v1",
                                   "--api-key-env", "JUDGE_KEY", "--timeout", "7"])
    assert isinstance(res.exception, Stop)
    assert seen == {"kind": "openai", "model": "judge-m", "base_url": "http://h/v1",
                    "api_key_env": "JUDGE_KEY", "timeout": 7.0}
