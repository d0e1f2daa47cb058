"""The `openai` backend driven for real against `neurips23 serve` (uvicorn on 127.0.0.1).

The served model is a small deterministic fake `LanguageModel` whose outputs and log-probs
follow simple formulas, so every expected value below is computed independently of the
server and the client.
"""

from __future__ import annotations

import random
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fastapi.responses import JSONResponse, PlainTextResponse

from neurips23.errors import BackendError, DataError
from neurips23.lm.backends.base import LanguageModel, Prices, Score, Usage
from neurips23.lm.backends.openai import (
    OpenAIBackend,
    backoff_delay,
    continuation_logprobs,
    normalize_base_url,
    parse_retry_after,
)
from neurips23.serve import background_server, create_app


def token_logprob(word: str, position: int) -> float:
    """The fake model's log p(word at `position` | anything before it)."""
    return -0.5 * (1 + len(word)) - 0.01 * position


class FakeLM:
    """Deterministic whitespace-token model: greedy output names the prompt's last word;
    sample k of a sampled call is tagged s<k>; `delay` seconds per call."""

    name = "fake"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.usage = Usage()

    def _text(self, last: str, k: int, temperature: float, max_tokens: int) -> str:
        tag = f"s{k}" if temperature > 0 else "g"
        return "".join(f" {last}-{tag}-{j}" for j in range(max_tokens))

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        time.sleep(self.delay)
        out = []
        for p in prompts:
            last = p.split()[-1] if p.split() else "empty"
            texts = [self._text(last, k, temperature, max_tokens) for k in range(n)]
            out.append([cut(t, stop) for t in texts])
        return out

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        time.sleep(self.delay)
        return [[cut(f"you said {conv[-1]['content']} #{k}", stop) for k in range(n)]
                for conv in conversations]

    def score(self, prompts, continuations):
        time.sleep(self.delay)
        out = []
        for p, c in zip(prompts, continuations, strict=True):
            offset = len(p.split())
            lps = [token_logprob(w, offset + j) for j, w in enumerate(c.split())]
            out.append(Score(logprob=sum(lps), token_logprobs=lps))
        return out


def cut(text: str, stop) -> str:
    idx = [text.find(s) for s in stop if s in text]
    return text[: min(idx)] if idx else text


def expected_generation(prompt: str, max_tokens: int, tag: str = "g") -> str:
    last = prompt.split()[-1]
    return "".join(f" {last}-{tag}-{j}" for j in range(max_tokens))


@pytest.fixture(scope="module")
def server():
    app = create_app(FakeLM(), "fake")
    with background_server(app) as url:
        yield url


def client(url: str, **kw) -> OpenAIBackend:
    kw.setdefault("backoff", 0.01)
    return OpenAIBackend("fake", url, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- plain functions ---------------------------------------------------------------------------

def test_normalize_base_url():
    assert normalize_base_url("http://h:8000") == "http://h:8000/v1"
    assert normalize_base_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert normalize_base_url("https://x.ai/api/openai/v1beta") == "https://x.ai/api/openai/v1beta"
    with pytest.raises(BackendError, match="not an http"):
        normalize_base_url("localhost:8000")


def test_parse_retry_after_seconds_date_and_garbage():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(date, now=now.timestamp()) == pytest.approx(7.0)
    assert parse_retry_after("100000") == 120.0  # capped


def test_backoff_is_exponential_with_jitter_and_honours_retry_after():
    rng = random.Random(0)
    for attempt in range(6):
        ceiling = min(8.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, 0.5, 8.0, rng) for _ in range(200)]
        assert min(delays) >= ceiling / 2 and max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered, not lockstep
    assert backoff_delay(3, 0.5, 8.0, rng, retry_after=1.5) == 1.5


