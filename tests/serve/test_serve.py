"""`neurips23 serve`: the OpenAI-compatible API over a LanguageModel, spoken to over HTTP.

A recording fake model checks the wire format, errors, token spans and micro-batching;
the end-to-end test trains a nano model, serves it and checks that scoring through the
`openai` backend equals scoring in process."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from neurips23.errors import DataError
from neurips23.lm.backends.base import Score, Usage
from neurips23.serve import background_server, create_app
from neurips23.serve.engine import echo_logprobs, token_spans


def word_logprob(word: str, position: int) -> float:
    """The fake's log p(word at `position` | the words before it)."""
    return -0.25 * len(word) - 0.1 * position


class RecordingLM:
    """Whitespace-token fake: greedy output repeats the prompt's last word; records the
    prompts of every call; `delay` seconds per call; a prompt 'boom' raises."""

    name = "rec"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, int]] = []
        self.usage = Usage()
        self._lock = threading.Lock()

    def _record(self, kind: str, size: int) -> None:
        with self._lock:
            self.calls.append((kind, size))
        time.sleep(self.delay)

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        self._record("generate", len(prompts))
        if "boom" in prompts:
            raise DataError("prompt 'boom' is not allowed")
        if "crash" in prompts:
            raise RuntimeError("CUDA out of memory")
        out = []
        for p in prompts:
            words = [f"{p.split()[-1]}{k}{j}" for k in range(n) for j in range(max_tokens)]
            texts = [" " + " ".join(words[k * max_tokens:(k + 1) * max_tokens])
                     for k in range(n)]
            out.append([t.split(stop[0])[0] if stop else t for t in texts])
        return out

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        self._record("chat", len(conversations))
        return [[f"ok {conv[-1]['content']} {k}" for k in range(n)] for conv in conversations]

    def score(self, prompts, continuations):
        self._record("score", len(prompts))
        out = []
        for p, c in zip(prompts, continuations, strict=True):
            k = len(p.split())
            lps = [word_logprob(w, k + j) for j, w in enumerate(c.split())]
            out.append(Score(sum(lps), lps))
        return out


