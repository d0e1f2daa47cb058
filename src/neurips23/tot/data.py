"""Training data for the reproduction's tiny model, in the paper's Game of 24 formats.

Honest by construction: propose targets are uniformly random *legal* moves (the
proposer is not an oracle), value labels come from the exact solver, IO/CoT targets are
random solver traces, and the judge sees correct and corrupted answers. The strict
hold-out removes every state with two or more numbers that is reachable from a test
puzzle from propose and value training (one-number states only say "is this 24").
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from neurips23.lm.data import Example
from neurips23.tot.game24 import prompts
from neurips23.tot.game24.answer import check_answer, compose_answer
from neurips23.tot.game24.solver import all_multisets, int_solvable, legal_moves, reachable_states

State = tuple[int, ...]


def fmt(state: Sequence[int]) -> str:
    """A state as the paper writes it: "4 5 6 10"."""
    return " ".join(map(str, state))


def split_puzzles(candidates: Sequence[State], n_test: int, seed: int) -> tuple[list[State],
                                                                                 list[State]]:
    """(test, train) puzzles: `n_test` test puzzles drawn with `seed`, the rest for training."""
    rng = random.Random(seed)
    test = sorted(rng.sample(list(candidates), n_test))
    test_set = set(test)
    return test, [p for p in candidates if p not in test_set]


def held_out_states(test: Iterable[State], holdout: str = "strict") -> set[State]:
    """States excluded from propose/value training: all of ≥2 numbers reachable from test
    puzzles ("strict"), or the test puzzles alone ("puzzles")."""
    out: set[State] = set()
    for p in test:
        if holdout == "strict":
            out |= {s for s in reachable_states(p) if len(s) >= 2}
        else:
            out.add(tuple(sorted(p)))
    return out


def random_solution(state: State, rng: random.Random) -> list[str]:
    """A uniformly random path of legal moves that stays solvable (a solver trace)."""
    lines = []
    while len(state) > 1:
        good = [(line, nxt) for line, nxt in legal_moves(state) if int_solvable(nxt)]
        line, state = rng.choice(good)
        lines.append(line)
    return lines


def random_path(state: State, rng: random.Random) -> list[str]:
    """A uniformly random path of legal moves to one number (usually not 24)."""
    lines = []
    while len(state) > 1:
        line, state = rng.choice(legal_moves(state))
        lines.append(line)
    return lines


def corrupt_answer(x: State, answer: str, rng: random.Random) -> str | None:
    """A wrong version of a correct answer: a changed number or operator."""
    toks = answer.split(" ")
    for _ in range(20):
        t = list(toks)
        i = rng.randrange(len(t))
        core = t[i].strip("()")
        if core.isdigit():
            t[i] = t[i].replace(core, str(rng.randint(1, 13)))
        elif core in "+-*/":
            t[i] = rng.choice([o for o in "+-*/" if o != core])
        else:
            continue
        text = " ".join(t)
        if not check_answer(x, text):
            return text
    return None


def _walk(start: State, depth: int, rng: random.Random, solvable_only: bool) -> State:
    state = start
    for _ in range(depth):
        moves = [nxt for _, nxt in legal_moves(state) if not solvable_only or int_solvable(nxt)]
        state = rng.choice(moves)
    return state


def sample_state(starts: Sequence[State], held_out: set[State], rng: random.Random,
                 depths: Sequence[int], solvable: bool | None = None,
                 tries: int = 10_000) -> State:
    """A state met along a random legal path (a solution path if solvable=True) from a
    random start, not held out; with `solvable` set, one of that label."""
    for _ in range(tries):
        start = rng.choice(starts)
        if solvable and not int_solvable(start):
            continue
        s = _walk(start, rng.choice(depths), rng, solvable_only=bool(solvable))
        if s in held_out or (solvable is not None and int_solvable(s) != solvable):
            continue
        return s
    raise RuntimeError(f"no training state found for depths {depths}, solvable={solvable}")


def build_examples(train_puzzles: Sequence[State], held_out: set[State], seed: int,
                   counts: dict[str, int], propose_lines: int = 8) -> list[Example]:
    """The mixed training set: propose, value, cot, io and judge examples (zero-shot formats).

    States are drawn along random legal paths from the training multisets (the states a
    random proposer visits), never from the held-out set.
    """
    rng = random.Random(seed)
    train_set = set(train_puzzles)
    starts = [p for p in all_multisets() if p in train_set or p not in held_out]
    solvable_train = [p for p in train_puzzles if int_solvable(p)]
    out: list[Example] = []
    for _ in range(counts.get("propose", 0)):
        s = sample_state(starts, held_out, rng, depths=(0, 1, 2))
        moves = [line for line, _ in legal_moves(s)]
        pick = rng.sample(moves, min(propose_lines, len(moves)))
        out.append(Example(prompts.propose_prompt(fmt(s), False), "\n".join(pick)))
    for i in range(counts.get("value", 0)):
        label = i % 2 == 0  # balanced sure / impossible
        s = sample_state(starts, held_out, rng, depths=(1, 2, 3), solvable=label)
        out.append(Example(prompts.value_prompt(fmt(s), False),
                           "sure" if label else "impossible"))
    for _ in range(counts.get("cot", 0)):
        p = rng.choice(solvable_train)
        steps = random_solution(p, rng)
        answer = compose_answer(p, steps)
        out.append(Example(prompts.cot_prompt(fmt(p), False),
                           "\n".join(steps) + f"\nAnswer: {answer} = 24"))
    for _ in range(counts.get("io", 0)):
        p = rng.choice(solvable_train)
        answer = compose_answer(p, random_solution(p, rng))
        out.append(Example(prompts.io_prompt(fmt(p), False), f" {answer} = 24"))
    for i in range(counts.get("judge", 0)):
        p = rng.choice(solvable_train)
        answer = f"{compose_answer(p, random_solution(p, rng))} = 24"
        if i % 2 == 1:
            wrong = (corrupt_answer(p, answer, rng) if rng.random() < 0.5
                     else f"{compose_answer(p, random_path(p, rng))} = 24")
            if wrong is None or check_answer(p, wrong):
                continue
            out.append(Example(prompts.judge_prompt(fmt(p), wrong, False), "impossible"))
        else:
            out.append(Example(prompts.judge_prompt(fmt(p), answer, False), "sure"))
    rng.shuffle(out)
    return out


ALPHABET = "0123456789 +-*/=()\n:" + "".join(sorted(set(
    prompts.propose_prompt("", False) + prompts.judge_prompt("", "", False)
    + prompts.cot_prompt("", False) + "Answer: sure likely impossible left")))
"""Every character the zero-shot formats use (the tiny model's char vocabulary)."""
