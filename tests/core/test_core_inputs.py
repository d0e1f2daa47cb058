"""Bad input and side effects found in review: each gets a clear error or no effect."""

import json

import pytest
import torch

from neurips23.config import load_config
from neurips23.core.run import load_runs, start_run
from neurips23.errors import BackendError, ConfigError
from neurips23.lm.generate import generate
from neurips23.lm.models import build_model
from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.lm.train import TrainConfig


def test_malformed_overrides_are_config_errors():
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(TrainConfig, overrides=["steps=[1"])
    with pytest.raises(ConfigError, match="'steps' is not a section"):
        load_config(TrainConfig, overrides=["steps=3", "steps.x=1"])


def test_api_key_with_newline_is_stripped_and_control_chars_never_echoed(monkeypatch):
    from neurips23.lm.backends.openai import OpenAIBackend

    monkeypatch.setenv("NEURIPS23_TEST_KEY", "sk-secret-123\n")
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", api_key_env="NEURIPS23_TEST_KEY")
    assert backend._api_key == "sk-secret-123"
    monkeypatch.setenv("NEURIPS23_TEST_KEY", "sk-sec\rret-123")
    with pytest.raises(BackendError) as err:
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", api_key_env="NEURIPS23_TEST_KEY")
    assert "sk-sec" not in str(err.value) and "NEURIPS23_TEST_KEY" in str(err.value)


def test_generation_leaves_the_global_rng_alone():
    tok = build_char_tokenizer("abc")
    model = build_model("nano", len(tok), seed=0)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    generate(model, tok, ["ab"], max_new_tokens=3)
    generate(model, tok, ["ab"], n=2, temperature=1.0, max_new_tokens=3)
    assert torch.equal(torch.rand(3), expected)


def test_bad_thread_setting_is_a_config_error(monkeypatch):
    import neurips23.utils as utils

    monkeypatch.setattr(utils, "_threads_set", False)
    monkeypatch.setenv("NEURIPS23_THREADS", "two")
    with pytest.raises(ConfigError, match="NEURIPS23_THREADS='two'"):
        utils.set_torch_threads()


def test_runs_started_together_get_distinct_dirs_and_foreign_json_is_skipped(tmp_path):
    runs = [start_run("m", {}, tmp_path, profile="quick") for _ in range(3)]
    assert len({r.dir for r in runs}) == 3
    runs[0].finish({"x": 1})
    foreign = tmp_path / "m" / "other"
    foreign.mkdir()
    (foreign / "results.json").write_text(json.dumps({"hello": 1}))
    assert [r["run_id"] for r in load_runs(tmp_path)] == [runs[0].id]
