"""On a real transformers Llama (tiny, random): our batched scoring equals the core's
`lm.generate.score`, and our shared-prefix KV-cache decoding equals the core's `generate`."""

import pytest
import torch

from neurips23.lm.generate import generate, score
from neurips23.toolformer.calls import APICall, format_call
from neurips23.toolformer.decoding import lockstep_decode
from neurips23.toolformer.filtering import (
    PREFIX_SEPARATOR,
    LossRequest,
    filter_weights,
    tokenize_text,
    weighted_losses,
)
from neurips23.toolformer.inference import InferenceConfig, generate_with_tools


@pytest.fixture(scope="module")
def llama():
    from neurips23.lm.models import build_model
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.toolformer.synthetic import ALPHABET

    tok = build_char_tokenizer(ALPHABET)
    model = build_model("nano", len(tok), max_position_embeddings=256, seed=3)
    with torch.no_grad():  # sharper than a fresh init, so greedy ties are unlikely
        for p in model.parameters():
            p.mul_(4.0)
    return model, tok


def test_weighted_losses_match_core_score(llama):
    model, tok = llama
    texts = ["Tom has 405 pens.", "Ann has 12 cups and 30 more, 42 in all.", "It is Monday."]
    z = format_call(APICall("Calculator", "400+5"), "405")
    reqs, want = [], []
    w = filter_weights(5)
    for t in texts:
        x = tokenize_text(tok, t)
        for off in (1, 5, len(t) - 3):
            for zz in ("", z):
                reqs.append(LossRequest(x, off, zz))
                prompt = (zz + PREFIX_SEPARATOR if zz else "") + t[:off]
                lp = score(model, tok, [prompt], [t[off:off + 5]])[0].token_logprobs
                want.append(-sum(a * b for a, b in zip(w, lp, strict=False)))
    assert weighted_losses(model, tok, reqs, batch_size=4) == pytest.approx(want, abs=1e-4)


class _Greedy:
    def __init__(self, n, steps):
        self.out = [[] for _ in range(n)]
        self.steps = steps

    def choose(self, rows, logits):
        nxt = logits.argmax(-1).tolist()
        res = []
        for r, t in zip(rows, nxt, strict=True):
            self.out[r].append(t)
            res.append(t if len(self.out[r]) < self.steps else None)
        return res


def test_shared_prefix_decoding_matches_core_generate(llama):
    model, tok = llama
    head = "Your task is to add calls to a Calculator API. Input: Tom has 405 pens. Output: Tom "
    prompts = [head + tail for tail in ("has ", "has 4", "h", "has 40", "has 40")]
    ids = [tok.encode(p, add_special_tokens=False) for p in prompts]
    policy = _Greedy(len(prompts), 6)
    # batches of 3 rows sharing len(head) + 1 tokens: the prefix is run once and repeated
    lockstep_decode(model, ids, policy, 6, tok.pad_token_id, batch_size=3)
    ours = [tok.decode(o) for o in policy.out]
    ref = [c[0].text for c in generate(model, tok, prompts, max_new_tokens=6)]
    assert ours == ref


def test_disabled_tool_decoding_is_plain_greedy(llama):
    model, tok = llama
    prompts = ["Tom has 405 pens and", "It is"]
    outs = generate_with_tools(model, tok, prompts, {}, InferenceConfig(mode="disabled",
                                                                        max_new_tokens=8))
    ref = generate(model, tok, prompts, max_new_tokens=8)
    for o, r in zip(outs, ref, strict=True):
        if "[" not in r[0].text:  # the reference may pick "[", which disabled forbids
            assert o.text == r[0].text
