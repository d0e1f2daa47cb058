"""The finetuning recipe end to end on a nano Llama: 4-bit load, LoRA on all linear layers but the
LM head, only adapters train, merge into the dequantized weights; bad data is named by line."""

from __future__ import annotations

import json
import os

import pytest
import torch

from neurips23.errors import DataError, UserError
from neurips23.qlora.config import recipe_train_settings

os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer

    torch.set_num_threads(1)
    tok = build_char_tokenizer("0123456789rev =")
    model = build_model("nano", vocab_size=len(tok), seed=0)
    path = tmp_path_factory.mktemp("qlora") / "base"
    save_model(model, tok, path)
    return path


def _data(path, n=48):
    rows = [{"prompt": f"rev {i} =", "response": f" {str(i)[::-1]}"} for i in range(100, 100 + n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_quantized_base_matches_our_codec(base_dir):
    """bnb's Linear4bit holds exactly our NF4+DQ bytes, and computes x @ dequant(W)^T."""
    from neurips23.lm.models import load_model
    from neurips23.qlora.finetune import FinetuneConfig, load_base, quant_state_from_bnb
    from neurips23.qlora.quant import dequantize_4bit, quantize_nf4

    ref, _ = load_model(base_dir)
    model, _ = load_base(base_dir, FinetuneConfig(compute_dtype="float32"))
    lin = model.model.layers[0].mlp.up_proj
    assert type(lin).__name__ == "Linear4bit"
    w = ref.model.layers[0].mlp.up_proj.weight.detach()
    ours = quantize_nf4(w, blocksize=64, double_quant=True)
    theirs = quant_state_from_bnb(lin.weight)
    assert torch.equal(ours.packed, theirs.packed)
    assert torch.equal(ours.double_quant.offset, theirs.double_quant.offset)
    x = torch.randn(3, w.shape[1])
    with torch.no_grad():
        assert torch.allclose(lin(x), x @ dequantize_4bit(theirs).T, atol=1e-6)
    assert model.lm_head.__class__.__name__ == "Linear"  # the LM head stays 16/32-bit


def test_finetune_trains_only_adapters_and_merge_reproduces_outputs(base_dir, tmp_path):
    from transformers import AutoModelForCausalLM

    from neurips23.qlora.finetune import (
        FinetuneConfig,
        attach_lora,
        finetune,
        load_base,
        merge,
        read_training_data,
    )

    cfg = FinetuneConfig(compute_dtype="float32", rank=4, train=recipe_train_settings(steps=4, batch_size=8, lr=5e-3))
    model, tok = load_base(base_dir, cfg)
    peft_model = attach_lora(model, cfg)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    targets = {n.split(".lora_")[0].split(".")[-1] for n in trainable}
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

    examples = read_training_data(_data(tmp_path / "train.jsonl"), tok, 64)
    frozen_before = {n: p.detach().clone() for n, p in peft_model.named_parameters()
                     if not p.requires_grad and p.dtype.is_floating_point}
    out = tmp_path / "run"
    trained, tok, result = finetune(base_dir, examples, cfg, out_dir=out, progress=False)
    assert result.steps == 4 and (out / "adapter" / "adapter_config.json").exists()
    lora_b = [p for n, p in trained.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora_b)  # B starts at 0: training moved it
    frozen_after = dict(trained.named_parameters())
    for n, before in frozen_before.items():
        assert torch.equal(frozen_after[n].detach(), before), n

    merged_dir = merge(out, tmp_path / "merged", dtype="float32")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir)
    assert type(merged.model.layers[0].mlp.up_proj) is torch.nn.Linear
    ids = torch.tensor([tok.encode("rev 321 =")])
    trained.eval()
    with torch.no_grad():
        a = trained(input_ids=ids).logits
        b = merged(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)


def test_bad_training_data_is_named_by_line(base_dir, tmp_path):
    from transformers import AutoTokenizer

    from neurips23.qlora.finetune import read_training_data

    tok = AutoTokenizer.from_pretrained(base_dir)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "rev 1 =", "response": " 1"}\n\n{"prompt": "rev 2 ="}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:3: missing field 'response'"):
        read_training_data(bad, tok, 64)
    long = tmp_path / "long.jsonl"
    long.write_text('{"prompt": "rev 1 =", "response": " 1"}\n'
                    + json.dumps({"prompt": "rev " + "1" * 80 + " =", "response": ""}) + "\n")
    with pytest.raises(DataError, match=r"long.jsonl:2: .*empty"):
        read_training_data(long, tok, 16)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a", "response": "b"}\n{not json\n')
    with pytest.raises(DataError, match=r"broken.jsonl:2"):
        read_training_data(broken, tok, 64)


def test_model_without_linear_layers_cannot_get_adapters():
    from neurips23.qlora.finetune import FinetuneConfig, attach_lora

    class NoLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(4, 4)

    with pytest.raises(UserError, match="no linear layers"):
        attach_lora(NoLinear(), FinetuneConfig())


def test_unknown_weight_format_is_a_config_error():
    from neurips23.errors import ConfigError
    from neurips23.lm.adapters import quantization_config

    with pytest.raises(ConfigError, match="weights 'int3'"):
        quantization_config("int3")


