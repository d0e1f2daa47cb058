"""Streaming (server-sent events) through the official `openai` SDK, and cancellation of work
whose client has gone: streamed and non-streamed.

The streamed text is checked against the same request answered whole (and that one is checked
against the model itself in test_openai_sdk.py). Cancellation is checked in counts: a gate in
the model's forward pass holds the model thread at a known step while the client leaves; once
the server has marked the job cancelled the gate opens, and the model must stop within a step
(instead of running to max_tokens), leaving nothing admitted."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import openai
import pytest
import torch

from neurips23.lm.backends.hf import HFBackend
from neurips23.lm.models import build_model
from neurips23.lm.tokenizers import build_char_tokenizer
from neurips23.serve import background_server, create_app

LIMIT = 200


def nano_model():
    tok = build_char_tokenizer("abcdefgh 0123456789")
    model = build_model("nano", len(tok), seed=4)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6.0) if p.ndim == 2 else None
    return model, tok


@pytest.fixture(scope="module")
def nano():
    model, tok = nano_model()
    with background_server(create_app(HFBackend(model, tok, name="nano"), "nano",
                                      token_limit=LIMIT)) as url:
        yield openai.OpenAI(base_url=url, api_key="unused", max_retries=0)


def test_completions_stream_joins_to_the_whole_answer(nano):
    kw = dict(model="nano", prompt=["abc 1", "h"], max_tokens=12, temperature=0, n=2)
    whole = nano.completions.create(**kw)
    chunks = list(nano.completions.create(**kw, stream=True,
                                          stream_options={"include_usage": True}))
    texts, finish = [""] * 4, [None] * 4
    for ch in chunks[:-1]:
        assert ch.object == "text_completion" and ch.usage is None
        for c in ch.choices:
            texts[c.index] += c.text
            finish[c.index] = c.finish_reason or finish[c.index]
    assert texts == [c.text for c in whole.choices]
    assert finish == [c.finish_reason for c in whole.choices]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage
    assert len({ch.id for ch in chunks}) == 1


def test_completions_stream_stops_at_a_stop_string_and_echoes(nano):
    full = nano.completions.create(model="nano", prompt="abc 1", max_tokens=10,
                                   temperature=0).choices[0].text
    stop = full[3:5]
    kw = dict(model="nano", prompt="abc 1", max_tokens=10, temperature=0, stop=[stop], echo=True)
    whole = nano.completions.create(**kw).choices[0]
    streamed = list(nano.completions.create(**kw, stream=True))
    assert "".join(c.text for ch in streamed for c in ch.choices) == whole.text
    assert whole.text == "abc 1" + full[:3] and streamed[-1].choices[0].finish_reason == "stop"


def test_chat_stream_deltas_role_and_finish(nano):
    kw = dict(model="nano", messages=[{"role": "user", "content": "abc 12"}], max_tokens=9,
              temperature=0)
    whole = nano.chat.completions.create(**kw)
    chunks = list(nano.chat.completions.create(**kw, stream=True))
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert content == whole.choices[0].message.content
    assert [ch.choices[0].finish_reason for ch in chunks][-1] == whole.choices[0].finish_reason
    assert all(ch.choices[0].finish_reason is None for ch in chunks[:-1])


def test_raw_stream_ends_with_done(nano):
    body = {"model": "nano", "prompt": "abc", "max_tokens": 3, "temperature": 0, "stream": True}
    with httpx.stream("POST", str(nano.base_url) + "completions", json=body, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [x for x in r.iter_lines() if x]
    assert all(x.startswith("data: ") for x in lines) and lines[-1] == "data: [DONE]"


def test_smollm2_streams_the_same_reply(smollm2_server):
    client = openai.OpenAI(base_url=smollm2_server, api_key="unused", max_retries=0)
    kw = dict(model="smollm2-135m", temperature=0, max_tokens=24, messages=[
        {"role": "user", "content": "What is the capital of France? Answer in one word."}])
    whole = client.chat.completions.create(**kw).choices[0]
    streamed = list(client.chat.completions.create(**kw, stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in streamed) == whole.message.content
    assert streamed[-1].choices[0].finish_reason == whole.finish_reason == "stop"


# -- a client that leaves frees the model thread -----------------------------------------------

class Gate:
    """A forward hook: counts forward passes, never lets the model end (its EOS logits are
    -inf) and holds the pass number `hold_at` until `release` is set."""

    def __init__(self, model, eos: int, hold_at: int = 5) -> None:
        self.calls, self.eos, self.hold_at = 0, eos, hold_at
        self.holding, self.release = threading.Event(), threading.Event()
        self.handle = model.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.calls += 1
        output.logits[..., self.eos] = float("-inf")
        if self.calls == self.hold_at:
            self.holding.set()
            self.release.wait(timeout=120)
        return output


@pytest.fixture()
def gated():
    model, tok = nano_model()
    gate = Gate(model, tok.eos_token_id)
    app = create_app(HFBackend(model, tok, name="nano"), "nano", token_limit=LIMIT)
    with background_server(app) as url:
        yield url, gate, app.state.batcher
    gate.release.set()
    gate.handle.remove()


def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Poll until `condition()` holds (a generous bound for a loaded machine, not a timing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def freed_after_leaving(gate, batcher) -> None:
    """With the model held mid-generation and its client gone: the job is cancelled, and once
    released the model thread stops at the next step with nothing left admitted."""
    wait_for(lambda: batcher.active and all(j.cancelled.is_set() for j in batcher.active),
             "the server marks the job cancelled")
    gate.release.set()
    wait_for(lambda: batcher.pending == 0, "the job leaves the engine")
    assert gate.calls <= gate.hold_at + 1 < LIMIT  # not the LIMIT steps it asked for


def test_a_disconnected_stream_frees_the_engine(gated):
    url, gate, batcher = gated
    body = {"model": "nano", "messages": [{"role": "user", "content": "abc"}],
            "max_tokens": LIMIT, "temperature": 0, "stream": True}
    with httpx.stream("POST", url + "/chat/completions", json=body, timeout=60) as r:
        lines = r.iter_lines()  # (kept: closing the iterator would close the connection)
        assert next(lines).startswith("data: ")
        assert gate.holding.wait(timeout=60)
    freed_after_leaving(gate, batcher)
    r = httpx.post(url + "/completions", json={"model": "nano", "prompt": "ab", "max_tokens": 2},
                   timeout=60)
    assert r.status_code == 200  # and the server goes on answering


def test_a_disconnected_plain_request_frees_the_engine(gated):
    url, gate, batcher = gated
    host, port = url.split("//")[1].split("/")[0].split(":")
    body = (b'{"model": "nano", "prompt": "abc", "temperature": 0, "max_tokens": %d}' % LIMIT)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        assert gate.holding.wait(timeout=60)
    freed_after_leaving(gate, batcher)
