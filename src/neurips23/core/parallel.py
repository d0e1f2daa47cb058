"""Units in parallel: the one helper every reproduction uses to run its per-unit work (a seed,
a world, a shard), in input order whatever order the workers finish in.

Workers die with their parent: each watches for the parent's death (Linux's parent-death
signal, and a poll of the parent's pid elsewhere), and an interrupted parent (Ctrl-C, SIGTERM)
terminates its workers before it exits. While a reproduction runs, each finished unit is saved
in the run folder (`core.units`) and a resumed run reuses it."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def worker_count(workers: int, key: str = "workers") -> int:
    """The one rule for a `workers` setting, every method's: the number of worker processes to
    start (1: this process only); 0 means the same as 1; a negative count is a ConfigError."""
    from neurips23.errors import ConfigError

    if isinstance(workers, bool) or not isinstance(workers, int):
        raise ConfigError(f"{key} = {workers!r}: expected a whole number of worker processes")
    if workers < 0:
        raise ConfigError(f"{key} = {workers}: cannot be negative (N > 1 runs N worker "
                          "processes; 0 or 1 runs everything in this process)")
    return max(1, workers)


def _init_worker(parent: int) -> None:
    from neurips23.utils import quiet_third_party, set_torch_threads

    die_with_parent(parent)
    set_torch_threads(1)  # workers share the cores: one torch thread each
    quiet_third_party()  # a spawned process starts with logging unset: as quiet as the parent


def die_with_parent(parent: int, poll_seconds: float = 0.5) -> None:
    """End this process when process `parent` ends, however it ends (SIGKILL included): the
    kernel's parent-death signal on Linux, and a watcher thread polling the parent's pid."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the signal was set up
        os._exit(1)

    def watch() -> None:
        import time

        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def map_units(fn: Callable[[Any], T], units: Sequence[Any], workers: int = 1,
              log: Callable[[str], Any] | None = None, unit: str = "seed") -> list[T]:
    """[fn(u) for u in units] in input order: the unit of parallel work (a seed, a world, a
    shard of facts, a (world, condition) job), in `workers` spawned processes when > 1.

    `fn` must be picklable when workers > 1 (a module-level function or a functools.partial
    of one). Results come back in the order of `units` whatever order they finish in, so a
    run's records do not depend on scheduling. `unit` names the items in the progress lines
    ("seed 3 done (2/4)"; a method whose items are jobs or shards says so). Inside a
    reproduction, finished units are saved in the run folder and reused on a resume.
    """
    from neurips23.core.units import MISSING, active_store, function_name

    units = list(units)
    workers = worker_count(workers)
    store, name = active_store(), function_name(fn)
    call = store.next_call() if store is not None else 0
    results: dict[int, T] = {}
    if store is not None:
        for i, s in enumerate(units):
            value = store.get(call, name, s)
            if value is not MISSING:
                results[i] = value
        if results and log:
            log(f"reusing {len(results)} finished {unit}(s) of the interrupted run")

    todo = [i for i in range(len(units)) if i not in results]
    serial = workers <= 1 or len(todo) <= 1

    def done(i: int, value: T) -> None:
        results[i] = value
        if store is not None:
            store.put(call, name, units[i], value)
        if log:
            log(f"{unit} {units[i]} done" + ("" if serial else f" ({len(results)}/{len(units)})"))

    if serial:
        for i in todo:
            done(i, fn(units[i]))
    else:
        _in_pool(fn, units, todo, min(workers, len(todo)), done)
    return [results[i] for i in range(len(units))]


def _in_pool(fn: Callable[[Any], T], units: list[Any], todo: list[int], workers: int,
             done: Callable[[int, T], None]) -> None:
    """Run fn(units[i]) for i in todo in spawned workers; on any exception or interruption
    here, the workers are terminated before it propagates (none outlives the run)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_worker, initargs=(os.getpid(),))
    try:
        futures = {pool.submit(fn, units[i]): i for i in todo}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _terminate(pool: Any) -> None:
    """Stop a process pool now: queued work cancelled, running workers terminated."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
