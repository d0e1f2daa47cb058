"""The arms of the reproduction, per seed: a tiny model trained from scratch in the paper's
Game of 24 formats (proposer, evaluator, IO/CoT sampler and final-answer judge at once), then
IO, CoT, ToT b=1, ToT b=5 and ToT b=5 with random values on the same checkpoint and the same
held-out puzzles, and the evaluator's AUROC on held-out states."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurips23.core.stats import auroc
from neurips23.tot.config import ToTConfig
from neurips23.tot.data import ALPHABET, build_examples, fmt, held_out_states, split_puzzles
from neurips23.tot.game24 import Game24Task, authors_pick, int_solvable, puzzles, uses_input_numbers
from neurips23.tot.game24.prompts import value_prompt
from neurips23.tot.meter import Meter
from neurips23.tot.search import BFSConfig, bfs, sample_baseline

MIXTURE = {"propose": 0.35, "value": 0.30, "cot": 0.15, "io": 0.07, "judge": 0.13}
"""Share of each example type in the training set."""

DATA_VERSION = "tot-game24-v1"


# ------------------------------------------------------------------------------ the model
def data_key(cfg: ToTConfig, seed: int) -> dict[str, Any]:
    """Everything about the training data that the cached model depends on."""
    keys = ("n_test", "holdout", "n_examples", "propose_lines")
    return {"method": "tot", "version": DATA_VERSION, "seed": seed,
            **{k: getattr(cfg, k) for k in keys}}


def get_model(cfg: ToTConfig, seed: int, progress: bool = True) -> tuple[Any, Any, Path]:
    """The tiny proposer/evaluator for `seed`, trained once and cached (`lm.tiny`)."""
    from neurips23.lm.models import load_model
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer

    def data():
        test, train = split_puzzles(candidate_puzzles(), cfg.n_test, seed)
        counts = {k: int(v * cfg.n_examples) for k, v in MIXTURE.items()}
        return build_char_tokenizer(ALPHABET), build_examples(
            train, held_out_states(test, cfg.holdout), seed, counts, cfg.propose_lines)

    train = dataclasses.replace(cfg.train, seed=seed + cfg.train.seed)
    path = cached_tiny_lm(data_key(cfg, seed), data, cfg.model_size, train, progress=progress)
    model, tok = load_model(path, device=cfg.device or _auto_device())
    return model, tok, path


def _auto_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def candidate_puzzles() -> list[tuple[int, ...]]:
    """Test candidates: puzzles solvable with integer steps (as all 100 of the paper's are)."""
    return [p for p in puzzles() if int_solvable(p)]


# ------------------------------------------------------------------------------ the arms
def evaluator_auroc(backend: Any, states: Sequence[tuple[int, ...]]) -> float:
    """AUROC of log p(sure) - log p(impossible) against exact solvability of `states`."""
    prompts = [value_prompt(fmt(s), False) for s in states]
    sure = backend.score(prompts, ["sure"] * len(prompts))
    imp = backend.score(prompts, ["impossible"] * len(prompts))
    scores = [a.logprob - b.logprob for a, b in zip(sure, imp, strict=True)]
    return auroc(scores, [int_solvable(s) for s in states])


def run_seed(cfg: ToTConfig, seed: int, log: Any = print) -> tuple[list[dict], dict]:
    """Train (or load) the model for `seed` and run every method on its test puzzles."""
    import random

    from neurips23.lm.backends.hf import HFBackend
    from neurips23.utils import seed_everything

    seed_everything(seed)
    t0 = time.time()
    model, tok, path = get_model(cfg, seed)
    log(f"seed {seed}: model {path.name} ready in {time.time() - t0:.0f}s")
    test, _ = split_puzzles(candidate_puzzles(), cfg.n_test, seed)
    xs = [fmt(p) for p in test]
    task = Game24Task(few_shot=False)
    backend = HFBackend(model, tok, name=f"tot-tiny-{seed}", batch_size=cfg.gen_batch_size)
    rows: list[dict] = []
    info: dict[str, Any] = {"seed": seed, "model": path.name}

    def add(method: str, results: list[Any], top, extra=lambda r: {}) -> None:
        for x, r in zip(xs, results, strict=True):
            answer = top(r)
            rows.append({"seed": seed, "puzzle": x, "method": method, "answer": answer,
                         "correct": task.is_correct(x, answer), **r.cost.as_dict(), **extra(r)})

    for name, cot, k in (("io", False, cfg.k_io), ("cot", True, cfg.k_samples)):
        t = time.time()
        meter = Meter(backend)
        res = sample_baseline(task, backend, xs, k, cot=cot,
                              temperature=cfg.temperature, max_tokens=cfg.sample_max_tokens,
                              seed=seed, meter=meter)
        add(name, res, lambda r: r.samples[0],
            lambda r: {"sample_correct": r.correct,
                       "sample_uses_numbers": [uses_input_numbers(r.x, s) for s in r.samples],
                       "answer_keys": [s.strip().split("\n")[-1] for s in r.samples]})
        log(f"seed {seed}: {name} x{k} in {time.time() - t:.0f}s")
    for name, bcfg in (
        ("tot_b1", BFSConfig(n_select=1)),
        ("tot_b5", BFSConfig(n_select=5)),
        ("tot_b5_random_values", BFSConfig(n_select=5, evaluate="random")),
    ):
        t = time.time()
        bcfg.n_evaluate, bcfg.temperature, bcfg.seed = cfg.n_evaluate, cfg.temperature, seed
        bcfg.max_tokens, bcfg.value_max_tokens = cfg.max_tokens, cfg.value_max_tokens
        res = bfs(task, backend, xs, bcfg, meter=Meter(backend),
                  on_step=lambda k, name=name: log(f"seed {seed}: {name} step {k}/{task.steps}"))
        add(name, res, lambda r: r.top,
            lambda r: {"finals_correct": [task.is_correct(r.x, y) for y in r.finals],
                       "authors_pick": authors_pick(r.x, r.finals), "fail_step": fail_step(r)})
        log(f"seed {seed}: {name} in {time.time() - t:.0f}s")
    rng = random.Random(seed)
    held = sorted(s for s in held_out_states(test, "strict") if len(s) == 3)
    sample = rng.sample(held, min(cfg.auroc_states, len(held)))
    info["auroc_heldout_3"] = evaluator_auroc(backend, sample)
    held2 = sorted(s for s in held_out_states(test, "strict") if len(s) == 2)
    info["auroc_heldout_2"] = evaluator_auroc(backend, rng.sample(held2, min(cfg.auroc_states,
                                                                             len(held2))))
    info["seconds"] = round(time.time() - t0, 1)
    return rows, info


def fail_step(result: Any) -> int:
    """First BFS step after which no kept state can still reach 24 (4 = none failed)."""

    from neurips23.tot.game24.solver import solvable
    from neurips23.tot.game24.task import current_numbers, parse_left_number

    for t in result.trace:
        ok = False
        for y in t.selected:
            if "left: " not in y.strip().split("\n")[-1]:
                ok = ok or Game24Task().is_correct(result.x, y)
                continue
            try:
                nums = [parse_left_number(v) for v in current_numbers(result.x, y).split()]
            except (ValueError, ZeroDivisionError):
                continue
            ok = ok or (0 < len(nums) <= 4 and solvable(nums))
        if not ok:
            return t.step
    return len(result.trace)
