"""Model names as users give them: built-in, cached key, directory, hub; bad ones get one line."""

from __future__ import annotations

import sys

import pytest

from neurips23.errors import ConfigError, UserError
from neurips23.lm.models import build_model, load_model, save_model
from neurips23.lm.tokenizers import build_char_tokenizer


@pytest.fixture()
def tiny_dir(tmp_path):
    tok = build_char_tokenizer("abc ")
    return save_model(build_model("nano", len(tok)), tok, tmp_path / "tiny")


def test_an_unknown_name_lists_the_valid_ones():
    with pytest.raises(UserError) as err:
        load_model("smollm3-135m")
    msg = str(err.value)
    assert "unknown model 'smollm3-135m'" in msg and "smollm2-135m" in msg
    assert "need the network" in msg and "\n" not in msg


def test_a_hub_name_offline_fails_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="HF_HUB_OFFLINE is set; offline, use a built-in"):
        load_model("someone/not-cached-model")


def test_a_cache_key_is_a_model_name(tmp_path, monkeypatch):
    from neurips23.lm.cache import get_or_train

    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    tok = build_char_tokenizer("abc ")
    path = get_or_train({"kind": "test-name"}, lambda d: save_model(build_model("nano", len(tok)),
                                                                     tok, d))
    model, _ = load_model(path.name, dtype="bfloat16", device="auto")
    assert str(next(model.parameters()).dtype) == "torch.bfloat16"
    with pytest.raises(ConfigError, match="dtype 'fp8': choose from auto, float32"):
        load_model(path.name, dtype="fp8")


def test_a_corrupt_cache_entry_names_the_file(tiny_dir):
    (tiny_dir / "model.safetensors").write_bytes(b"not a safetensors file" * 4)
    with pytest.raises(UserError) as err:
        load_model(tiny_dir)
    msg = str(err.value)
    assert msg.startswith(f"{tiny_dir / 'model.safetensors'}: unreadable")
    assert f"rm -r {tiny_dir}" in msg


def test_a_corrupt_gguf_names_the_file_and_leaves_no_cache_entry(tmp_path, monkeypatch):
    import neurips23.lm.builtin as builtin
    from neurips23.lm.cache import list_models

    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    monkeypatch.setattr(builtin, "gguf_path", lambda name: bad)
    with pytest.raises(UserError, match=f"^{bad}: cannot read the GGUF file"):
        load_model("smollm2-135m")
    assert list_models() == []


def test_cli_lists_the_builtin_model_and_refuses_a_bad_name_in_one_line(monkeypatch, capsys):
    from neurips23 import cli

    monkeypatch.setattr(sys, "argv", ["neurips23", "models", "list"])
    with pytest.raises(SystemExit) as code:
        cli.main()
    assert code.value.code in (0, None) and "smollm2-135m" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["neurips23", "serve", "--model", "no-such-model"])
    with pytest.raises(SystemExit) as code:
        cli.main()
    out = capsys.readouterr()
    assert code.value.code == 2 and out.out == ""
    assert out.err.count("\n") == 1 and "unknown model 'no-such-model'" in out.err
