"""A scripted LanguageModel for ToT tests: answers Game of 24 prompts from the exact solver.

It reads only the last block of a prompt (so it serves the few-shot and zero-shot forms),
records every backend call, and counts usage like a real backend (one call per prompt,
whitespace tokens).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from neurips23.tot.game24 import check_answer, compose_answer, int_solvable, legal_moves, solve
from neurips23.tot.game24.prompts import COT, STANDARD


@dataclass
class FakeUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class FakeGame24LM:
    """Proposes legal moves (optionally shuffled / capped / "left" reversed), values exactly."""

    max_lines: int | None = None
    reverse_left: bool = False
    duplicate_lines: bool = False
    value_noise: float = 0.0
    always_impossible: bool = False
    seed: int = 0
    name: str = "fake-game24"
    usage: FakeUsage = field(default_factory=FakeUsage)
    calls: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, prompts, n)
    prompts_seen: list[str] = field(default_factory=list)

    def _kind(self, prompt: str) -> str:
        last = prompt.split("Input: ")[-1]
        if prompt.endswith("Possible next steps:\n"):
            return "propose"
        if prompt.endswith("Judge:\n"):
            return "judge"
        if "Steps:\n" in last and "(left: 24)" in last:
            return "answer"
        if prompt.endswith("Answer:") or prompt.startswith(STANDARD):
            return "io"
        if prompt.endswith("Steps:\n") or prompt.startswith(COT):
            return "cot"
        return "value"

    def _one(self, prompt: str, rng: random.Random) -> str:
        kind = self._kind(prompt)
        last = prompt.split("Input: ")[-1]
        if kind == "propose":
            nums = tuple(sorted(int(t) for t in last.split("\n")[0].split()))
            lines = [line for line, _ in legal_moves(nums)]
            rng.shuffle(lines)
            if self.max_lines:
                lines = lines[: self.max_lines]
            if self.reverse_left:
                lines = [re.sub(r"\(left: ([^)]*)\)",
                                lambda m: "(left: " + " ".join(reversed(m.group(1).split())) + ")",
                                line) for line in lines]
            if self.duplicate_lines and lines:
                lines = lines + lines[:1]
            return "\n".join(lines)
        if kind == "answer":
            x = [int(t) for t in last.split("\n")[0].split()]
            steps = [s for s in last.split("Steps:\n")[1].split("\n") if s.strip()]
            expr = compose_answer(x, steps)
            return f"Answer: {expr} = 24" if expr else "Answer: 1 = 24"
        if kind == "judge":
            x = [int(t) for t in last.split("\n")[0].split()]
            answer = last.split("\n")[1]
            return "sure" if check_answer(x, answer) else "impossible"
        if kind in ("io", "cot"):
            x = tuple(int(t) for t in last.split("\n")[0].split())
            sol = solve(x) if rng.random() < 0.5 else None
            return f"Answer: {sol or '1 + 1'} = 24"
        nums = tuple(sorted(int(t) for t in prompt.rstrip("\n").split("\n")[-1].split()))
        good = int_solvable(nums) and not self.always_impossible
        if rng.random() < self.value_noise:
            good = not good
        return "sure" if good else "impossible"

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        rng = random.Random(f"{self.seed}-{seed}")
        outs = [[self._one(p, rng) for _ in range(n)] for p in prompts]
        kinds = {self._kind(p) for p in prompts}
        self.calls.append(("+".join(sorted(kinds)), len(prompts), n))
        self.prompts_seen.extend(prompts)
        self.usage.calls += len(prompts)
        self.usage.prompt_tokens += sum(len(p.split()) for p in prompts)
        self.usage.completion_tokens += sum(len(s.split()) for o in outs for s in o)
        return outs

    def chat(self, conversations, n=1, temperature=0.0, max_tokens=64, stop=(), seed=None):
        return self.generate([c[-1]["content"] for c in conversations], n, temperature,
                             max_tokens, stop, seed=seed)


@dataclass
class ScriptedLM:
    """Returns canned outputs in order (for hand-worked cases)."""

    outputs: list[list[list[str]]]
    name: str = "scripted"
    usage: FakeUsage = field(default_factory=FakeUsage)
    prompts_seen: list[list[str]] = field(default_factory=list)

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        self.prompts_seen.append(list(prompts))
        out = self.outputs.pop(0)
        assert len(out) == len(prompts) and all(len(o) == n for o in out)
        self.usage.calls += len(prompts)
        self.usage.prompt_tokens += 10 * len(prompts)
        self.usage.completion_tokens += 5 * len(prompts) * n
        return out
