"""Character-level integer arithmetic, the tasks of the paper's GPT-3 tests (§3):
2-digit × 2-digit multiplication and 4-digit + 4-digit addition.

A problem is a prompt such as "47*83=" and an answer of fixed width (zero-padded: 4 digits
for a product of two 2-digit numbers, 5 for a sum of two 4-digit numbers). With
`reverse=True` every number is written least-significant digit first ("74*38=1093" for
47 × 83 = 3901): a left-to-right model then meets the digits in the order carries flow, and
the digits it combines sit at fixed relative offsets, which tiny models learn far faster.
The first L answer tokens are then the L lowest digits. "Target length L" is the number of
leading answer tokens a metric scores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from neurips23.errors import ConfigError

ALPHABET = "0123456789+*="


@dataclass(frozen=True)
class ArithmeticTask:
    """Two operands of `digits` digits each, combined by `op` ("*" or "+")."""

    name: str
    op: str
    digits: int

    @property
    def answer_width(self) -> int:
        return 2 * self.digits if self.op == "*" else self.digits + 1

    @property
    def operand_range(self) -> tuple[int, int]:
        return 10 ** (self.digits - 1), 10**self.digits - 1

    def prompt(self, a: int, b: int, reverse: bool = True) -> str:
        if reverse:
            return f"{str(a)[::-1]}{self.op}{str(b)[::-1]}="
        return f"{a}{self.op}{b}="

    def answer(self, a: int, b: int, reverse: bool = True) -> str:
        value = a * b if self.op == "*" else a + b
        text = str(value).zfill(self.answer_width)
        return text[::-1] if reverse else text


TASKS = {
    "mult_2x2": ArithmeticTask("mult_2x2", "*", 2),
    "add_4x4": ArithmeticTask("add_4x4", "+", 4),
}


def get_task(name: str) -> ArithmeticTask:
    """A task by name, or a ConfigError listing the names."""
    if name not in TASKS:
        raise ConfigError(f"unknown arithmetic task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]


def split_problems(
    task: ArithmeticTask, n_train: int, n_test: int, seed: int = 0
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Disjoint (train, test) operand pairs. The test set depends only on (task, n_test, seed),
    and a smaller test set is a prefix of a larger one (the "standard" vs "larger" test set of
    prediction 2). n_train < 0 takes every problem not in the test set."""
    lo, hi = task.operand_range
    width = hi - lo + 1
    space = width**2
    if n_test <= 0:
        raise ConfigError(f"{task.name}: test size must be positive, got {n_test}")
    if n_test + max(n_train, 0) > space:
        raise ConfigError(f"{task.name}: {n_train} train + {n_test} test problems exceed the "
                          f"{space} distinct problems")
    test_rng = random.Random(f"{task.name}-test-{seed}")
    test_ids: list[int] = []
    seen: set[int] = set()
    while len(test_ids) < n_test:  # sequential draws: a prefix property for any n_test
        i = test_rng.randrange(space)
        if i not in seen:
            seen.add(i)
            test_ids.append(i)
    train_rng = random.Random(f"{task.name}-train-{seed}")
    if n_train < 0 or n_train > (space - n_test) // 2:
        rest = [i for i in range(space) if i not in seen]
        train_rng.shuffle(rest)
        train_ids = rest if n_train < 0 else rest[:n_train]
    else:
        train_ids, taken = [], set(seen)
        while len(train_ids) < n_train:
            i = train_rng.randrange(space)
            if i not in taken:
                taken.add(i)
                train_ids.append(i)

    def pair(i: int) -> tuple[int, int]:
        return lo + i // width, lo + i % width

    return [pair(i) for i in train_ids], [pair(i) for i in test_ids]
