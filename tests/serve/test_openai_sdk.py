"""The server driven by the official `openai` SDK, as users drive it.

A tiny in-memory model is served token by token; every expected value comes from the model
itself (`model.generate`, a plain forward pass), not from the server's code. SmolLM2 checks
what only a real chat model shows: a reply that ends at its own end-of-turn token."""

from __future__ import annotations

import openai
import pytest
import torch

from neurips23.lm.backends.hf import HFBackend
from neurips23.lm.models import build_model
from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.serve import background_server, create_app

LIMIT = 40


@pytest.fixture(scope="module")
def nano():
    tok = build_char_tokenizer("abcdefgh 0123456789")
    model = build_model("nano", len(tok), seed=4)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6.0) if p.ndim == 2 else None
    backend = HFBackend(model, tok, name="nano")
    with background_server(create_app(backend, "nano", token_limit=LIMIT)) as url:
        yield model, tok, openai.OpenAI(base_url=url, api_key="unused", max_retries=0)


def forward_logprobs(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)


def greedy(model, tok, prompt: str, k: int) -> str:
    ids = torch.tensor([tok.encode(prompt)])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=k,
                         do_sample=False, eos_token_id=tok.eos_token_id, pad_token_id=0)
    return tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def test_completions_echo_logprobs_n_and_index(nano):
    model, tok, client = nano
    prompts = ["abc 1", "h"]
    r = client.completions.create(model="nano", prompt=prompts, max_tokens=4, temperature=0,
                                  n=2, echo=True, logprobs=2)
    assert [c.index for c in r.choices] == [0, 1, 2, 3]
    for c in r.choices:
        prompt = prompts[c.index // 2]
        assert c.text == prompt + greedy(model, tok, prompt, 4)
        lp = c.logprobs
        assert "".join(lp.tokens) == c.text and lp.text_offset[0] == 0
        assert [lp.text_offset[i + 1] - lp.text_offset[i] for i in range(len(lp.tokens) - 1)] == [
            len(t) for t in lp.tokens[:-1]]
        ids = tok.encode(c.text)
        logp = forward_logprobs(model, ids)
        assert lp.token_logprobs[0] is None
        assert lp.token_logprobs[1:] == pytest.approx([float(logp[i - 1, ids[i]])
                                                       for i in range(1, len(ids))], abs=1e-5)
        best = max(lp.top_logprobs[-1], key=lp.top_logprobs[-1].get)
        assert best == lp.tokens[-1] and len(lp.top_logprobs[-1]) == 2  # greedy: the top one
    assert r.usage.prompt_tokens == 6 and r.usage.completion_tokens == 16


def test_token_id_prompts_and_stop_strings(nano):
    model, tok, client = nano
    texts = ["abc 1", "gfe 2"]
    by_text = client.completions.create(model="nano", prompt=texts, max_tokens=6, temperature=0)
    by_ids = client.completions.create(model="nano", prompt=[tok.encode(t) for t in texts],
                                       max_tokens=6, temperature=0)
    assert [c.text for c in by_ids.choices] == [c.text for c in by_text.choices]
    assert {c.finish_reason for c in by_text.choices} == {"length"}
    full = by_text.choices[0].text
    stop = full[2:4]
    cut = client.completions.create(model="nano", prompt=texts[0], max_tokens=6, temperature=0,
                                    stop=[stop])
    assert cut.choices[0].text == full[: full.find(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_finish_reason_is_the_models_own_stop(nano):
    model, tok, client = nano
    free = tok.encode(greedy(model, tok, "abc 1", 10))
    j = next(j for j in range(1, len(free)) if free[j] not in free[:j])
    old = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = [tok.eos_token_id, free[j]]
    try:
        r = client.completions.create(model="nano", prompt="abc 1", max_tokens=10, temperature=0)
    finally:
        model.generation_config.eos_token_id = old
    assert r.choices[0].text == tok.decode(free[:j]) and r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == j + 1  # the end token counts, as vLLM counts it


def test_chat_content_parts_default_length_and_max_completion_tokens(nano):
    _, _, client = nano
    as_text = client.chat.completions.create(
        model="nano", messages=[{"role": "user", "content": "abc 12"}], temperature=0)
    as_parts = client.chat.completions.create(
        model="nano", temperature=0, messages=[{"role": "user", "content": [
            {"type": "text", "text": "abc "}, {"type": "text", "text": "12"}]}])
    assert as_parts.choices[0].message.content == as_text.choices[0].message.content
    # no max_tokens: until the model stops, bounded by the server's limit
    assert as_text.usage.completion_tokens == LIMIT or as_text.choices[0].finish_reason == "stop"
    assert as_text.choices[0].finish_reason == (
        "length" if as_text.usage.completion_tokens == LIMIT else "stop")
    short = client.chat.completions.create(model="nano", temperature=0, max_completion_tokens=3,
                                           messages=[{"role": "user", "content": "abc 12"}],
                                           logprobs=True, top_logprobs=2)
    assert short.usage.completion_tokens == 3 and short.choices[0].finish_reason == "length"
    assert short.choices[0].message.content == as_text.choices[0].message.content[:3]
    entries = short.choices[0].logprobs.content
    assert "".join(e.token for e in entries) == short.choices[0].message.content
    assert all(e.top_logprobs[0].token == e.token for e in entries)  # greedy picks the top


def test_requests_over_the_limits_are_openai_style_400s(nano):
    _, _, client = nano
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model="nano", prompt="abc", max_tokens=LIMIT + 1)
    assert err.value.code == "max_tokens_exceeded" and err.value.param == "max_tokens"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="nano", max_tokens=10,
                                       messages=[{"role": "user", "content": "a" * 508}])
    assert err.value.code == "context_length_exceeded" and "512 tokens" in str(err.value)
    with pytest.raises(openai.BadRequestError, match="only text parts"):
        client.chat.completions.create(model="nano", messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}])
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="gpt-4", prompt="abc")


def test_smollm2_chat_ends_at_its_end_of_turn_token(smollm2_server):
    client = openai.OpenAI(base_url=smollm2_server, api_key="unused", max_retries=0)
    r = client.chat.completions.create(model="smollm2-135m", temperature=0, messages=[
        {"role": "user", "content": "What is the capital of France? Answer in one word."}])
    assert "Paris" in r.choices[0].message.content
    assert r.choices[0].finish_reason == "stop" and r.usage.completion_tokens < 30
    assert "<|im_end|>" not in r.choices[0].message.content


def test_silent_sampling_takes_the_generation_config_defaults(nano):
    model, tok, client = nano
    want = greedy(model, tok, "abc 1", 12)  # transformers' generate: greedy unless do_sample
    silent = dict(model="nano", prompt="abc 1", max_tokens=12)
    assert not model.generation_config.do_sample
    assert client.completions.create(**silent).choices[0].text == want
    cfg = model.generation_config
    old = (cfg.do_sample, cfg.temperature, cfg.top_k)
    cfg.do_sample, cfg.temperature, cfg.top_k = True, 1.5, 1  # samples, but from the top 1 only
    try:
        assert client.completions.create(**silent, seed=3).choices[0].text == want
        chat = client.chat.completions.create(model="nano", max_tokens=12, seed=3, messages=[
            {"role": "user", "content": "abc 1"}])
        again = client.chat.completions.create(model="nano", max_tokens=12, seed=3,
                                               extra_body={"top_k": 1},
                                               temperature=1.5,
                                               messages=[{"role": "user", "content": "abc 1"}])
    finally:
        cfg.do_sample, cfg.temperature, cfg.top_k = old
    assert chat.choices[0].message.content == again.choices[0].message.content
