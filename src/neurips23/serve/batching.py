"""The model worker: one thread owns the model and micro-batches the requests waiting for it.

torch modules are not safe to call from many threads, so every request hands its work to
one worker thread. Whatever requests are waiting when the worker becomes free (or arrive
within a short gathering window after the first, so that a client's concurrent requests meet),
and share sampling settings, go to the model as one batch. Seeded sampling (temperature > 0 with a
seed) is never joined with other requests, so a seed gives the same text however busy the
server is. A failing joined call is retried request by request, so one bad request fails alone.

Admission is bounded: at most `max_pending` requests are admitted (waiting or running) at a
time; `submit` refuses the next one with `Overloaded` (the server answers 429). A cancelled
job (its client went away, or its deadline passed) is skipped if it is still waiting and
abandoned at the next decoding step if it is running (for a model that reports its steps).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

StepSink = Callable[[int, int, int], None]
"""Receives (item index within the job, sample index, token id) for each generated token."""


class Overloaded(Exception):
    """The admission queue is full."""


class Cancelled(Exception):
    """The job was cancelled before it ran."""


@dataclass
class Job:
    """One request's share of work: `items` for `run(kind, params, items)`."""

    kind: str
    params: tuple  # hashable settings; jobs with equal (kind, params) may share a call
    items: list
    batchable: bool
    on_token: StepSink | None = None  # streaming: sees every generated token
    future: Future = field(default_factory=Future)
    cancelled: threading.Event = field(default_factory=threading.Event)
    streamed: bool = False  # some token has gone to `on_token` (then a failure is not retried)

    def cancel(self) -> None:
        """Ask the worker to skip or abandon this job (no effect once it has finished)."""
        self.cancelled.set()


def params_key(params: dict[str, Any]) -> tuple:
    """A hashable, order-independent form of a settings dict (lists become tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


class MicroBatcher:
    """Runs `call(kind, params, items, observer) -> results` (one result per item) on one
    thread, joining waiting jobs of equal (kind, params) into one call; `observer` is a
    `lm.generate.StepObserver` over the joined items."""

    def __init__(self, call: Callable[..., list], gather_s: float = 0.02,
                 max_pending: int = 64) -> None:
        self._call_fn = call
        self.gather_s = gather_s  # how long the first waiting job waits for company
        self.max_pending = max_pending
        self.calls = 0  # model calls made (a test checks that concurrent requests share them)
        self.pending = 0  # jobs admitted and not finished
        self.refused = 0  # jobs refused because `pending` was at `max_pending`
        self.active: list[Job] = []  # the jobs of the model call under way
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def submit(self, kind: str, params: dict, items: list, batchable: bool = True,
               on_token: StepSink | None = None) -> Job:
        """Admit a job (its results arrive on `job.future`); `Overloaded` when full."""
        job = Job(kind, params_key(params), items, batchable, on_token)
        with self._lock:
            if self.pending >= self.max_pending:
                self.refused += 1
                raise Overloaded(f"{self.pending} requests are already admitted "
                                 f"(the server's limit)")
            self.pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="serve-model",
                                                daemon=True)
                self._thread.start()
        job.future.add_done_callback(self._release)
        self._queue.put(job)
        return job

    def _release(self, _: Future) -> None:
        with self._lock:
            self.pending -= 1

    def close(self) -> None:
        """Stop the worker thread (abandoning the call under way)."""
        for job in list(self.active):
            job.cancel()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _drain(self, first: Job) -> list[Job]:
        jobs = [first]
        deadline = time.monotonic() + self.gather_s
        while True:
            try:
                nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return jobs
            if nxt is None:
                self._queue.put(None)
                return jobs
            jobs.append(nxt)

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            groups: dict[tuple, list[Job]] = {}
            for j in self._drain(job):
                key = (j.kind, j.params) if j.batchable else (j.kind, j.params, id(j))
                groups.setdefault(key, []).append(j)
            for group in groups.values():  # a job may be cancelled while earlier groups run
                for j in group:
                    if j.cancelled.is_set():
                        _settle(j, error=Cancelled("cancelled before it ran"))
                live = [j for j in group if not j.cancelled.is_set()]
                if live:
                    self._run(live)

    def _observer(self, group: list[Job]):
        """A StepObserver over the group's joined items: forwards tokens to each job's
        `on_token` and abandons the rows of cancelled jobs."""
        owner, start = [], []
        for j in group:
            start.append(len(owner))
            owner += [len(start) - 1] * len(j.items)

        def observe(keys: list[tuple[int, int]], tokens: list[int]) -> list[bool]:
            drop = []
            for (item, sample), tok in zip(keys, tokens, strict=True):
                j = owner[item]
                job = group[j]
                if tok >= 0 and job.on_token is not None:
                    job.streamed = True
                    job.on_token(item - start[j], sample, tok)
                drop.append(job.cancelled.is_set())
            return drop

        return observe

    def _run(self, group: list[Job]) -> None:
        items = [x for j in group for x in j.items]
        self.active = group
        try:
            self.calls += 1
            results = self._call_fn(group[0].kind, dict(group[0].params), items,
                                    self._observer(group))
            if len(results) != len(items):
                raise RuntimeError(f"the model's {group[0].kind} returned {len(results)} "
                                   f"results for {len(items)} inputs")
        except Exception as e:
            for j in group:  # retried alone unless the job's client has seen tokens already
                if len(group) == 1 or j.streamed:
                    _settle(j, error=e)
                else:
                    self._run([j])
            return
        finally:
            self.active = []
        pos = 0
        for j in group:
            _settle(j, results[pos: pos + len(j.items)])
            pos += len(j.items)


def _settle(job: Job, result: list | None = None, error: BaseException | None = None) -> None:
    """Give the job its result or error, unless its future was already cancelled."""
    try:
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)
    except InvalidStateError:
        pass
