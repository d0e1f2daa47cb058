import pytest
import torch

from neurips23.lm.backends import Prices
from neurips23.lm.backends.hf import HFBackend
from neurips23.lm.generate import generate, score
from neurips23.lm.models import build_model
from neurips23.lm.tokenizers import build_char_tokenizer


@pytest.fixture(scope="module")
def lm():
    tok = build_char_tokenizer("abcdefgh 0123456789")
    model = build_model("nano", len(tok), seed=1)
    with torch.no_grad():  # sharper logits than the default init, so outputs vary by prompt
        for p in model.parameters():
            p.mul_(6.0) if p.ndim == 2 else None
    return model, tok


PROMPTS = ["abc", "h", "0123 45", "gfedcba 9", "a"]


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_batched_greedy_matches_model_generate_one_by_one(arch):
    tok = build_char_tokenizer("abcdefgh 0123456789")
    model = build_model("nano", len(tok), arch=arch, seed=2)
    ours = generate(model, tok, PROMPTS, max_new_tokens=10, batch_size=3)
    for prompt, outs in zip(PROMPTS, ours, strict=True):
        ids = torch.tensor([tok.encode(prompt)])
        ref = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=10,
                             do_sample=False, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
        assert outs[0].text == tok.decode(ref[0, ids.shape[1]:], skip_special_tokens=True)


def test_score_matches_log_softmax_by_hand(lm):
    model, tok = lm
    scores = score(model, tok, ["abc", "0123"], ["de", "4 5"], batch_size=2)
    for (p, c), s in zip([("abc", "de"), ("0123", "4 5")], scores, strict=True):
        ids = tok.encode(p + c)
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0], -1)
        expected = [float(logp[i - 1, ids[i]]) for i in range(len(p), len(ids))]
        assert s.token_logprobs == pytest.approx(expected, abs=1e-5)
        assert s.logprob == pytest.approx(sum(expected), abs=1e-5)


def test_sampling_is_seeded_and_top_p_tiny_is_greedy(lm):
    model, tok = lm
    a = generate(model, tok, PROMPTS[:2], n=4, temperature=1.0, max_new_tokens=8, seed=5)
    b = generate(model, tok, PROMPTS[:2], n=4, temperature=1.0, max_new_tokens=8, seed=5)
    assert [[c.text for c in g] for g in a] == [[c.text for c in g] for g in b]
    assert len(a[0]) == 4
    greedy = generate(model, tok, PROMPTS[:2], max_new_tokens=8)
    nucleus = generate(model, tok, PROMPTS[:2], n=2, temperature=1.0, top_p=1e-6,
                       max_new_tokens=8, seed=0)
    for g, nu in zip(greedy, nucleus, strict=True):
        assert all(c.text == g[0].text for c in nu)


def test_stop_strings_cut_the_output(lm):
    model, tok = lm
    full = generate(model, tok, PROMPTS, max_new_tokens=12)
    for prompt, out in zip(PROMPTS, full, strict=True):
        text = out[0].text
        if len(text) < 3:
            continue
        stop = text[2]
        cut = generate(model, tok, [prompt], max_new_tokens=12, stop=[stop])[0][0]
        assert cut.text == text[: text.index(stop)]
        assert cut.finish_reason == "stop"


def test_hf_backend_counts_usage(lm):
    model, tok = lm
    backend = HFBackend(model, tok)
    outs = backend.generate(["abc", "h"], n=2, temperature=0.7, max_tokens=5, seed=1)
    assert [len(o) for o in outs] == [2, 2]
    assert backend.usage.calls == 2 and backend.usage.prompt_tokens == 4
    assert backend.usage.completion_tokens > 0
    assert backend.usage.cost(Prices(1.0, 2.0)) == pytest.approx(
        (backend.usage.prompt_tokens + 2 * backend.usage.completion_tokens) / 1000)
    assert len(backend.chat([[{"role": "user", "content": "abc"}]], max_tokens=3)[0]) == 1
