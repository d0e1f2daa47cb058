"""Synthetic tasks for the substrate: tiny, exactly checkable, generated from a seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from neurips23.lm.data import Example


@dataclass(frozen=True)
class SyntheticTask:
    """A synthetic task: examples from a seed, and the characters its text uses."""

    name: str
    make: Callable[[int, int], list[Example]]  # (n, seed) -> examples
    alphabet: str
    description: str


TASKS: dict[str, SyntheticTask] = {}


def register_task(task: SyntheticTask) -> SyntheticTask:
    """Add a task to the registry used by `neurips23 models train`."""
    TASKS[task.name] = task
    return task


def _digits(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(rng.randint(lo, hi)))


def _digit_string_task(op: str, f: Callable[[str], str]) -> Callable[[int, int], list[Example]]:
    """Examples "<op> <3-8 digits> =" -> " <f(digits)>"."""
    def make(n: int, seed: int) -> list[Example]:
        rng = random.Random(seed)
        return [Example(f"{op} {s} =", f" {f(s)}") for s in (_digits(rng, 3, 8) for _ in range(n))]

    return make


def _add(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(0, 999), rng.randint(0, 999)
        out.append(Example(f"{a}+{b}=", f"{a + b}"))
    return out


_reverse = _digit_string_task("rev", lambda s: s[::-1])
_sort = _digit_string_task("sort", lambda s: "".join(sorted(s)))


register_task(SyntheticTask("reverse", _reverse, "0123456789rev =",
                   "reverse a string of 3-8 digits"))
register_task(SyntheticTask("add", _add, "0123456789+=", "add two integers below 1000"))
register_task(SyntheticTask("sort", _sort, "0123456789sort =", "sort the digits of a 3-8 digit string"))


def get_task(name: str) -> SyntheticTask:
    """The registered task `name`, or a clear error listing the choices."""
    if name not in TASKS:
        from neurips23.errors import ConfigError
        raise ConfigError(f"unknown task {name!r}; choose from {', '.join(sorted(TASKS))}")
    return TASKS[name]
