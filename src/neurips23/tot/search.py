"""ToT search (paper §3): BFS (Algorithm 1), DFS (Algorithm 2), and IO/CoT/CoT-SC sampling.

Every search takes any `LanguageModel` (`neurips23.lm.backends`) and any `ThoughtTask`.
BFS runs many problems in lockstep so each step's generation prompts, and then all its
uncached value prompts, go to the backend as one batch each. Values are cached by the
task's canonical state key (`ThoughtTask.value_key`), shared by all problems of the call.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from neurips23.errors import ConfigError
from neurips23.lm.backends.base import Usage
from neurips23.tot.meter import Meter
from neurips23.tot.task import ThoughtTask

GENERATE = ("propose", "sample")
EVALUATE = ("value", "vote", "random", "oracle")
SELECT = ("greedy", "sample")


@dataclass
class BFSConfig:
    """ToT-BFS settings; defaults are the paper's Game of 24 run (propose/value/greedy, b=5)."""

    generate: str = "propose"
    evaluate: str = "value"
    select: str = "greedy"
    n_generate: int = 1
    n_evaluate: int = 3
    n_select: int = 5
    temperature: float = 0.7
    max_tokens: int = 1000
    value_max_tokens: int = 1000
    cot: bool = True
    seed: int = 0

    def validate(self) -> None:
        """Raise ConfigError for an unknown mode or a non-positive count."""
        for name, allowed in (("generate", GENERATE), ("evaluate", EVALUATE),
                              ("select", SELECT)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r}: expected one of {allowed}")
        for name in ("n_generate", "n_evaluate", "n_select", "max_tokens", "value_max_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)}: must be at least 1")


@dataclass
class StepTrace:
    """One BFS step of one problem: candidates, their values, the selected states."""

    step: int
    candidates: list[str]
    values: list[float]
    selected: list[str]


@dataclass
class SearchResult:
    """Final states of one problem, best first, with the search trace and its cost."""

    x: str
    finals: list[str]
    values: list[float]
    trace: list[StepTrace] = field(default_factory=list)
    cost: Usage = field(default_factory=Usage)

    @property
    def top(self) -> str:
        """The single highest-valued final state ("" if the search ended empty)."""
        return self.finals[0] if self.finals else ""


class _Caller:
    """Numbers the backend calls of one search so sampling seeds are reproducible."""

    def __init__(self, meter: Meter, seed: int) -> None:
        self.meter, self.seed, self.count = meter, seed, 0

    def __call__(self, prompts: Sequence[str], owners: Sequence[Any], **kw: Any) -> list[list[str]]:
        self.count += 1
        return self.meter.complete(prompts, owners, seed=self.seed * 100_003 + self.count, **kw)


def evaluate_states(task: ThoughtTask, call: _Caller, items: Sequence[tuple[Any, str, str]],
                    cfg: BFSConfig, cache: dict[Hashable, float], rng: random.Random
                    ) -> list[float]:
    """Values of (owner, x, y) states; all uncached value prompts go out as one batch."""
    values: list[float | None] = [None] * len(items)
    pending: dict[Hashable, tuple[Any, str, str]] = {}
    for i, (owner, x, y) in enumerate(items):
        fixed = task.fixed_value(x, y)
        if fixed is not None:
            values[i] = fixed
        elif cfg.evaluate == "random":
            values[i] = rng.random()
        elif cfg.evaluate == "oracle":
            values[i] = task.oracle_value(x, y, cfg.n_evaluate)  # type: ignore[attr-defined]
        else:
            key = task.value_key(x, y)
            if key not in cache:
                pending.setdefault(key, (owner, x, y))
    if pending:
        keys = list(pending)
        outs = call([task.value_prompt(x, y) for _, x, y in pending.values()],
                    [owner for owner, _, _ in pending.values()], n=cfg.n_evaluate,
                    temperature=cfg.temperature, max_tokens=cfg.value_max_tokens,
                    stop=task.value_stop)
        for key, (_, x, y), out in zip(keys, pending.values(), outs, strict=True):
            cache[key] = task.parse_value(x, y, out)
    return [v if v is not None else cache[task.value_key(x, y)]
            for v, (_, x, y) in zip(values, items, strict=True)]


