"""Causal tracing: the batched trace against ROME's per-state loop, and the mechanical checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurips23.editing.tracing import (
    corrupted_probability,
    layer_effects,
    row_labels,
    trace_fact,
    trace_fact_loop,
    window_layers,
)
from neurips23.errors import UserError

PROMPT, SUBJECT, TARGET = "the home of ba ko mi is", "ba ko mi", "avalon"


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("kind", ["layer", "mlp", "attn"])
def test_batched_trace_equals_rome_loop(arch, kind, request, word_tok):
    model = request.getfixturevalue(arch)
    kw = dict(noise=0.7, kind=kind, window=3, samples=4)
    fast = trace_fact(model, word_tok, PROMPT, SUBJECT, TARGET, max_rows=12, **kw)
    slow = trace_fact_loop(model, word_tok, PROMPT, SUBJECT, TARGET, **kw)
    assert fast.p_clean == pytest.approx(slow.p_clean, abs=1e-7)
    assert fast.p_low == pytest.approx(slow.p_low, abs=1e-7)
    np.testing.assert_allclose(fast.scores, slow.scores, atol=1e-6)
    assert np.ptp(fast.scores) > 1e-4  # the check is not vacuous: restorations differ


def test_noise_zero_has_no_effect(gpt2, word_tok):
    tr = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=0.0, kind="mlp", window=3)
    assert tr.p_low == pytest.approx(tr.p_clean, abs=1e-6)
    np.testing.assert_allclose(tr.indirect_effect, 0.0, atol=1e-6)
    assert np.isnan(layer_effects(tr)).all()  # nothing removed: the fraction is undefined
    np.testing.assert_allclose(layer_effects(tr, fractional=False), 0.0, atol=1e-6)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_restoring_last_layer_at_last_token_gives_clean(arch, request, word_tok):
    model = request.getfixturevalue(arch)
    tr = trace_fact(model, word_tok, PROMPT, SUBJECT, TARGET, noise=2.0, kind="layer")
    assert abs(tr.p_clean - tr.p_low) > 1e-3
    assert tr.scores[-1, -1] == pytest.approx(tr.p_clean, abs=1e-6)
    # before the subject nothing is noised: restoring there changes nothing
    assert tr.subject_range == (3, 6)
    np.testing.assert_allclose(tr.scores[:3], tr.p_low, atol=1e-6)


def test_corrupted_probability_matches_trace(gpt2, word_tok):
    tr = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=1.5, samples=6, layers=[0])
    assert corrupted_probability(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=1.5,
                                 samples=6) == pytest.approx(tr.p_low, abs=1e-7)


def test_layer_subset_and_answer_default(gpt2, word_tok):
    full = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, None, noise=1.0, kind="mlp", window=1)
    part = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, None, noise=1.0, kind="mlp", window=1,
                      layers=[1, 3])
    np.testing.assert_allclose(part.scores, full.scores[:, [1, 3]], atol=1e-6)
    top = word_tok.decode([int(np.argmax([0]))])  # the answer is the clean argmax
    assert full.answer and isinstance(top, str)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 40), st.integers(1, 12), st.integers(1, 40))
def test_window_is_roms_formula(layer, window, n_layers):
    got = window_layers(layer, window, n_layers)
    # an independent statement: layers j with l - floor(w/2) <= j < l + ceil(w/2), inside [0, L)
    want = [j for j in range(n_layers) if layer - window // 2 <= j < layer + (window + 1) // 2]
    assert got == want
    if layer < n_layers and window // 2 <= layer and layer + (window + 1) // 2 <= n_layers:
        assert len(got) == window


def test_layer_effects_by_hand():
    from neurips23.editing.tracing import TraceResult

    scores = np.array([[0.2, 0.3], [0.6, 0.1], [0.1, 0.9]])
    tr = TraceResult("p", "s", "o", ["a", "b", "c"], (0, 2), "mlp", 1, 1.0, [4, 7],
                     p_clean=0.8, p_low=0.2, scores=scores)
    np.testing.assert_allclose(layer_effects(tr), [(0.6 - 0.2) / 0.6, (0.9 - 0.2) / 0.6])
    np.testing.assert_allclose(layer_effects(tr, "last_subject"), [(0.6 - 0.2) / 0.6, 0.0])


def test_bad_trace_inputs(gpt2, word_tok):
    with pytest.raises(UserError, match="layers"):
        trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=1.0, layers=[9])
    with pytest.raises(UserError, match="kind"):
        trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=1.0, kind="resid")
    with pytest.raises(UserError, match="subject 'zz' does not occur"):
        trace_fact(gpt2, word_tok, PROMPT, "zz", TARGET, noise=1.0)


@pytest.mark.parametrize("kind, window", [("layer", 1), ("mlp", 3)])
def test_trace_against_a_direct_computation(gpt2, word_tok, kind, window):
    """Every cell recomputed with plain forward hooks on the HF GPT-2 modules: noise from
    RandomState(1) added to the subject's embeddings (inputs_embeds), the clean output of
    block l (or of the MLPs in ROME's window) written back at token t, p(o) averaged."""
    import torch

    samples, noise = 3, 1.3
    ids = torch.tensor([word_tok(PROMPT)["input_ids"]])
    b, e = 3, 6  # "ba ko mi"
    target = word_tok(" " + TARGET, add_special_tokens=False)["input_ids"][0]
    blocks = gpt2.transformer.h
    mods = [blk if kind == "layer" else blk.mlp for blk in blocks]
    L, T = len(blocks), ids.shape[1]
    clean = {}
    hs = [m.register_forward_hook(lambda m, a, o, j=j: clean.__setitem__(
        j, (o[0] if isinstance(o, tuple) else o)[0].clone())) for j, m in enumerate(mods)]
    with torch.no_grad():
        p_clean = float(torch.softmax(gpt2(input_ids=ids).logits[0, -1], -1)[target])
    for h in hs:
        h.remove()
    emb = gpt2.transformer.wte(ids).repeat(samples, 1, 1)
    emb[:, b:e] += torch.from_numpy(
        np.random.RandomState(1).randn(samples, e - b, emb.shape[-1])).float() * noise

    def p_noised(restore=()):
        def patch(j, t):
            def fn(m, a, o):
                h = o[0] if isinstance(o, tuple) else o
                h[:, t] = clean[j][t]
                return o
            return mods[j].register_forward_hook(fn)
        hooks = [patch(j, t) for j, t in restore]
        with torch.no_grad():
            p = torch.softmax(gpt2(inputs_embeds=emb.clone()).logits[:, -1], -1)[:, target]
        for h in hooks:
            h.remove()
        return float(p.mean())

    tr = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=noise, kind=kind,
                    window=window, samples=samples)
    assert tr.p_clean == pytest.approx(p_clean, abs=1e-6)
    assert tr.p_low == pytest.approx(p_noised(), abs=1e-6)
    want = np.array([[p_noised([(j, t) for j in ([lv] if kind == "layer" else
                                               range(max(0, lv - 1), min(L, lv + 2)))])
                      for lv in range(L)] for t in range(T)])
    np.testing.assert_allclose(tr.scores, want, atol=1e-6)
    assert np.ptp(want) > 1e-3


