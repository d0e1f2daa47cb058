"""Server-sent events in the OpenAI chunk format (`stream=true`).

Each generated token reaches the event loop from the model thread (`Job.on_token`); the text
of each choice is decoded as it grows and sent as a delta, holding back a tail that could
still turn into a stop string or is an unfinished multi-byte character. When the job ends the
remaining text of the final choice is sent (so the deltas join to exactly the non-streamed
text), then a chunk with the finish reason per choice, with `stream_options.include_usage` a
last chunk with the usage and no choices, and `data: [DONE]`. A client that disconnects
cancels its job; a model that reports no steps (a text backend) sends its text at the end.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.responses import StreamingResponse

from neurips23.lm.generate import cut_at_stop
from neurips23.serve.batching import Job
from neurips23.serve.errors import APIError
from neurips23.serve.state import ServerState


class ChoiceText:
    """The text of one streamed choice: tokens in, the next safe delta out."""

    def __init__(self, decode: Callable[[list[int]], str] | None, stop: Sequence[str]) -> None:
        self.decode, self.stop = decode, [s for s in stop if s]
        self.ids: list[int] = []
        self.sent = ""
        self.stopped = False

    def add(self, token: int) -> str:
        """The delta after one more token ("" while held back or after a stop string)."""
        if self.stopped or self.decode is None:
            return ""
        self.ids.append(token)
        text, hit = cut_at_stop(self.decode(self.ids), self.stop)
        self.stopped = hit
        if not hit:
            text = text.rstrip("\ufffd")
            hold = max((k for s in self.stop for k in range(1, len(s))
                        if text.endswith(s[:k])), default=0)
            text = text[:len(text) - hold]
        return self._advance(text)

    def finish(self, final: str) -> str:
        """What is left of the final text."""
        return self._advance(final)

    def _advance(self, text: str) -> str:
        if not text.startswith(self.sent) or len(text) <= len(self.sent):
            return ""
        delta, self.sent = text[len(self.sent):], text
        return delta


@dataclass
class ChunkFormat:
    """Chunks of one stream: completions (`text_completion`) or chat (`chat.completion.chunk`)."""

    chat: bool
    model: str
    include_usage: bool
    id: str = ""
    created: int = 0

    def __post_init__(self) -> None:
        self.id = f"{'chatcmpl' if self.chat else 'cmpl'}-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def choice(self, index: int, text: str | None = None, finish: str | None = None,
               role: bool = False) -> dict:
        """One choice of a chunk: a text delta, or the finish reason."""
        if not self.chat:
            return {"index": index, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta: dict[str, str] = {"role": "assistant", "content": ""} if role else {}
        if text:
            delta["content"] = text
        return {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}

    def chunk(self, choices: list[dict], usage: dict | None = None) -> str:
        """One `data:` event."""
        body: dict[str, Any] = {"id": self.id, "created": self.created, "model": self.model,
                                "object": "chat.completion.chunk" if self.chat
                                else "text_completion", "choices": choices}
        if self.include_usage:
            body["usage"] = usage
        return sse(body)


def sse(body: dict | str) -> str:
    """A server-sent event carrying `body` (JSON, non-ASCII escaped)."""
    return f"data: {body if isinstance(body, str) else json.dumps(body)}\n\n"


@dataclass
class StreamPlan:
    """What a stream needs to know of its request."""

    kind: str  # "complete" or "chat"
    params: dict
    prompts: list  # engine Prompts
    batchable: bool
    n: int
    echo_texts: list[str] | None = None  # completions with echo: each prompt's text


class CancelOnClose(StreamingResponse):
    """A StreamingResponse that cancels its job however the response ends."""

    def __init__(self, content: AsyncIterator[str], job: Job) -> None:
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache"})
        self.job = job

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.job.cancel()


def stream(state: ServerState, request: Request, plan: StreamPlan, fmt: ChunkFormat) -> Any:
    """Admit the job (429 when full) and answer with its events."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()

    def put(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(events.put_nowait, item)
        except RuntimeError:  # the event loop has closed
            pass

    greedy = plan.params["temperature"] == 0
    job = state.submit(plan.kind, plan.params, plan.prompts, plan.batchable,
                       on_token=lambda item, sample, tok: put((item, sample, tok)))
    job.future.add_done_callback(lambda _: put(None))
    decode = getattr(state.engine, "decode", None)
    texts = [ChoiceText(decode, plan.params["stop"]) for _ in range(len(plan.prompts) * plan.n)]
    body = _events(state, request, job, events, fmt, plan, texts, greedy)
    return CancelOnClose(body, job)


async def _events(state: ServerState, request: Request, job: Job, events: asyncio.Queue,
                  fmt: ChunkFormat, plan: StreamPlan, texts: list[ChoiceText],
                  greedy: bool) -> AsyncIterator[str]:
    n = plan.n
    if fmt.chat:
        yield fmt.chunk([fmt.choice(i, role=True) for i in range(len(texts))])
    elif plan.echo_texts:
        yield fmt.chunk([fmt.choice(i, plan.echo_texts[i // n]) for i in range(len(texts))])
    deadline = time.monotonic() + state.limits.timeout_s
    while True:
        try:
            event = await asyncio.wait_for(events.get(), timeout=state.poll_s * 5)
        except TimeoutError:
            if await request.is_disconnected():
                return
            if time.monotonic() > deadline:
                yield sse(state.deadline_error().body())
                yield sse("[DONE]")
                return
            continue
        if event is None:
            break
        item, sample, tok = event
        targets = range(item * n, item * n + n) if greedy else [item * n + sample]
        deltas = [fmt.choice(i, d) for i in targets if (d := texts[i].add(tok))]
        if deltas:
            yield fmt.chunk(deltas)
    async for chunk in _closing(state, job, fmt, plan, texts):
        yield chunk


async def _closing(state: ServerState, job: Job, fmt: ChunkFormat, plan: StreamPlan,
                   texts: list[ChoiceText]) -> AsyncIterator[str]:
    """The rest of each choice's text, the finish reasons, the usage and [DONE]."""
    try:
        groups = state.outcome(job)
    except APIError as e:
        yield sse(e.body())
        yield sse("[DONE]")
        return
    except Exception:  # the client is gone (cancelled)
        return
    choices = [c for group in groups for c in group]
    rest = []
    for i, c in enumerate(choices):
        shown = c.text[len(plan.echo_texts[i // plan.n]):] if plan.echo_texts else c.text
        if d := texts[i].finish(shown):
            rest.append(fmt.choice(i, d))
    if rest:
        yield fmt.chunk(rest)
    yield fmt.chunk([fmt.choice(i, finish=c.finish_reason) for i, c in enumerate(choices)])
    if fmt.include_usage:
        prompt = sum(p.n_tokens for p in plan.prompts)
        done = sum(c.completion_tokens for c in choices)
        yield sse({"id": fmt.id, "created": fmt.created, "model": fmt.model,
                   "object": "chat.completion.chunk" if fmt.chat else "text_completion",
                   "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": done,
                                            "total_tokens": prompt + done}})
    yield sse("[DONE]")