def test_continuation_logprobs_on_a_vllm_shaped_echo():
    # "<s>" (empty, no log-prob), "The", " cat", " sat" ; prompt "The", continuation " cat sat"
    offsets, lps = [0, 0, 3, 7], [None, -1.0, -2.0, -3.0]
    assert continuation_logprobs(offsets, lps, split=3, end=11) == [-2.0, -3.0]
    # a generated token after the echoed text (offset == end) is ignored
    assert continuation_logprobs(offsets + [11], lps + [-9.0], 3, 11) == [-2.0, -3.0]
    # a token straddling the boundary ("ca|t") belongs to the continuation
    assert continuation_logprobs(offsets, lps, split=5, end=11) == [-2.0, -3.0]
    # with a BOS, an empty prompt still gives the first word a log-prob; without one, it cannot
    assert continuation_logprobs(offsets, lps, split=0, end=11) == [-1.0, -2.0, -3.0]
    with pytest.raises(BackendError, match="non-empty prompt"):
        continuation_logprobs([0, 3, 7], [None, -2.0, -3.0], split=0, end=11)


# -- against the real server -------------------------------------------------------------------

def test_generate_n_stop_and_usage(server):
    lm = client(server)
    prompts = ["the quick brown fox", "hello world"]
    out = lm.generate(prompts, max_tokens=3)
    assert out == [[expected_generation(p, 3)] for p in prompts]
    sampled = lm.generate(["a b"], n=3, temperature=0.8, max_tokens=2, seed=1)
    assert sampled == [[expected_generation("a b", 2, f"s{k}") for k in range(3)]]
    stopped = lm.generate(["x y"], max_tokens=5, stop=["y-g-2"])
    assert stopped == [[" y-g-0 y-g-1 "]]
    # usage is the server's count of whitespace tokens, summed over the requests
    assert lm.usage.calls == 4
    assert lm.usage.prompt_tokens == 4 + 2 + 2 + 2
    assert lm.usage.completion_tokens == 3 + 3 + 3 * 2 + 2


