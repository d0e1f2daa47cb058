"""Cost per problem: each prompt of a batched call is charged its share of the backend's usage
(`lm.backends.Usage`, priced with `lm.backends.Prices`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from neurips23.lm.backends.base import Usage


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
    costs: dict[Any, Usage] = field(default_factory=dict)

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
            cost = self.costs.setdefault(owner, Usage())
            cost.calls += d_calls / len(prompts)
            cost.prompt_tokens += d_prompt * pw / sum(p_w)
            cost.completion_tokens += d_completion * cw / sum(c_w)
        return outs