def test_paged_adamw_takes_the_same_steps_as_adamw(base_dir, tmp_path):
    """The recipe's paged AdamW (bitsandbytes) and torch's AdamW agree on the same run."""
    from neurips23.errors import ConfigError
    from neurips23.qlora.finetune import FinetuneConfig, finetune, make_optimizer_factory, read_training_data

    losses = {}
    for opt in ("adamw", "paged_adamw"):
        cfg = FinetuneConfig(compute_dtype="float32", rank=4, optimizer=opt,
                             train=recipe_train_settings(steps=5, batch_size=8, lr=5e-3, log_every=1))
        from neurips23.lm.models import load_model

        _, tok = load_model(base_dir)
        data = read_training_data(_data(tmp_path / f"{opt}.jsonl"), tok, 64)
        _, _, result = finetune(base_dir, data, cfg, progress=False)
        losses[opt] = [loss for _, loss in result.losses]
    assert losses["adamw"] == pytest.approx(losses["paged_adamw"], rel=1e-3)
    assert make_optimizer_factory(FinetuneConfig(), "cpu") is None  # auto: AdamW off the GPU
    assert make_optimizer_factory(FinetuneConfig(), "cuda:0") is not None
    with pytest.raises(ConfigError, match="optimizer 'sgd'"):
        make_optimizer_factory(FinetuneConfig(optimizer="sgd"), "cpu")


def test_merge_rebuilds_the_base_with_the_trained_compute_dtype(base_dir, tmp_path, monkeypatch):
    """The 4-bit codes depend on the dtype the base is loaded in; merge must load it as trained."""
    import neurips23.qlora.finetune as ft

    cfg = ft.FinetuneConfig(compute_dtype="bfloat16", rank=4,
                            train=recipe_train_settings(steps=2, batch_size=8, lr=5e-3))
    _, tok = ft.load_base(base_dir, cfg)
    data = ft.read_training_data(_data(tmp_path / "d.jsonl"), tok, 64)
    ft.finetune(base_dir, data, cfg, out_dir=tmp_path / "run", progress=False)
    seen = []
    real_load_base = ft.load_base

    def spy(name, c, device=None):
        seen.append(c.compute_dtype)
        return real_load_base(name, c, device)

    monkeypatch.setattr(ft, "load_base", spy)
    ft.merge(tmp_path / "run", tmp_path / "merged", dtype="float32")
    assert seen == ["bfloat16"]
    saved = tmp_path / "run" / "adapter" / "qlora.json"
    info = json.loads(saved.read_text())
    assert info["recipe"]["train"]["steps"] == 2
    # a recipe written before the trainer's settings were nested (flat) merges too
    info["recipe"] = {**{k: v for k, v in info["recipe"].items() if k != "train"},
                      **{k: info["recipe"]["train"][k] for k in ("steps", "batch_size", "lr", "seed")}}
    saved.write_text(json.dumps(info))
    ft.merge(tmp_path / "run", tmp_path / "merged_flat", dtype="float32")
    assert seen == ["bfloat16", "bfloat16"]
    (tmp_path / "run" / "adapter" / "qlora.json").write_text("{not json")
    from neurips23.errors import UserError

    with pytest.raises(UserError, match="not a recipe written by"):
        ft.merge(tmp_path / "run", tmp_path / "merged2")


@pytest.mark.parametrize("field,value,needle", [
    ("rank", 0, "^rank=0"), ("train.batch_size", 0, "train.batch_size=0"),
    ("train.lr", -1e-3, "train.lr=-0.001"), ("train.checkpoint_every", -1, "train.checkpoint_every=-1"),
    ("dropout", 1.5, "dropout=1.5")])
def test_recipe_settings_that_cannot_work_are_config_errors(field, value, needle):
    from neurips23.errors import ConfigError
    from neurips23.qlora.finetune import FinetuneConfig

    section, _, key = field.rpartition(".")
    kwargs = {"train": recipe_train_settings(**{key: value})} if section else {key: value}
    with pytest.raises(ConfigError, match=needle):
        FinetuneConfig(**kwargs).validate()


def test_finetune_checkpoints_and_a_rerun_resumes_exactly(base_dir, tmp_path, monkeypatch):
    """Interrupted after its step-2 checkpoint, a rerun resumes there and ends where a run never
    interrupted ends (same losses, same adapter weights)."""
    import neurips23.lm.train as train_module
    from neurips23.lm.models import load_model
    from neurips23.qlora.finetune import FinetuneConfig, finetune, read_training_data

    cfg = FinetuneConfig(compute_dtype="float32", rank=4, train=recipe_train_settings(
        steps=5, batch_size=8, lr=5e-3, log_every=1, checkpoint_every=2))
    _, tok = load_model(base_dir)
    data = read_training_data(_data(tmp_path / "d.jsonl"), tok, 64)
    straight, _, ref = finetune(base_dir, data, cfg, out_dir=tmp_path / "straight", progress=False)
    assert torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["step"] == 5

    real_log_step = train_module._log_step

    def interrupt_at_step_3(result, step, *args):
        if step == 3:
            raise KeyboardInterrupt
        real_log_step(result, step, *args)

    monkeypatch.setattr(train_module, "_log_step", interrupt_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        finetune(base_dir, data, cfg, out_dir=tmp_path / "cut", progress=False)
    monkeypatch.setattr(train_module, "_log_step", real_log_step)
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["step"] == 2
    resumed, _, result = finetune(base_dir, data, cfg, out_dir=tmp_path / "cut", progress=False)
    assert result.resumed_from == 2
    assert result.losses == ref.losses
    theirs = dict(resumed.named_parameters())
    for name, p in straight.named_parameters():
        if "lora_" in name:
            assert torch.equal(p, theirs[name]), name