def select_states(candidates: Sequence[str], values: Sequence[float], cfg: BFSConfig,
                  rng: random.Random) -> list[str]:
    """Greedy top-b (stable on ties), or b draws with replacement proportional to value."""
    if not candidates:
        return []
    if cfg.select == "greedy":
        order = sorted(range(len(candidates)), key=lambda i: -values[i])
        return [candidates[i] for i in order[: cfg.n_select]]
    total = sum(values)
    weights = [v / total for v in values] if total > 0 else None
    picks = rng.choices(range(len(candidates)), weights=weights, k=cfg.n_select)
    return [candidates[i] for i in picks]


def bfs(task: ThoughtTask, model: Any, xs: Sequence[str], cfg: BFSConfig | None = None, *,
        chat: bool = False, cache: dict[Hashable, float] | None = None,
        meter: Meter | None = None,
        on_step: Callable[[int], None] | None = None) -> list[SearchResult]:
    """ToT-BFS (Algorithm 1) on every problem in `xs`, in lockstep over the task's steps;
    `on_step(k)` is called after step k (1-based) of all problems, for progress."""
    cfg = cfg or BFSConfig()
    cfg.validate()
    meter = meter or Meter(model, chat=chat)
    call = _Caller(meter, cfg.seed)
    rng = random.Random(cfg.seed)
    cache = {} if cache is None else cache
    ys: list[list[str]] = [[""] for _ in xs]
    last_values: list[list[float]] = [[0.0] for _ in xs]
    traces: list[list[StepTrace]] = [[] for _ in xs]
    for step in range(task.steps):
        # generation: one batch for all states of all problems
        owners = [p for p, states in enumerate(ys) for _ in states]
        parents = [(p, y) for p, states in enumerate(ys) for y in states]
        candidates: list[list[str]] = [[] for _ in xs]
        if cfg.generate == "propose":
            outs = call([task.propose_prompt(xs[p], y) for p, y in parents], owners, n=1,
                        temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                        stop=task.propose_stop)
            for (p, y), out in zip(parents, outs, strict=True):
                candidates[p].extend(task.parse_proposals(xs[p], y, out[0]))
        else:
            outs = call([task.sample_prompt(xs[p], y, cfg.cot) for p, y in parents], owners,
                        n=cfg.n_generate, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                        stop=task.propose_stop)
            for (p, y), out in zip(parents, outs, strict=True):
                candidates[p].extend(y + s for s in out)
        candidates = [list(dict.fromkeys(c)) for c in candidates]  # duplicates removed
        # evaluation: one batch of uncached value prompts (or one vote prompt per problem)
        if cfg.evaluate == "vote":
            live = [p for p in range(len(xs)) if candidates[p]]
            outs = call([task.vote_prompt(xs[p], candidates[p]) for p in live], live,
                        n=cfg.n_evaluate, temperature=cfg.temperature,
                        max_tokens=cfg.value_max_tokens, stop=())
            values = [[] for _ in xs]
            for p, out in zip(live, outs, strict=True):
                values[p] = task.parse_votes(xs[p], candidates[p], out)
        else:
            items = [(p, xs[p], y) for p in range(len(xs)) for y in candidates[p]]
            flat = evaluate_states(task, call, items, cfg, cache, rng)
            values, k = [], 0
            for p in range(len(xs)):
                values.append(flat[k: k + len(candidates[p])])
                k += len(candidates[p])
        # selection
        for p in range(len(xs)):
            chosen = select_states(candidates[p], values[p], cfg, rng)
            value_of = dict(zip(candidates[p], values[p], strict=True))
            traces[p].append(StepTrace(step, candidates[p], values[p], chosen))
            ys[p] = chosen
            last_values[p] = [value_of[y] for y in chosen]
        if on_step is not None:
            on_step(step + 1)
    results = []
    for p, x in enumerate(xs):
        order = sorted(range(len(ys[p])), key=lambda i: -last_values[p][i])
        results.append(SearchResult(x, [ys[p][i] for i in order],
                                    [last_values[p][i] for i in order], traces[p],
                                    meter.costs.get(p, Usage())))
    return results


@dataclass
class DFSConfig:
    """ToT-DFS settings (Algorithm 2): prune below `threshold`, at most `max_nodes` expanded."""

    threshold: float = 1.0
    max_children: int = 5
    max_nodes: int = 100
    stop_on_final: bool = True
    evaluate: str = "value"
    n_evaluate: int = 3
    temperature: float = 0.7
    max_tokens: int = 1000
    value_max_tokens: int = 1000
    seed: int = 0


