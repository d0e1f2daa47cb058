"""The one interface every inference-time method talks to: generate, chat, score, usage."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from neurips23.lm.generate import Score

__all__ = ["GPT4_PRICES", "LanguageModel", "Prices", "Score", "Usage", "render_chat"]


@dataclass(frozen=True)
class Prices:
    """US dollars per 1,000 prompt and completion tokens (e.g. `GPT4_PRICES`)."""

    prompt_per_1k: float = 0.0
    completion_per_1k: float = 0.0

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """Dollars for the given token counts."""
        return (prompt_tokens * self.prompt_per_1k
                + completion_tokens * self.completion_per_1k) / 1000.0


GPT4_PRICES = Prices(0.03, 0.06)
"""GPT-4 (8k) prices the ToT paper's cost figures use (App. B): $0.03 in, $0.06 out per 1k."""


@dataclass
class Usage:
    """Model calls and tokens: a backend's running total (thread-safe increments) or one
    problem's share of batched calls (fractional counts), priced with `Prices`."""

    calls: float = 0
    prompt_tokens: float = 0
    completion_tokens: float = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, calls: float = 0, prompt_tokens: float = 0, completion_tokens: float = 0) -> None:
        """Count more calls and tokens."""
        with self._lock:
            self.calls += calls
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def add_usage(self, other: Usage) -> None:
        """Accumulate another usage into this one."""
        self.add(other.calls, other.prompt_tokens, other.completion_tokens)

    def cost(self, prices: Prices) -> float:
        """Dollars spent at `prices`."""
        return prices.cost(self.prompt_tokens, self.completion_tokens)

    def snapshot(self) -> dict[str, float]:
        """The counts as a plain dict."""
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens}

    def as_dict(self, prices: Prices | None = None) -> dict[str, float]:
        """The counts rounded to 2 decimals, with `cost_usd` when prices are given."""
        out = {k: round(v, 2) for k, v in self.snapshot().items()}
        if prices is not None:
            out["cost_usd"] = round(self.cost(prices), 6)
        return out


@runtime_checkable
class LanguageModel(Protocol):
    """What Tree of Thoughts, planning, Toolformer and evaluation need from a model."""

    name: str
    usage: Usage

    def generate(self, prompts: Sequence[str], n: int = 1, temperature: float = 0.0,
                 max_tokens: int = 64, stop: Sequence[str] = (), top_p: float = 1.0,
                 seed: int | None = None) -> list[list[str]]: ...

    def chat(self, conversations: Sequence[list[dict]], n: int = 1, temperature: float = 0.0,
             max_tokens: int = 64, stop: Sequence[str] = (),
             seed: int | None = None) -> list[list[str]]: ...

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Score]: ...


def render_chat(tokenizer, messages: list[dict]) -> str:
    """A conversation as one prompt: the tokenizer's chat template, else plain 'role: text' turns."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    lines = [f"{m['role']}: {m['content']}" if m["role"] != "user" or len(messages) > 1
             else m["content"] for m in messages]
    text = "\n".join(lines)
    return text + "\nassistant:" if len(messages) > 1 else text
