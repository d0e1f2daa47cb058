"""memory_report against the paper's accounting (§3) and its 65B-on-48GB headline."""

from __future__ import annotations

import json

import pytest

from neurips23.errors import UserError
from neurips23.qlora.memory import bits_per_parameter, memory_report


def test_bits_per_parameter_paper_numbers():
    assert bits_per_parameter(64, double_quant=False) == pytest.approx(4.5)
    assert bits_per_parameter(64, double_quant=True, nested_blocksize=256) == pytest.approx(
        4 + 8 / 64 + 32 / (64 * 256))
    assert bits_per_parameter(64, True) == pytest.approx(4.127, abs=5e-4)
    # the DQ saving: 0.373 bits/param
    assert bits_per_parameter(64, False) - bits_per_parameter(64, True) == pytest.approx(0.373,
                                                                                        abs=1e-3)


def _llama_config(tmp_path, **dims):
    from transformers import LlamaConfig

    cfg = LlamaConfig(**dims)
    cfg.save_pretrained(tmp_path)
    return tmp_path


def test_llama_65b_fits_one_48gb_gpu_only_with_qlora(tmp_path):
    path = _llama_config(tmp_path, hidden_size=8192, num_hidden_layers=80, num_attention_heads=64,
                         num_key_value_heads=64, intermediate_size=22016, vocab_size=32000)
    rep = memory_report(str(path), rank=64)
    # parameter count of LLaMA-65B, counted by hand from the config
    per_layer = 4 * 8192 * 8192 + 3 * 8192 * 22016 + 2 * 8192
    assert rep.n_params == 80 * per_layer + 2 * 32000 * 8192 + 8192
    assert rep.n_quantized == 80 * (4 * 8192 * 8192 + 3 * 8192 * 22016)
    # 65B x 4.127 / 8 ~ 33.4 GB of 4-bit weights (paper §3)
    assert rep.n_quantized * rep.bits_nf4_dq / 8 / 1e9 == pytest.approx(33.4, abs=0.1)
    # paper §1: >780 GB for regular 16-bit finetuning, < 48 GB with QLoRA
    assert rep.full_finetune_bytes > 780e9
    fits = rep.fits(48)
    assert fits["QLoRA NF4+DQ"] and not fits["16-bit LoRA"] and not fits["full 16-bit finetune"]
    # LoRA r=64 on all 7 linear layers per block: r * (in + out) each
    assert rep.n_lora == 80 * 64 * (4 * 2 * 8192 + 3 * (8192 + 22016))


def test_tiny_config_name_and_gpt2(tmp_path):
    rep = memory_report("nano", rank=8)
    assert rep.n_adapted_layers == 2 * 7 and rep.n_lora > 0
    from transformers import GPT2Config

    GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=100).save_pretrained(tmp_path)
    rep = memory_report(str(tmp_path / "config.json"), rank=4)  # Conv1D layers count as linear
    assert rep.n_adapted_layers == 2 * 4
    assert rep.n_quantized == 2 * (64 * 192 + 64 * 64 + 64 * 256 + 256 * 64)


def test_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        memory_report(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="rank"):
        memory_report("nano", rank=0)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    with pytest.raises(UserError):
        memory_report(str(tmp_path))


def test_model_without_linear_layers_is_refused():
    import torch
    from transformers import PretrainedConfig, PreTrainedModel

    class Embeds(PreTrainedModel):
        config_class = PretrainedConfig

        def __init__(self, config):
            super().__init__(config)
            self.emb = torch.nn.Embedding(10, 4)

    with pytest.raises(UserError, match="no linear layers"):
        memory_report(Embeds(PretrainedConfig()))