def dfs(task: ThoughtTask, model: Any, x: str, cfg: DFSConfig | None = None, *, chat: bool = False,
        cache: dict[Hashable, float] | None = None, meter: Meter | None = None) -> SearchResult:
    """ToT-DFS (Algorithm 2): expand the best child first, prune values <= threshold, backtrack.

    Returns the best state reached: the deepest, highest-valued one (`finals[0]`).
    """
    cfg = cfg or DFSConfig()
    if cfg.evaluate != "value":
        raise ConfigError(f"DFS evaluate={cfg.evaluate!r}: DFS prunes by value, so only 'value' works")
    if cfg.max_children < 1 or cfg.max_nodes < 1:
        raise ConfigError("DFS max_children and max_nodes must be at least 1")
    bcfg = BFSConfig(evaluate=cfg.evaluate, n_evaluate=cfg.n_evaluate,
                     temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                     value_max_tokens=cfg.value_max_tokens, seed=cfg.seed)
    bcfg.validate()
    meter = meter or Meter(model, chat=chat)
    call = _Caller(meter, cfg.seed)
    rng = random.Random(cfg.seed)
    cache = {} if cache is None else cache
    reached: list[tuple[int, float, int, str]] = []  # (depth, value, order, state)
    trace: list[StepTrace] = []
    expanded = 0

    def visit(y: str, depth: int, value: float) -> bool:
        nonlocal expanded
        reached.append((depth, value, len(reached), y))
        if depth == task.steps:
            return cfg.stop_on_final and value > cfg.threshold
        if expanded >= cfg.max_nodes:
            return False
        expanded += 1
        out = call([task.propose_prompt(x, y)], [0], n=1, temperature=cfg.temperature,
                   max_tokens=cfg.max_tokens, stop=task.propose_stop)[0][0]
        children = list(dict.fromkeys(task.parse_proposals(x, y, out)))
        values = evaluate_states(task, call, [(0, x, c) for c in children], bcfg, cache, rng)
        order = sorted(range(len(children)), key=lambda i: -values[i])[: cfg.max_children]
        kept = [children[i] for i in order if values[i] > cfg.threshold]
        trace.append(StepTrace(depth, children, values, kept))
        for i in order:
            if values[i] > cfg.threshold and visit(children[i], depth + 1, values[i]):
                return True
        return False

    visit("", 0, 0.0)
    best = sorted(reached, key=lambda r: (-r[0], -r[1], r[2]))
    deepest = [r for r in best if r[0] == best[0][0]]
    return SearchResult(x, [r[3] for r in deepest], [r[1] for r in deepest], trace,
                        meter.costs.get(0, Usage()))


@dataclass
class SampleResult:
    """k IO or CoT samples of one problem: per-sample correctness and the majority answer."""

    x: str
    samples: list[str]
    correct: list[bool]
    majority: str
    majority_correct: bool
    cost: Usage

    @property
    def mean(self) -> float:
        """Average success over samples (the paper's IO/CoT success)."""
        return sum(self.correct) / len(self.correct) if self.correct else 0.0

    @property
    def any(self) -> bool:
        """Best-of-k: some sample is correct (needs a verifier to pick it)."""
        return any(self.correct)


def _answer_key(task: ThoughtTask, x: str, text: str) -> str:
    line = task.final_answer(x, text).lower().replace("answer:", "")
    return "".join(line.split("=")[0].split())


def sample_baseline(task: ThoughtTask, model: Any, xs: Sequence[str], k: int, *, cot: bool,
                    temperature: float = 0.7, max_tokens: int = 1000, chat: bool = False,
                    seed: int = 0, meter: Meter | None = None) -> list[SampleResult]:
    """IO (cot=False) or CoT sampling with k samples; CoT-SC is its majority answer (§4.1)."""
    if k < 1:
        raise ConfigError(f"k={k}: the number of samples must be at least 1")
    meter = meter or Meter(model, chat=chat)
    outs = _Caller(meter, seed)([task.sample_prompt(x, "", cot) for x in xs], list(range(len(xs))),
                                n=k, temperature=temperature, max_tokens=max_tokens, stop=())
    results = []
    for p, (x, samples) in enumerate(zip(xs, outs, strict=True)):
        correct = [task.is_correct(x, s) for s in samples]
        votes = Counter(_answer_key(task, x, s) for s in samples)
        top_key = votes.most_common(1)[0][0]
        majority = next(s for s in samples if _answer_key(task, x, s) == top_key)
        results.append(SampleResult(x, list(samples), correct, majority,
                                    task.is_correct(x, majority), meter.costs.get(p, Usage())))
    return results
