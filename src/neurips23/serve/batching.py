"""The model worker: one thread owns the model and micro-batches the requests waiting for it.

torch modules are not safe to call from many threads, so every request hands its work to
one worker thread. Whatever requests are waiting when the worker becomes free (or arrive
within a short gathering window after the first, so that a client's concurrent requests meet),
and share sampling settings, go to the model as one batch. Seeded sampling (temperature > 0 with a
seed) is never joined with other requests, so a seed gives the same text however busy the
server is. A failing joined call is retried request by request, so one bad request fails alone.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    """One request's share of work: `items` for `run(kind, params, items)`."""

    kind: str
    params: tuple  # hashable settings; jobs with equal (kind, params) may share a call
    items: list
    batchable: bool
    future: Future = field(default_factory=Future)


def params_key(params: dict[str, Any]) -> tuple:
    """A hashable, order-independent form of a settings dict (lists become tuples)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


class MicroBatcher:
    """Runs `call(kind, params, items) -> results` (one result per item) on one thread,
    joining waiting jobs of equal (kind, params) into one call."""

    def __init__(self, call: Callable[[str, dict, list], list], gather_s: float = 0.02) -> None:
        self._call_fn = call
        self.gather_s = gather_s  # how long the first waiting job waits for company
        self.calls = 0  # model calls made (a test checks that concurrent requests share them)
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, kind: str, params: dict, items: list, batchable: bool = True) -> list:
        """The results of `items` (possibly computed together with other requests' items)."""
        self._ensure_started()
        job = Job(kind, params_key(params), items, batchable)
        self._queue.put(job)
        return job.future.result()

    def close(self) -> None:
        """Stop the worker thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="serve-model",
                                                daemon=True)
                self._thread.start()

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
            for group in groups.values():
                self._run(group)

    def _run(self, group: list[Job]) -> None:
        items = [x for j in group for x in j.items]
        try:
            self.calls += 1
            results = self._call_fn(group[0].kind, dict(group[0].params), items)
            if len(results) != len(items):
                raise RuntimeError(f"the model's {group[0].kind} returned {len(results)} "
                                   f"results for {len(items)} inputs")
        except Exception as e:
            if len(group) == 1:
                group[0].future.set_exception(e)
            else:
                for j in group:
                    self._run([j])
            return
        pos = 0
        for j in group:
            j.future.set_result(results[pos: pos + len(j.items)])
            pos += len(j.items)
