"""Token-level generation checked against the model itself: every end-of-sequence id stops
(as transformers' own `generate` stops), token-id prompts equal text prompts, and returned
log-probs equal a plain forward pass's log-softmax."""

from __future__ import annotations

import pytest
import torch

from neurips23.lm.generate import LOGITS_BUDGET, _batches, eos_token_ids, generate
from neurips23.lm.models import build_model
from neurips23.lm.tokenizers import build_char_tokenizer

ALPHABET = "abcdefgh 0123456789"


@pytest.fixture(scope="module")
def lm():
    tok = build_char_tokenizer(ALPHABET)
    model = build_model("nano", len(tok), seed=3)
    with torch.no_grad():  # sharper logits, so greedy outputs differ by prompt
        for p in model.parameters():
            p.mul_(6.0) if p.ndim == 2 else None
    return model, tok


def _greedy_ids(model, tok, prompt: str, k: int) -> list[int]:
    """transformers' own greedy decoding, with no end-of-sequence id at all."""
    ids = torch.tensor([tok.encode(prompt)])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=k,
                         do_sample=False, eos_token_id=None, pad_token_id=tok.pad_token_id)
    return out[0, ids.shape[1]:].tolist()


def test_generation_stops_at_every_eos_id_of_the_generation_config(lm):
    model, tok = lm
    prompt = "abc 12"
    free = _greedy_ids(model, tok, prompt, 12)
    # an id the model writes at step j >= 1 and not before: declare it an extra EOS
    j = next(j for j in range(1, len(free)) if free[j] not in free[:j] and free[j] != tok.eos_token_id)
    old = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [tok.eos_token_id, free[j]]
    try:
        assert eos_token_ids(model, tok) == sorted({tok.eos_token_id, free[j]})
        [[c]] = generate(model, tok, [prompt], max_new_tokens=12)
        ids = torch.tensor([tok.encode(prompt)])
        ref = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=12,
                             do_sample=False, pad_token_id=tok.pad_token_id)  # its own EOS list
    finally:
        model.generation_config.eos_token_id = old
    # transformers stops after writing the extra EOS id; ours stops there and leaves it out
    assert ref[0, ids.shape[1]:].tolist() == free[:j + 1]
    assert c.token_ids == free[:j] and c.finish_reason == "stop" and c.completion_tokens == j
    assert c.text == tok.decode(free[:j])


def test_token_id_prompts_equal_text_prompts(lm):
    model, tok = lm
    texts = ["abc", "h 12", "gfedcba 9"]
    by_text = generate(model, tok, texts, max_new_tokens=6)
    by_ids = generate(model, tok, [tok.encode(t) for t in texts], max_new_tokens=6)
    assert [[c.text for c in g] for g in by_text] == [[c.text for c in g] for g in by_ids]
    with pytest.raises(Exception, match="outside the vocabulary"):
        generate(model, tok, [[len(tok) + 3]], max_new_tokens=1)


def test_logprobs_equal_a_plain_forward_pass(lm):
    model, tok = lm
    prompts = ["abc", "0123 45", "h"]  # different lengths: left padding must not matter
    outs = generate(model, tok, prompts, max_new_tokens=5, logprobs=3, prompt_logprobs=2,
                    batch_size=3)
    for prompt, [c] in zip(prompts, outs, strict=True):
        ids = tok.encode(prompt) + c.token_ids
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
        n = len(tok.encode(prompt))
        assert c.prompt_ids == ids[:n] and c.prompt_logprobs[0] is None
        for i in range(1, n):  # each prompt token given the ones before it
            got = c.prompt_logprobs[i]
            assert got.logprob == pytest.approx(float(logp[i - 1, ids[i]]), abs=1e-5)
            top = torch.topk(logp[i - 1], 2)
            assert list(got.top) == top.indices.tolist()
            assert list(got.top.values()) == pytest.approx(top.values.tolist(), abs=1e-5)
        for t, got in enumerate(c.logprobs):  # each generated token (greedy = the top one)
            row = logp[n + t - 1]
            assert got.logprob == pytest.approx(float(row[ids[n + t]]), abs=1e-5)
            assert next(iter(got.top)) == ids[n + t] == int(row.argmax())
            assert len(got.top) == 3


def test_a_stop_string_cuts_the_tokens_too(lm):
    model, tok = lm
    prompt, free, k = next((p, f, k) for p in ["abc", "0123 45", "h 12", "gfe 9", "d7"]
                           for [f] in generate(model, tok, [p], max_new_tokens=10)
                           for k in range(2, len(f.text)) if f.text[k] not in f.text[:k])
    stop = free.text[k:k + 2]
    [[c]] = generate(model, tok, [prompt], max_new_tokens=10, stop=[stop], logprobs=0)
    assert c.text == free.text[:k] and c.finish_reason == "stop"
    assert tok.decode(c.token_ids, skip_special_tokens=True) == c.text
    assert len(c.logprobs) == len(c.token_ids) < len(free.token_ids)


@pytest.mark.parametrize("lengths, size, budget", [([3, 3, 5, 9, 9, 9], 4, None),
                                                   ([3, 3, 5, 9, 9, 9], 64, 20),
                                                   ([50, 60], 8, 10)])
def test_batches_keep_size_and_logit_budget(lengths, size, budget):
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches = _batches(order, lengths, size, budget)
    assert [i for b in batches for i in b] == order
    for b in batches:
        assert len(b) <= size
        assert len(b) == 1 or budget is None or len(b) * max(lengths[i] for i in b) <= budget
    assert LOGITS_BUDGET >= 2**20


def test_the_sampled_end_token_and_its_logprob_are_kept_apart(lm):
    model, tok = lm
    prompt = "abc 12"
    free = _greedy_ids(model, tok, prompt, 12)
    j = next(j for j in range(1, len(free)) if free[j] not in free[:j] and free[j] != tok.eos_token_id)
    old = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [tok.eos_token_id, free[j]]
    try:
        [[c]] = generate(model, tok, [prompt], max_new_tokens=12, logprobs=1)
    finally:
        model.generation_config.eos_token_id = old
    ids = tok.encode(prompt) + free[:j]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0, -1].float(), -1)
    assert c.token_ids == free[:j] and c.end_token == free[j]
    assert c.end_logprob.logprob == pytest.approx(float(logp[free[j]]), abs=1e-5)
    [[cut]] = generate(model, tok, [prompt], max_new_tokens=j)  # the length limit: no end token
    assert cut.end_token is None and cut.finish_reason == "length"


def test_an_observer_sees_each_step_and_can_abandon_a_row(lm):
    model, tok = lm
    seen: list[tuple[tuple[int, int], int]] = []

    def observer(keys, tokens):
        seen.extend(zip(keys, tokens, strict=True))
        return [key == (1, 0) and len(seen) >= 4 for key in keys]  # drop prompt 1 at step 2

    outs = generate(model, tok, ["abc", "h 12"], max_new_tokens=6, observer=observer)
    alone = generate(model, tok, ["abc"], max_new_tokens=6)
    assert outs[0][0].token_ids == alone[0][0].token_ids
    assert outs[1][0].finish_reason == "abort" and len(outs[1][0].token_ids) == 2
    assert [t for k, t in seen if k == (0, 0) and t >= 0] == outs[0][0].token_ids


def test_top_k_one_is_greedy_at_any_temperature(lm):
    model, tok = lm
    greedy = generate(model, tok, ["abc 1"], max_new_tokens=8)
    sampled = generate(model, tok, ["abc 1"], max_new_tokens=8, temperature=2.0, top_k=1, seed=5)
    assert sampled[0][0].token_ids == greedy[0][0].token_ids
