"""The one interface every inference-time method talks to: generate, chat, score, usage."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from neurips23.lm.generate import Score

__all__ = ["LanguageModel", "Usage", "Score", "render_chat"]


@dataclass
class Usage:
    """Token and call accounting of a backend (thread-safe increments)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, calls: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def cost(self, prompt_price_per_1k: float = 0.0, completion_price_per_1k: float = 0.0) -> float:
        """Money spent at the given prices per 1,000 tokens."""
        return (self.prompt_tokens * prompt_price_per_1k
                + self.completion_tokens * completion_price_per_1k) / 1000.0

    def snapshot(self) -> dict[str, int]:
        return {"calls": self.calls, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens}


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