def _result(tokens, subject_range):
    from neurips23.editing.tracing import TraceResult

    return TraceResult("", "", "", tokens, subject_range, "layer", 1, 0.1, [0], 1.0, 0.0,
                       np.zeros((len(tokens), 1)))


def _tokenizer(vocab, pre_tokenizer, decoder):
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["<unk>", *vocab])}, "<unk>"))
    tk.pre_tokenizer, tk.decoder = pre_tokenizer, decoder
    return PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>")


def test_row_labels_are_decoded_tokens_with_the_subject_starred():
    """GPT-2's byte-level marks (Ġ a space, Ċ a newline) and sentencepiece's ▁ do not reach
    the heatmap: each row is its token's text, the subject's rows marked * as in ROME."""
    from tokenizers import decoders, pre_tokenizers

    bpe = ["The", "Ġcapital", "Ġof", "ĠNew", "ĠZealand", "Ċ", "Ġis"]
    tok = _tokenizer(bpe, pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel())
    assert row_labels(_result(bpe, (3, 5)), tok) == ["The", "capital", "of", "New*", "Zealand*",
                                                     "'\\n'", "is"]
    sp = ["▁The", "▁capital", "▁of", "▁Paris"]
    tok = _tokenizer(sp, pre_tokenizers.Metaspace(), decoders.Metaspace())
    assert row_labels(_result(sp, (3, 4)), tok) == ["The", "capital", "of", "Paris*"]


def test_row_labels_of_a_real_trace(gpt2, word_tok):
    tr = trace_fact(gpt2, word_tok, PROMPT, SUBJECT, TARGET, noise=0.5, kind="layer", samples=2)
    assert row_labels(tr, word_tok) == ["the", "home", "of", "ba*", "ko*", "mi*", "is"]