@pytest.fixture()
def served():
    lm = RecordingLM()
    app = create_app(lm, "rec")
    with background_server(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield lm, http, app


def error_of(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    err = response.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


# -- token spans and echoed log-probs ----------------------------------------------------------

def test_token_spans_tile_the_text_and_carry_leading_whitespace():
    text = "the cat  sat "
    spans = token_spans(text)
    assert [text[s:e] for s, e in spans] == ["the", " cat", "  sat "]
    assert "".join(text[s:e] for s, e in spans) == text
    assert token_spans("   ") == []


def test_token_spans_follow_a_real_tokenizer():
    from neurips23.lm.tokenizers import build_char_tokenizer, build_word_tokenizer

    words = build_word_tokenizer(["the cat sat"])
    assert [t for t in (lambda s: ["the cat sat"[a:b] for a, b in s])(
        token_spans("the cat sat", words))] == ["the", " cat", " sat"]
    chars = build_char_tokenizer("abc ")
    text = "ab c"
    assert ["ab c"[a:b] for a, b in token_spans(text, chars)] == ["a", "b", " ", "c"]


def test_echo_logprobs_fast_path_and_per_token_fallback():
    lm = RecordingLM()
    text = "one two three four"
    got = echo_logprobs(lm, [text])[0]
    want = [None] + [word_logprob(w, i) for i, w in enumerate(text.split())][1:]
    assert got["tokens"] == ["one", " two", " three", " four"]
    assert got["text_offset"] == [0, 3, 7, 13]
    assert got["token_logprobs"] == pytest.approx(want)
    assert lm.calls == [("score", 1)]  # one call for the whole text

    class CharScorer(RecordingLM):
        """Scores each character as a token: its token count never matches the words."""

        def score(self, prompts, continuations):
            self._record("score", len(prompts))
            return [Score(-float(len(c)), [-1.0] * len(c)) for c in continuations]

    chars = CharScorer()
    got = echo_logprobs(chars, [text])[0]
    # fallback: each word scored alone given its prefix -> -len(" word")
    assert got["token_logprobs"] == [None, -4.0, -6.0, -5.0]
    assert [n for _, n in chars.calls] == [1, 3]


# -- the wire format ---------------------------------------------------------------------------

def test_models_endpoints(served):
    _, http, _ = served
    assert [m["id"] for m in http.get("/models").json()["data"]] == ["rec"]
    assert http.get("/models/rec").json()["id"] == "rec"
    err = error_of(http.get("/models/other"), 404)
    assert err["code"] == "model_not_found"


def test_completions_prompt_list_n_echo_usage_and_finish_reason(served):
    _, http, _ = served
    r = http.post("/completions", json={"model": "rec", "prompt": ["a b", "c"], "n": 2,
                                        "max_tokens": 2, "temperature": 0.5}).json()
    assert r["object"] == "text_completion" and r["model"] == "rec"
    assert [c["index"] for c in r["choices"]] == [0, 1, 2, 3]
    assert [c["text"] for c in r["choices"]] == [" b00 b01", " b10 b11", " c00 c01", " c10 c11"]
    assert {c["finish_reason"] for c in r["choices"]} == {"length"}
    assert r["usage"] == {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}
    r = http.post("/completions", json={"model": "rec", "prompt": "x", "max_tokens": 3,
                                        "stop": " x02", "echo": True}).json()
    assert r["choices"][0]["text"] == "x x00 x01"
    assert r["choices"][0]["finish_reason"] == "stop"


def test_completions_scoring_with_echo_and_logprobs(served):
    lm, http, _ = served
    r = http.post("/completions", json={"model": "rec", "prompt": "a bb ccc", "echo": True,
                                        "logprobs": 1, "max_tokens": 0}).json()
    lp = r["choices"][0]["logprobs"]
    assert r["choices"][0]["text"] == "a bb ccc"
    assert lp["tokens"] == ["a", " bb", " ccc"] and lp["text_offset"] == [0, 1, 4]
    assert lp["token_logprobs"] == pytest.approx([None, word_logprob("bb", 1),
                                                  word_logprob("ccc", 2)])
    assert r["usage"]["prompt_tokens"] == 3 and r["usage"]["completion_tokens"] == 0
    assert [k for k, _ in lm.calls] == ["score"]


def test_chat_completions(served):
    _, http, _ = served
    r = http.post("/chat/completions", json={
        "model": "rec", "n": 2, "messages": [{"role": "system", "content": "s"},
                                             {"role": "user", "content": "hi there"}]}).json()
    assert r["object"] == "chat.completion"
    assert [c["message"] for c in r["choices"]] == [
        {"role": "assistant", "content": "ok hi there 0"},
        {"role": "assistant", "content": "ok hi there 1"}]
    assert r["usage"]["prompt_tokens"] == 3


@pytest.mark.parametrize("body, param, fragment", [
    ({"model": "rec", "prompt": "a", "n": 0}, "n", "greater than or equal to 1"),
    ({"model": "rec"}, "prompt", "Field required"),
    ({"model": "rec", "prompt": [1.5]}, "prompt", "wrong type (got [1.5])"),
    ({"model": "rec", "prompt": [1, 2]}, "prompt", "text prompts, not token ids"),
    ({"model": "rec", "prompt": "a", "presence_penalty": 0.5}, "presence_penalty", "not supported"),
    ({"model": "rec", "prompt": "a", "temperature": -1}, "temperature", "got -1"),
    ({"model": "rec", "prompt": "a", "stream_options": {"include_usage": True}},
     "stream_options", "needs stream=true"),
    ({"model": "rec", "prompt": "a", "logprobs": 1}, "logprobs", "echo=true"),
    ({"model": "rec", "prompt": []}, "prompt", "empty"),
])
def test_bad_completion_requests_get_openai_style_400s(served, body, param, fragment):
    _, http, _ = served
    err = error_of(http.post("/completions", json=body), 400)
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert fragment in err["message"]


def test_other_errors(served):
    _, http, _ = served
    err = error_of(http.post("/completions", content=b"{not json",
                             headers={"content-type": "application/json"}), 400)
    assert "not valid JSON" in err["message"]
    err = error_of(http.post("/completions", json={"model": "gpt-4", "prompt": "a"}), 404)
    assert err["code"] == "model_not_found" and "'rec'" in err["message"]
    err = error_of(http.post("/chat/completions", json={
        "model": "rec", "messages": [{"role": "robot", "content": "x"}]}), 400)
    assert err["param"] == "messages.0.role"
    error_of(http.post("/chat/completions", json={"model": "rec", "messages": []}), 400)
    error_of(http.get("/nowhere"), 404)
    # a UserError from the model is the client's fault (400), anything else is ours (500)
    err = error_of(http.post("/completions", json={"model": "rec", "prompt": "boom"}), 400)
    assert "prompt 'boom' is not allowed" in err["message"]
    err = error_of(http.post("/completions", json={"model": "rec", "prompt": "crash"}), 500)
    assert err["type"] == "server_error" and "CUDA out of memory" in err["message"]


def test_api_key_is_required_when_set():
    app = create_app(RecordingLM(), "rec", api_key="k-123")
    with background_server(app) as url:
        err = error_of(httpx.get(url + "/models"), 401)
        assert err["code"] == "invalid_api_key" and "k-123" not in err["message"]
        ok = httpx.get(url + "/models", headers={"Authorization": "Bearer k-123"})
        assert ok.status_code == 200


# -- concurrency -------------------------------------------------------------------------------

def _post_all(url: str, bodies: list[dict]) -> list[dict]:
    with httpx.Client(base_url=url, timeout=30) as http, ThreadPoolExecutor(len(bodies)) as ex:
        return list(ex.map(lambda b: http.post("/completions", json=b).json(), bodies))


def test_concurrent_requests_are_micro_batched_and_answered_correctly():
    lm = RecordingLM(delay=0.2)
    app = create_app(lm, "rec")
    with background_server(app) as url:
        bodies = [{"model": "rec", "prompt": f"w{i}", "max_tokens": 1, "temperature": 0}
                  for i in range(8)]
        out = _post_all(url, bodies)
    assert [r["choices"][0]["text"] for r in out] == [f" w{i}00" for i in range(8)]
    sizes = [n for _, n in lm.calls]
    assert sum(sizes) == 8 and len(sizes) < 8 and max(sizes) > 1, sizes
    assert app.state.batcher.calls == len(sizes)


def test_seeded_sampling_is_never_batched_and_a_failure_stays_alone():
    lm = RecordingLM(delay=0.1)
    with background_server(create_app(lm, "rec")) as url:
        seeded = [{"model": "rec", "prompt": f"w{i}", "max_tokens": 1, "temperature": 0.7,
                   "seed": i} for i in range(4)]
        _post_all(url, seeded)
        assert [n for _, n in lm.calls] == [1, 1, 1, 1]
        lm.calls.clear()
        mixed = [{"model": "rec", "prompt": p, "max_tokens": 1, "temperature": 0}
                 for p in ["a", "b", "boom", "c", "d"]]
        out = _post_all(url, mixed)
    assert "error" in out[2] and "boom" in out[2]["error"]["message"]
    assert [r["choices"][0]["text"] for i, r in enumerate(out) if i != 2] == [
        " a00", " b00", " c00", " d00"]


# -- end to end: train a nano model, serve it, query it through the openai backend ------------

def test_end_to_end_trained_nano_model_served_and_queried(tmp_path):
    from neurips23.lm.backends import load_backend
    from neurips23.lm.backends.openai import OpenAIBackend
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tasks import get_task
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import TrainConfig, train_causal_lm

    task = get_task("reverse")
    examples = task.make(256, 0)
    tok = build_char_tokenizer(task.alphabet)
    model = build_model("nano", vocab_size=len(tok), seed=0)
    result = train_causal_lm(model, tok, examples, TrainConfig(steps=40, batch_size=16, lr=1e-2),
                             progress=False)
    assert result.losses[-1][1] < result.losses[0][1]  # it learned something
    save_model(model, tok, tmp_path / "nano")

    local = load_backend("hf", str(tmp_path / "nano"))
    prompts = [ex.prompt for ex in examples[:6]]
    conts = [ex.response for ex in examples[:6]]
    want_scores = local.score(prompts, conts)
    want_text = local.generate(prompts, max_tokens=6, stop=["="])
    with background_server(create_app(local, "nano")) as url:
        remote = OpenAIBackend("nano", url, max_concurrency=4)
        got_scores = remote.score(prompts, conts)
        got_text = remote.generate(prompts, max_tokens=6, stop=["="])
        sampled = remote.generate(prompts[:2], n=3, temperature=1.0, max_tokens=4, seed=7)
    for want, got in zip(want_scores, got_scores, strict=True):
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4)
        assert got.token_logprobs == pytest.approx(want.token_logprobs, abs=1e-4)
    assert got_text == want_text
    assert [len(s) for s in sampled] == [3, 3]
    assert remote.usage.calls == 14 and remote.usage.completion_tokens > 0


# -- admission control, deadlines, limits ------------------------------------------------------

class GatedLM(RecordingLM):
    """RecordingLM whose generate waits for `release` (the model thread stays busy)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def generate(self, prompts, **kw):
        self.entered.set()
        self.release.wait(timeout=120)
        return super().generate(prompts, **kw)


def _until(condition, what: str) -> None:
    deadline = time.monotonic() + 60  # a bound for a loaded machine, not a timing
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_a_full_queue_answers_429_with_retry_after_and_models_stays_up():
    from neurips23.serve.state import Limits

    lm = GatedLM()
    app = create_app(lm, "rec", limits=Limits(max_pending=2))
    batcher = app.state.batcher
    body = {"model": "rec", "prompt": "a", "max_tokens": 1, "temperature": 0}
    with background_server(app) as url, httpx.Client(base_url=url, timeout=60) as http, \
            ThreadPoolExecutor(2) as pool:
        first = pool.submit(http.post, "/completions", json=body)
        _until(lm.entered.is_set, "the model thread is busy")
        second = pool.submit(http.post, "/completions", json={**body, "prompt": "b"})
        _until(lambda: batcher.pending == 2, "a second request is admitted")
        import neurips23.serve.completions as completions

        planned = []
        real_plan = completions.plan_completion
        completions.plan_completion = lambda *a: planned.append(a) or real_plan(*a)
        try:  # a full queue refuses before the request is validated or tokenized
            refused = [http.post("/completions", json={**body, "prompt": f"x{i}"})
                       for i in range(8)]
        finally:
            completions.plan_completion = real_plan
        assert planned == []
        for r in refused:
            err = error_of(r, 429)
            assert err["code"] == "rate_limit_exceeded" and r.headers["retry-after"] == "1"
        assert http.get("/models").status_code == 200  # answered while the model is busy
        lm.release.set()
        assert [f.result().json()["choices"][0]["text"] for f in (first, second)] == [
            " a00", " b00"]
        assert batcher.refused == 8 and batcher.pending == 0
        assert http.post("/completions", json=body).status_code == 200


def test_a_request_past_its_deadline_is_a_504_and_a_queued_one_is_skipped():
    from neurips23.serve.state import Limits

    lm = GatedLM()
    app = create_app(lm, "rec", limits=Limits(timeout_s=2.0))
    body = {"model": "rec", "prompt": "a", "max_tokens": 1, "temperature": 0}
    with background_server(app) as url, httpx.Client(base_url=url, timeout=60) as http, \
            ThreadPoolExecutor(1) as pool:
        running = pool.submit(http.post, "/completions", json=body)
        _until(lm.entered.is_set, "the first request reaches the model")
        err = error_of(http.post("/completions", json={**body, "prompt": "q"}), 504)  # queued
        assert err["code"] == "timeout" and "2 s" in err["message"]
        assert error_of(running.result(), 504)["code"] == "timeout"  # running, gate closed
        lm.release.set()
        _until(lambda: app.state.batcher.pending == 0, "both jobs leave the engine")
    assert [k for k, _ in lm.calls] == ["generate"]  # the queued one never reached the model


def test_n_times_max_tokens_is_capped():
    from neurips23.serve.state import Limits

    app = create_app(RecordingLM(), "rec", limits=Limits(request_tokens=100))
    with background_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        err = error_of(http.post("/completions", json={"model": "rec", "prompt": ["a", "b"],
                                                       "n": 2, "max_tokens": 30}), 400)
        assert err["code"] == "request_too_large" and "120 tokens" in err["message"]
        assert http.post("/completions", json={"model": "rec", "prompt": "a", "n": 2,
                                               "max_tokens": 50}).status_code == 200


# -- bad requests: JSON 4xx in the OpenAI shape, and the server goes on ------------------------

def test_bad_requests_are_json_4xx_and_the_server_answers_afterwards():
    from neurips23.serve.state import Limits

    lm = RecordingLM()
    app = create_app(lm, "rec", limits=Limits(body_bytes=20_000))
    engine = app.state.server.engine
    encoded = []
    real_encode = engine.encode
    engine.encode = lambda p: encoded.append(p) or real_encode(p)
    json_type = {"content-type": "application/json"}
    with background_server(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        err = error_of(http.post("/completions", headers=json_type,
                                 content=b'{"model": "rec", "prompt": "a\\ud800b"}'), 400)
        assert err["param"] == "prompt" and "lone surrogate" in err["message"]
        err = error_of(http.post("/chat/completions", headers=json_type, content=(
            b'{"model": "rec", "messages": [{"role": "user", "content": "\\udfff"}]}')), 400)
        assert err["param"] == "messages.0.content"
        err = error_of(http.post("/completions", json={"model": "rec", "prompt": "a",
                                                       "seed": 2**70}), 400)
        assert err["param"] == "seed"
        tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}}
        err = error_of(http.post("/chat/completions", json={
            "model": "rec", "tools": [tool], "messages": [{"role": "user", "content": "x"}]}), 400)
        assert err["param"] == "tools"
        assert err["message"] == ("tools is not supported by this server (got a list of 1 item); "
                                  "leave it out")
        big = {"model": "rec", "prompt": "word " * 10_000}
        err = error_of(http.post("/completions", json=big), 413)
        assert err["code"] == "request_too_large" and "20000 bytes" in err["message"]
        chunked = http.post("/completions", headers=json_type,
                            content=iter([b'{"model": "rec", "prompt": "', b"w " * 15_000, b'"}']))
        assert error_of(chunked, 413)["code"] == "request_too_large"
        assert encoded == []  # nothing above was tokenized
        engine.encode = lambda p: 1 / 0  # a bug: the catch-all answers JSON, not text
        err = error_of(http.post("/completions", json={"model": "rec", "prompt": "a"}), 500)
        assert err["type"] == "server_error" and "ZeroDivisionError" in err["message"]
        engine.encode = real_encode
        ok = http.post("/completions", json={"model": "rec", "prompt": "a b", "max_tokens": 1})
        assert ok.status_code == 200 and ok.json()["choices"][0]["text"] == " b00"


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "neurips23.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_serve_cli_refuses_a_busy_port_and_a_bogus_device_in_one_line():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = _cli("serve", "--port", str(port))
    assert r.returncode == 2 and "serving" not in r.stdout + r.stderr
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    assert len(lines) == 1 and f":{port}" in lines[0] and "--port" in lines[0]
    r = _cli("serve", "--device", "bogus", "--port", "0")
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "'bogus'" in lines[0]


def _events(http: httpx.Client, path: str, body: dict) -> list:
    import json

    with http.stream("POST", path, json=body) as r:
        assert r.status_code == 200
        data = [x[6:] for x in r.iter_lines() if x.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(x) for x in data[:-1]]


def test_a_text_model_streams_its_whole_answer(served):
    _, http, _ = served
    body = {"model": "rec", "prompt": "a b", "max_tokens": 3, "n": 2, "temperature": 0.5}
    whole = http.post("/completions", json=body).json()
    events = _events(http, "/completions", {**body, "stream": True,
                                            "stream_options": {"include_usage": True}})
    texts = ["", ""]
    for e in events[:-1]:
        for c in e["choices"]:
            texts[c["index"]] += c["text"]
    assert texts == [c["text"] for c in whole["choices"]]
    assert events[-1]["choices"] == [] and events[-1]["usage"] == whole["usage"]
    chat = _events(http, "/chat/completions", {"model": "rec", "stream": True, "messages": [
        {"role": "user", "content": "hi"}]})
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in chat) == "ok hi 0"


def test_a_stream_past_its_deadline_ends_with_an_error_event():
    from neurips23.serve.state import Limits

    lm = GatedLM()
    app = create_app(lm, "rec", limits=Limits(timeout_s=0.2))
    with background_server(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        events = _events(http, "/completions", {"model": "rec", "prompt": "a", "stream": True})
        lm.release.set()
        _until(lambda: app.state.batcher.pending == 0, "the job leaves the engine")
    assert events[-1]["error"]["code"] == "timeout"


def test_every_response_carries_the_servers_own_time():
    """Server-Timing: app;dur=<ms>, the time from the request reaching the app to its response
    (a refusal included), so a benchmark can tell the server's time from the client's."""
    from neurips23.serve.state import Limits

    lm = GatedLM()
    app = create_app(lm, "rec", limits=Limits(max_pending=1))
    body = {"model": "rec", "prompt": "a", "max_tokens": 1, "temperature": 0}
    with background_server(app) as url, httpx.Client(base_url=url, timeout=60) as http, \
            ThreadPoolExecutor(1) as pool:
        first = pool.submit(http.post, "/completions", json=body)
        _until(lm.entered.is_set, "the model thread is busy")
        refused = http.post("/completions", json={**body, "prompt": "b"})
        assert refused.status_code == 429
        name, dur = refused.headers["server-timing"].split(";")
        assert name == "app" and dur.startswith("dur=") and float(dur[4:]) >= 0
        lm.release.set()
        assert "server-timing" in first.result().headers
