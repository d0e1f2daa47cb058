"""Benchmark: our ToT-BFS against a straightforward transcription of the paper's BFS.

Same backend, same puzzles, same run. Ours: every step's generation prompts and then all
uncached value prompts go out as one batch each, values cached by the canonical state
(multiset left), and values known without the model (the repo's 4-line rule) are not asked
for. The transcription (official `bfs.solve`): one call per state, value cache keyed by
the prompt text, the model asked even when the answer is discarded.

Backends:
  scripted  a deterministic solver-backed LM (8 random legal moves per proposal written the
            way the paper's example writes them, value labels flipped with probability 0.25):
            tokens and calls per solved puzzle.
  hf        a real in-process model (--model DIR, default the quick reproduction's tiny
            model): the same counts plus wall time on real forward passes.

    python benchmarks/bench_tot.py --puzzles 40 --backend scripted
    python benchmarks/bench_tot.py --puzzles 20 --backend hf
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from neurips23.tot import BFSConfig, bfs
from neurips23.tot.game24 import Game24Task, check_answer, compose_answer, legal_moves, puzzles
from neurips23.tot.game24 import prompts as P
from neurips23.tot.game24.solver import int_solvable
from neurips23.tot.game24.task import current_numbers


# ----------------------------------------------------------------- the paper's BFS, transcribed
def paper_value_prompt(task: Game24Task, x: str, y: str) -> str:
    """The official `value_prompt_wrap`: numbers exactly as the model wrote them."""
    last = y.strip().split("\n")[-1]
    if "left: " not in last:
        return P.judge_prompt(x, last.lower().replace("answer: ", ""), task.few_shot)
    return P.value_prompt(current_numbers(x, y), task.few_shot)


def paper_bfs(task: Game24Task, model: Any, x: str, cfg: BFSConfig, cache: dict[str, float],
              seed: int) -> list[str]:
    """Official `solve()`: per-state propose calls, per-state value calls, text-keyed cache."""
    ys = [""]
    calls = 0
    for _step in range(task.steps):
        new_ys: list[str] = []
        for y in ys:
            calls += 1
            out = model.generate([task.propose_prompt(x, y)], n=1, temperature=cfg.temperature,
                                 max_tokens=cfg.max_tokens, seed=seed * 7919 + calls)[0][0]
            new_ys += [y + line.strip() + "\n" for line in out.split("\n") if line.strip()]
        local: dict[str, float] = {}
        values = []
        for y in new_ys:
            if y in local:  # the repo gives a duplicate candidate value 0
                values.append(0.0)
                continue
            prompt = paper_value_prompt(task, x, y)
            if prompt not in cache:
                calls += 1
                outs = model.generate([prompt], n=cfg.n_evaluate, temperature=cfg.temperature,
                                      max_tokens=cfg.value_max_tokens,
                                      seed=seed * 7919 + calls)[0]
                fixed = task.fixed_value(x, y)  # the repo applies its rule after the call
                cache[prompt] = fixed if fixed is not None else task.parse_value(x, y, outs)
            local[y] = cache[prompt]
            values.append(local[y])
        order = sorted(range(len(new_ys)), key=lambda i: -values[i])[: cfg.n_select]
        ys = [new_ys[i] for i in order]
    return ys


# ----------------------------------------------------------------- a scripted backend
@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ScriptedLM:
    """Deterministic in the prompt and sample index: both searches see the same answers."""

    flip: float = 0.25
    left_order: str = "sorted"
    name: str = "scripted"
    usage: Usage = field(default_factory=Usage)

    def _rng(self, prompt: str, i: int) -> random.Random:
        return random.Random(hashlib.sha256(f"{prompt}|{i}".encode()).hexdigest())

    def _one(self, prompt: str, i: int) -> str:
        rng = self._rng(prompt, i)
        last = prompt.split("Input: ")[-1]
        if prompt.endswith("Possible next steps:\n"):
            nums = tuple(sorted(int(t) for t in last.split("\n")[0].split()))
            lines = [line for line, _ in legal_moves(nums)]
            if self.left_order == "natural":
                lines = [_natural(line, last.split("\n")[0].split()) for line in lines]
            return "\n".join(self._rng(prompt, 0).sample(lines, min(8, len(lines))))
        if prompt.endswith("Judge:\n"):
            x = [int(t) for t in last.split("\n")[0].split()]
            ok = check_answer(x, last.split("\n")[1])
            return "sure" if ok != (rng.random() < self.flip) else "impossible"
        if "Steps:\n" in last:
            x = [int(t) for t in last.split("\n")[0].split()]
            steps = [s for s in last.split("Steps:\n")[1].split("\n") if s.strip()]
            return f"Answer: {compose_answer(x, steps)} = 24"
        nums = tuple(sorted(int(t) for t in prompt.rstrip("\n").split("\n")[-1].split()))
        good = int_solvable(nums) if len(nums) > 1 else nums == (24,)
        return "sure" if good != (rng.random() < self.flip) else "impossible"

    def generate(self, prompts, n=1, temperature=0.0, max_tokens=64, stop=(), top_p=1.0,
                 seed=None):
        outs = [[self._one(p, i) for i in range(n)] for p in prompts]
        self.usage.calls += len(prompts)
        self.usage.prompt_tokens += sum(len(p) for p in prompts)  # one token per character
        self.usage.completion_tokens += sum(len(s) + 1 for o in outs for s in o)
        return outs


def _natural(line: str, inputs: list[str]) -> str:
    """Rewrite "(left: ...)" as the unused inputs in input order, then the new number."""
    a, _, b, _, c = line.split(" (")[0].split(" ")
    rest = list(inputs)
    rest.remove(a)
    rest.remove(b)
    return f"{line.split(' (')[0]} (left: {' '.join([*rest, c])})"


# ----------------------------------------------------------------- the comparison
def measure(name: str, model: Any, fn) -> dict[str, Any]:
    before = (model.usage.calls, model.usage.prompt_tokens, model.usage.completion_tokens)
    t0 = time.perf_counter()
    solved, anyb, n = fn()
    wall = time.perf_counter() - t0
    calls, pt, ct = (a - b for a, b in zip((model.usage.calls, model.usage.prompt_tokens,
                                            model.usage.completion_tokens), before, strict=True))
    per = max(solved, 1)
    return {"impl": name, "puzzles": n, "solved_top1": solved, "solved_any_of_b": anyb,
            "calls": calls, "tokens": pt + ct, "wall_s": round(wall, 2),
            "calls_per_solved": round(calls / per, 1), "tokens_per_solved": round((pt + ct) / per),
            "wall_s_per_solved": round(wall / per, 3), "tokens_per_puzzle": round((pt + ct) / n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("scripted", "hf"), default="scripted")
    ap.add_argument("--model", default=None, help="HF model dir (hf backend)")
    ap.add_argument("--puzzles", type=int, default=40)
    ap.add_argument("--b", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--few-shot", action="store_true", help="paper prompts (real LMs)")
    ap.add_argument("--left-order", choices=("sorted", "natural"), default="sorted",
                    help="scripted LM: how it writes '(left: ...)' (sorted as in the paper's "
                         "example, or unused inputs then the new number)")
    args = ap.parse_args()

    from neurips23.utils import set_torch_threads

    rng = random.Random(args.seed)
    xs = [" ".join(map(str, p)) for p in rng.sample([p for p in puzzles() if int_solvable(p)],
                                                    args.puzzles)]
    if args.backend == "scripted":
        task = Game24Task(few_shot=args.few_shot)
        model: Any = ScriptedLM(left_order=args.left_order)
        cfg = BFSConfig(n_select=args.b, temperature=0.7, max_tokens=240, value_max_tokens=12)
    else:
        set_torch_threads()
        from neurips23.lm.backends.hf import HFBackend
        from neurips23.lm.models import load_model

        if args.model:
            m, tok = load_model(args.model)
        else:
            from neurips23.config import load_config
            from neurips23.tot.arms import get_model
            from neurips23.tot.config import PROFILES, ToTConfig

            m, tok, _ = get_model(load_config(ToTConfig, base=PROFILES["quick"]), 0)
        model = HFBackend(m, tok, batch_size=256)
        task = Game24Task(few_shot=False)
        cfg = BFSConfig(n_select=args.b, temperature=0.7, max_tokens=240, value_max_tokens=12,
                        seed=args.seed)

    def ours():
        res = bfs(task, model, xs, cfg)
        return (sum(task.is_correct(r.x, r.top) for r in res),
                sum(any(task.is_correct(r.x, y) for y in r.finals) for r in res), len(xs))

    def paper():
        cache: dict[str, float] = {}
        finals = [paper_bfs(task, model, x, cfg, cache, args.seed) for x in xs]
        return (sum(bool(f) and task.is_correct(x, f[0]) for x, f in zip(xs, finals, strict=True)),
                sum(any(task.is_correct(x, y) for y in f) for x, f in zip(xs, finals, strict=True)),
                len(xs))

    rows = [measure("paper transcription", model, paper), measure("ours", model, ours)]
    for r in rows:
        print(json.dumps(r))
    p, o = rows
    ratio = {k: round(p[k] / o[k], 2) if o[k] else None
             for k in ("tokens_per_solved", "calls_per_solved", "wall_s_per_solved",
                       "tokens_per_puzzle")}
    print(json.dumps({"backend": args.backend, "left_order": args.left_order,
                      "ratio_paper_over_ours": ratio}))


if __name__ == "__main__":
    main()