def test_chat(server):
    lm = client(server)
    convs = [[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
             [{"role": "user", "content": "bye now"}]]
    assert lm.chat(convs, n=2, max_tokens=8) == [["you said hi #0", "you said hi #1"],
                                                  ["you said bye now #0", "you said bye now #1"]]
    assert lm.chat([[{"role": "user", "content": "a b"}]], stop=[" b"]) == [["you said a"]]
    with pytest.raises(DataError, match="conversation 0, message 0: unknown role 'robot'"):
        lm.chat([[{"role": "robot", "content": "x"}]])


def test_score_matches_the_model_formula(server):
    lm = client(server)
    prompts = ["the cat", "a", "one two three"]
    conts = [" sat on mats", " b", " four"]
    scores = lm.score(prompts, conts)
    for p, c, s in zip(prompts, conts, scores, strict=True):
        k = len(p.split())
        want = [token_logprob(w, k + j) for j, w in enumerate(c.split())]
        assert s.token_logprobs == pytest.approx(want, abs=1e-9)
        assert s.logprob == pytest.approx(sum(want), abs=1e-9)
    assert lm.score(["x"], [""])[0].logprob == 0.0
    with pytest.raises(DataError, match="2 prompts and 1 continuations"):
        lm.score(["a", "b"], ["c"])


def in_flight_app(hold_until: int):
    """The real server with a middleware that counts the requests in flight at once (server
    side). Each request is held until `hold_until` are in flight together (or a 60 s cap), so
    requests sent together are seen together however loaded the machine is, and requests sent
    one after another are never seen together."""
    import asyncio

    app = create_app(FakeLM(), "fake")
    state = {"now": 0, "peak": 0}

    @app.middleware("http")
    async def count(request, call_next):
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        try:
            for _ in range(6000):  # the cap only bounds a broken client; it is never asserted
                if state["peak"] >= hold_until:
                    break
                await asyncio.sleep(0.01)
            return await call_next(request)
        finally:
            state["now"] -= 1

    app.state.in_flight = state
    return app


@pytest.mark.parametrize("max_concurrency, expected_peak", [(8, 8), (3, 3), (1, 1)])
def test_requests_of_a_batch_run_concurrently(max_concurrency, expected_peak):
    prompts = [f"p{i}" for i in range(8)]
    app = in_flight_app(hold_until=expected_peak)
    with background_server(app) as url:
        out = client(url, max_concurrency=max_concurrency).generate(prompts, max_tokens=1)
    assert out == [[expected_generation(p, 1)] for p in prompts]
    # the overlap of request intervals seen by the server: all the batch at once, bounded by
    # max_concurrency, one at a time when it is 1
    assert app.state.in_flight["peak"] == expected_peak


def fault_app(faults: list, model="fake"):
    """The real server with a middleware that answers the next requests from `faults`."""
    app = create_app(FakeLM(), model)
    seen: list[str] = []

    @app.middleware("http")
    async def inject(request, call_next):
        seen.append(request.url.path)
        if faults:
            return faults.pop(0)
        return await call_next(request)

    app.state.seen = seen
    return app


def test_retries_429_and_503_then_succeeds_honouring_retry_after():
    faults = [JSONResponse({"error": {"message": "slow down"}}, 429,
                           headers={"Retry-After": "1"}),
              JSONResponse({"error": {"message": "overloaded"}}, 503)]
    app = fault_app(faults)
    with background_server(app) as url:
        t0 = time.perf_counter()
        out = client(url, max_retries=2).generate(["a b"], max_tokens=1)
        elapsed = time.perf_counter() - t0
    assert out == [[" b-g-0"]]
    assert len(app.state.seen) == 3
    assert elapsed >= 0.95  # waited the server's Retry-After, not the 10 ms backoff


def test_gives_up_after_max_retries_with_the_status():
    faults = [JSONResponse({"error": {"message": "overloaded"}}, 503) for _ in range(3)]
    with background_server(fault_app(faults)) as url:
        with pytest.raises(BackendError, match=r"failed on each of 3 attempts: HTTP 503: over"):
            client(url, max_retries=2).generate(["a"], max_tokens=1)


def test_bad_auth_is_clear_and_never_shows_the_key(monkeypatch):
    monkeypatch.setenv("TEST_SERVE_KEY", "sk-wrong-0123456789")
    app = create_app(FakeLM(), "fake", api_key="sk-right-9876543210")
    with background_server(app) as url:
        lm = client(url, api_key_env="TEST_SERVE_KEY")
        with pytest.raises(BackendError) as err:
            lm.generate(["a"], max_tokens=1)
        msg = str(err.value)
        assert "authentication failed (HTTP 401)" in msg and "$TEST_SERVE_KEY" in msg
        assert "sk-wrong" not in msg and "sk-right" not in msg
        assert "sk-wrong" not in repr(lm)
        monkeypatch.setenv("TEST_SERVE_KEY", "sk-right-9876543210")
        assert client(url, api_key_env="TEST_SERVE_KEY").generate(["a"], max_tokens=1)
        monkeypatch.delenv("TEST_SERVE_KEY")
        with pytest.raises(BackendError, match=r"\$TEST_SERVE_KEY is not set"):
            client(url, api_key_env="TEST_SERVE_KEY").generate(["a"], max_tokens=1)


def test_missing_model_names_the_available_ones(server):
    lm = OpenAIBackend("gpt-99", server, backoff=0.01)
    with pytest.raises(BackendError, match=r"model 'gpt-99' not found at .*available: fake"):
        lm.generate(["a"])


def test_wrong_path_says_check_base_url(server):
    lm = OpenAIBackend("fake", server.removesuffix("/v1") + "/api", backoff=0.01)
    with pytest.raises(BackendError, match=r"not found \(HTTP 404\).*check base_url"):
        lm.generate(["a"])


def test_connection_refused_is_one_clear_line():
    lm = OpenAIBackend("fake", f"http://127.0.0.1:{free_port()}", max_retries=1, backoff=0.01)
    with pytest.raises(BackendError, match=r"cannot connect to .* after 2 attempts"):
        lm.generate(["a"])


def test_a_read_timeout_is_not_resent():
    import threading

    app = fault_app([])
    backend = app.state.server.engine.backend
    release, answered = threading.Event(), []
    plain_generate = backend.generate

    def held_generate(*args, **kw):  # the model answers only once the test lets it
        release.wait(60)  # 60 s only bounds a broken run
        answered.append(True)
        return plain_generate(*args, **kw)

    backend.generate = held_generate
    with background_server(app) as url:
        lm = client(url, timeout=0.15, max_retries=3)
        with pytest.raises(BackendError, match=r"no answer within the read timeout of 0.15s "
                                               r"\(not resent"):
            lm.generate(["a"], max_tokens=1)
        assert answered == []  # gave up at the timeout; did not wait for the model
        release.set()
    assert app.state.seen == ["/v1/completions"]  # sent once, not four times


def test_a_connect_timeout_is_retried():
    import httpx

    lm = client("http://127.0.0.1:9", max_retries=2, connect_timeout=0.05)
    calls = []

    def post(*args, **kwargs):
        calls.append(1)
        raise httpx.ConnectTimeout("timed out")

    lm._client.post = post
    with pytest.raises(BackendError, match=r"no connection within 0.05s\) after 3 attempts"):
        lm.generate(["a"], max_tokens=1)
    assert len(calls) == 3


def test_max_completion_tokens_where_the_endpoint_wants_it():
    refusal = JSONResponse({"error": {"message": "Unsupported parameter: 'max_tokens' is not "
                                      "supported with this model. Use 'max_completion_tokens' "
                                      "instead.", "type": "invalid_request_error"}}, 400)
    app = fault_app([refusal])
    bodies = []

    @app.middleware("http")
    async def record(request, call_next):
        bodies.append(await request.json())
        return await call_next(request)

    with background_server(app) as url:
        lm = client(url)
        assert lm.chat([[{"role": "user", "content": "hi"}]], max_tokens=5) == [["you said hi #0"]]
        lm.chat([[{"role": "user", "content": "again"}]], max_tokens=5)
    assert [("max_tokens" in b, b.get("max_completion_tokens")) for b in bodies] == [
        (True, None), (False, 5), (False, 5)]  # switched once, then remembered
    assert OpenAIBackend("m", "https://api.openai.com/v1").token_param == "max_completion_tokens"
    assert OpenAIBackend("m", "http://127.0.0.1:8000/v1").token_param == "max_tokens"


def test_malformed_json_and_missing_logprobs():
    faults = [PlainTextResponse("<html>proxy error</html>", 200),
              JSONResponse({"choices": [{"index": 0, "text": "a b", "logprobs": None}]})]
    with background_server(fault_app(faults)) as url:
        lm = client(url)
        with pytest.raises(BackendError, match=r"malformed JSON .*proxy error"):
            lm.generate(["a"])
        with pytest.raises(BackendError, match=r"no prompt log-probs.*echo=true"):
            lm.score(["a"], [" b"])


def test_bad_arguments_are_user_errors():
    with pytest.raises(BackendError, match="not an http"):
        OpenAIBackend("m", "127.0.0.1:8000")
    lm = OpenAIBackend("m", "http://127.0.0.1:9")
    with pytest.raises(DataError, match="single string"):
        lm.generate("a prompt")
    with pytest.raises(DataError, match="temperature must be >= 0"):
        lm.generate(["a"], temperature=-1)


def test_is_a_language_model_usable_inside_an_event_loop_and_costs_by_usage(server):
    import asyncio

    lm = client(server)
    assert isinstance(lm, LanguageModel)

    async def inside_a_running_loop():  # e.g. Jupyter, or a FastAPI handler
        return lm.generate(["a b", "c d"], max_tokens=2)

    assert asyncio.run(inside_a_running_loop()) == [[" b-g-0 b-g-1"], [" d-g-0 d-g-1"]]
    assert (lm.usage.prompt_tokens, lm.usage.completion_tokens) == (4, 4)
    assert lm.usage.cost(Prices(1.0, 2.0)) == pytest.approx((4 * 1.0 + 4 * 2.0) / 1000)
