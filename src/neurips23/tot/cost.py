"""Cost accounting per problem: model calls, prompt/completion tokens, money at set prices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Prices:
    """US dollars per 1,000 tokens; defaults are the paper's GPT-4 prices (App. B)."""

    prompt_per_1k: float = 0.03
    completion_per_1k: float = 0.06


@dataclass
class Cost:
    """What one problem cost. Shares of a batched call are split by prompt/output length."""

    calls: float = 0.0
    prompt_tokens: float = 0.0
    completion_tokens: float = 0.0

    def money(self, prices: Prices) -> float:
        """Dollars at `prices`."""
        return (self.prompt_tokens * prices.prompt_per_1k
                + self.completion_tokens * prices.completion_per_1k) / 1000.0

    def add(self, other: Cost) -> None:
        """Accumulate `other` into this cost."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens

    def as_dict(self, prices: Prices | None = None) -> dict[str, float]:
        """Plain dict (rounded), with `cost_usd` when prices are given."""
        out = {k: round(v, 2) for k, v in asdict(self).items()}
        if prices is not None:
            out["cost_usd"] = round(self.money(prices), 6)
        return out


def _usage(model: Any) -> tuple[float, float, float]:
    usage = getattr(model, "usage", None)
    if usage is None:
        return (0.0, 0.0, 0.0)
    return (float(getattr(usage, "calls", 0)), float(getattr(usage, "prompt_tokens", 0)),
            float(getattr(usage, "completion_tokens", 0)))


@dataclass
class Meter:
    """Calls a `LanguageModel` and charges each prompt's share of the usage to its owner."""

    model: Any
    chat: bool = False
    costs: dict[Any, Cost] = field(default_factory=dict)

    def complete(self, prompts: Sequence[str], owners: Sequence[Any], *, n: int = 1,
                 temperature: float = 0.7, max_tokens: int = 64,
                 stop: Sequence[str] = (), seed: int | None = None) -> list[list[str]]:
        """`n` completions per prompt in one backend call; usage split among `owners`."""
        if not prompts:
            return []
        before = _usage(self.model)
        if self.chat:
            convs = [[{"role": "user", "content": p}] for p in prompts]
            outs = self.model.chat(convs, n=n, temperature=temperature, max_tokens=max_tokens,
                                   stop=tuple(stop), seed=seed)
        else:
            outs = self.model.generate(list(prompts), n=n, temperature=temperature,
                                       max_tokens=max_tokens, stop=tuple(stop), seed=seed)
        after = _usage(self.model)
        d_calls, d_prompt, d_completion = (a - b for a, b in zip(after, before, strict=True))
        if d_calls == 0 and d_prompt == 0 and d_completion == 0:
            d_calls = float(len(prompts))  # a backend without usage: count requests only
        p_w = [len(p) + 1 for p in prompts]
        c_w = [sum(len(s) for s in o) + 1 for o in outs]
        for owner, pw, cw in zip(owners, p_w, c_w, strict=True):
            cost = self.costs.setdefault(owner, Cost())
            cost.calls += d_calls / len(prompts)
            cost.prompt_tokens += d_prompt * pw / sum(p_w)
            cost.completion_tokens += d_completion * cw / sum(c_w)
        return outs
