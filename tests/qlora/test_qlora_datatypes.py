"""4-bit data types on a model: quantizing every linear weight with our codec, perplexity over
text chunks against transformers' own loss, the held-out prose, and one LoRA step's memory."""

from __future__ import annotations

import math

import pytest
import torch

from neurips23.errors import DataError
from neurips23.qlora.datatypes import (
    chunk_nll,
    held_out_prose,
    quantize_linear_weights_,
    table2_perplexities,
    text_chunks,
)
from neurips23.qlora.quant import dequantize_4bit, quantize_4bit


@pytest.fixture(scope="module")
def tiny():
    from neurips23.dpo.toy import toy_model_and_tokenizer

    torch.set_num_threads(1)
    return toy_model_and_tokenizer("micro", seed=0)


def test_held_out_prose_is_prose():
    text = held_out_prose()
    paragraphs = text.split("\n\n")
    assert len(text) > 50_000 and len(paragraphs) > 200
    assert all(not p.startswith((" ", "\t")) and len(p) >= 200 for p in paragraphs)
    assert text == held_out_prose()  # deterministic
    assert "assignment statement" in text


def test_quantizing_every_linear_weight_is_our_codec_layer_by_layer(tiny):
    model, _ = tiny
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    q = model.model.layers[1].mlp.down_proj.weight.detach().to(torch.bfloat16)
    expected = dequantize_4bit(quantize_4bit(q, "nf4", 64, True)).float()
    mse = quantize_linear_weights_(model, "nf4", double_quant=True)
    assert len(mse) == 2 * 7  # q k v o gate up down, two layers
    assert torch.equal(model.model.layers[1].mlp.down_proj.weight, expected)
    assert mse[-1] == pytest.approx(float(((expected.double() - q.double()) ** 2).mean()))
    assert torch.equal(model.model.embed_tokens.weight, before["model.embed_tokens.weight"])
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(before[n])


def test_chunk_nll_matches_transformers_loss(tiny):
    model, tok = tiny
    chunks = [[4 + (i * 7 + j) % (len(tok) - 4) for j in range(12)] for i in range(3)]
    nll = chunk_nll(model, chunks, batch_size=2)
    with torch.no_grad():
        for ids, got in zip(chunks, nll, strict=True):
            t = torch.tensor([ids])
            assert got == pytest.approx(model(input_ids=t, labels=t).loss.item() * 11, rel=1e-5)


def test_table2_restores_the_model_and_orders_its_numbers(tiny, monkeypatch):
    import neurips23.qlora.datatypes as dt

    model, tok = tiny
    monkeypatch.setattr(dt, "held_out_prose", lambda: " ".join(["good movie was fun the plot"] * 40))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    table = table2_perplexities(model, tok, n_chunks=4, chunk_tokens=16)
    assert all(torch.equal(p, before[n]) for n, p in model.named_parameters())
    assert set(table.nll) == {"bf16", "int4", "fp4", "nf4", "nf4_dq"} and "bf16" not in table.mse
    ppl = table.perplexity("bf16")
    assert ppl == pytest.approx(math.exp(sum(table.nll["bf16"]) / (4 * 15)))
    est, low, high = table.log_ppl_difference("nf4_dq", "nf4_dq")
    assert est == low == high == 0
    with pytest.raises(DataError, match="fewer than"):
        text_chunks(tok, "good movie", 4, 16)


@pytest.mark.slow
def test_step_memory_in_a_fresh_process(tmp_path, tiny):
    """One LoRA step per storage format, each in its own process: 4-bit linear weights take
    4.127/16 of bf16's bytes, and the step's peak is measured after load."""
    from neurips23.lm.models import save_model
    from neurips23.qlora.step_memory import measure_step_memory

    model, tok = tiny
    save_model(model, tok, tmp_path / "m")
    nf4 = measure_step_memory(str(tmp_path / "m"), "nf4", rank=4, batch=2, seq=16)
    bf16 = measure_step_memory(str(tmp_path / "m"), "bf16", rank=4, batch=2, seq=16)
    assert nf4.linear_weight_bytes / bf16.linear_weight_bytes == pytest.approx(4.127 / 16, rel=0.01)
    for m in (nf4, bf16):
        assert m.peak_step >= m.rss_after_load > m.rss_before_load > 0 and m.step_seconds > 0
    from neurips23.errors import UserError

    with pytest.raises(UserError, match="step-memory measurement"):
        measure_step_memory(str(tmp_path / "missing"), "nf4")
