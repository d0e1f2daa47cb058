"""Synthetic tasks for the substrate: tiny, exactly checkable, generated from a seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from neurips23.lm.data import Example


@dataclass(frozen=True)
class Task:
    """A synthetic task: examples from a seed, and the characters its text uses."""

    name: str
    make: Callable[[int, int], list[Example]]  # (n, seed) -> examples
    alphabet: str
    description: str


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Add a task to the registry used by `neurips23 models train`."""
    TASKS[task.name] = task
    return task


def _digits(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(lo, hi)))


def _reverse(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = _digits(rng, 3, 8)
        out.append(Example(f"rev {s} =", f" {s[::-1]}"))
    return out


def _add(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        out.append(Example(f"{a}+{b}=", f"{a + b}"))
    return out


def _sort(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s = _digits(rng, 3, 8)
        out.append(Example(f"sort {s} =", f" {''.join(sorted(s))}"))
    return out


register_task(Task("reverse", _reverse, "0123456789rev =",
                   "reverse a string of 3-8 digits"))
register_task(Task("add", _add, "0123456789+=", "add two integers below 1000"))
register_task(Task("sort", _sort, "0123456789sort =", "sort the digits of a 3-8 digit string"))


def get_task(name: str) -> Task:
    """The registered task `name`, or a clear error listing the choices."""
    if name not in TASKS:
        from neurips23.errors import ConfigError
        raise ConfigError(f"unknown task {name!r}; choose from {', '.join(sorted(TASKS))}")
    return TASKS[name]
