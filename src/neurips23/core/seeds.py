"""Seeds in parallel: one helper every reproduction uses to run its per-seed work."""

from __future__ import annotations

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


def _init_worker() -> None:
    from neurips23.utils import quiet_third_party, set_torch_threads

    set_torch_threads(1)  # workers share the cores: one torch thread each
    quiet_third_party()  # a spawned process starts with logging unset: as quiet as the parent


def map_seeds(fn: Callable[[int], T], seeds: Sequence[int], workers: int = 1,
              log: Callable[[str], Any] | None = None, unit: str = "seed") -> list[T]:
    """[fn(seed) for seed in seeds], in seed order; in `workers` spawned processes when > 1.

    `fn` must be picklable when workers > 1 (a module-level function or a functools.partial
    of one). Results come back in the order of `seeds` whatever order they finish in, so a
    run's records do not depend on scheduling. `unit` names the items in the progress lines
    ("seed 3 done (2/4)"; a method whose items are jobs or shards says so).
    """
    seeds = list(seeds)
    workers = worker_count(workers)
    if workers <= 1 or len(seeds) <= 1:
        out = []
        for s in seeds:
            out.append(fn(s))
            if log:
                log(f"{unit} {s} done")
        return out
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: dict[int, T] = {}
    with ProcessPoolExecutor(min(workers, len(seeds)), mp_context=mp.get_context("spawn"),
                             initializer=_init_worker) as pool:
        futures = {pool.submit(fn, s): i for i, s in enumerate(seeds)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if log:
                log(f"{unit} {seeds[i]} done ({len(results)}/{len(seeds)})")
    return [results[i] for i in range(len(seeds))]
