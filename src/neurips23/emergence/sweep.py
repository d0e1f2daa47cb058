"""The model family of the reproduction (§3): tiny transformers of increasing size trained on
the same char-level arithmetic data, each scored on the same greedy outputs at every target
length L under sharp and smooth metrics.

`run_sweep(cfg)` gives the table the predictions are tested on:
table[(task, seed, member, L, "standard"|"large")] = length_metrics(...).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from neurips23.emergence import metrics as M
from neurips23.emergence.arithmetic import ALPHABET, get_task, split_problems
from neurips23.emergence.config import EmergenceConfig
from neurips23.errors import ConfigError

CACHE_VERSION = "emergence-v2"
MEMBER = re.compile(r"^d(?P<hidden>\d+)l(?P<layers>\d+)$")
MAX_POSITIONS = 32  # prompt + answer of the longest task fit with room to spare


# --------------------------------------------------------------------------- family and data
def member_size(name: str) -> dict:
    """Model dims of a family member "d<hidden>l<layers>" (e.g. d64l3)."""
    m = MEMBER.match(name)
    if not m:
        raise ConfigError(f"family member {name!r}: expected d<hidden>l<layers>, e.g. d64l3")
    hidden, layers = int(m["hidden"]), int(m["layers"])
    if hidden < 4 or layers < 1:
        raise ConfigError(f"family member {name!r}: hidden ≥ 4 and layers ≥ 1 required")
    heads = max(1, hidden // 16)
    if hidden % heads:
        raise ConfigError(f"family member {name!r}: hidden {hidden} not divisible by {heads} heads")
    return dict(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                intermediate_size=4 * hidden)


@dataclass
class Data:
    """Training examples (all tasks mixed) and, per task, the large test set whose first
    `test_size` problems are the standard test set."""

    train: list  # list[Example]
    test: dict[str, list[tuple[str, str]]]  # task -> (prompt, answer)


def build_data(cfg: EmergenceConfig) -> Data:
    """Train examples (all tasks mixed) and the large test set per task."""
    from neurips23.lm.data import Example

    train, test = [], {}
    n_test = cfg.test_size * cfg.large_test_factor
    for name in cfg.tasks:
        task = get_task(name)
        space = (task.operand_range[1] - task.operand_range[0] + 1) ** 2
        n_train = min(cfg.n_train, space - n_test)
        tr, te = split_problems(task, n_train, n_test, cfg.data_seed)
        train += [Example(task.prompt(a, b, cfg.reverse), task.answer(a, b, cfg.reverse))
                  for a, b in tr]
        test[name] = [(task.prompt(a, b, cfg.reverse), task.answer(a, b, cfg.reverse))
                      for a, b in te]
    return Data(train, test)


def train_config(cfg: EmergenceConfig, seed: int):
    """The training settings every family member shares (only the size differs)."""
    return replace(cfg.train, seed=seed + cfg.train.seed)


def data_key(cfg: EmergenceConfig) -> dict:
    """Everything the training data depends on (the model cache adds size and settings)."""
    return {"kind": "emergence", "version": CACHE_VERSION, "tasks": list(cfg.tasks),
            "n_train": cfg.n_train, "data_seed": cfg.data_seed,
            "test": cfg.test_size * cfg.large_test_factor, "reverse": cfg.reverse}


def trained_member(cfg: EmergenceConfig, member: str, seed: int,
                   progress: bool = True) -> tuple[Path, bool]:
    """(cache dir, trained now) of one family member; trained on first use only."""
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer

    trained = []

    def data():
        trained.append(True)
        return build_char_tokenizer(ALPHABET), build_data(cfg).train

    path = cached_tiny_lm(data_key(cfg), data, member_size(member), train_config(cfg, seed),
                          max_position_embeddings=MAX_POSITIONS, progress=progress)
    return path, bool(trained)


# --------------------------------------------------------------------------- evaluation
def evaluate_member(model, tokenizer, data: Data, batch_size: int) -> dict[str, list[dict]]:
    """Greedy answers and teacher-forced answer-token log-probs on every test problem."""
    from neurips23.lm.generate import generate, score

    out = {}
    for task, problems in data.test.items():
        prompts = [p for p, _ in problems]
        answers = [a for _, a in problems]
        width = max(len(a) for a in answers)
        gens = generate(model, tokenizer, prompts, max_new_tokens=width + 1, batch_size=batch_size)
        scores = score(model, tokenizer, prompts, answers, batch_size=batch_size)
        out[task] = [
            {"prediction": g[0].text, "target": a, "token_logprobs": s.token_logprobs}
            for g, a, s in zip(gens, answers, scores, strict=True)
        ]
    return out


def length_metrics(rows: list[dict], length: int) -> dict[str, float]:
    """Mean metrics when only the first `length` answer tokens are scored (target length L);
    at the full answer length the whole output is scored (extra tokens count as errors)."""
    em, ted, acc, ce = [], [], [], []
    for r in rows:
        tgt = list(r["target"][:length])
        pred = list(r["prediction"] if length >= len(r["target"]) else r["prediction"][:length])
        em.append(M.exact_match(pred, tgt))
        ted.append(M.token_edit_distance(pred, tgt))
        acc.append(M.per_token_accuracy(pred, tgt))
        ce.append(M.per_token_cross_entropy(r["token_logprobs"][:length]))
    return {"exact_match": float(np.mean(em)), "hits": int(sum(em)), "n": len(rows),
            "token_edit_distance": float(np.mean(ted)), "per_token_accuracy": float(np.mean(acc)),
            "per_token_ce": float(np.mean(ce))}


def chance_levels(data: Data, test_size: int) -> dict[tuple, float]:
    """chance[(task, L, split)]: the exact match of the best constant answer, i.e. the share
    of the most frequent L-token answer prefix among the test problems (a model that ignores
    its input can do no better; for uniformly random digits it would be 10^-L)."""
    out = {}
    for task, problems in data.test.items():
        answers = [a for _, a in problems]
        for L in range(1, max(len(a) for a in answers) + 1):
            for split, subset in (("standard", answers[:test_size]), ("large", answers)):
                out[(task, L, split)] = max(Counter(a[:L] for a in subset).values()) / len(subset)
    return out


# --------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    """table[(task, seed, member, L, "standard"|"large")] = length_metrics(...)."""

    cfg: EmergenceConfig
    params: dict[str, int]
    table: dict[tuple, dict]
    samples: list[dict]
    train_seconds: float
    eval_seconds: float
    cached: int = 0  # members found in the model cache (trained by an earlier run)
    # chance[(task, L, split)]: exact match of the best input-independent answer
    chance: dict[tuple, float] = field(default_factory=dict)


def sweep_seed(cfg: EmergenceConfig, seed: int,
               log: Callable[[str], Any] | None = None) -> SweepResult:
    """One seed of the sweep: train (or load) every family member, evaluate each on the
    large test set and score every target length on both test sets."""
    from neurips23.lm.models import count_parameters, load_model

    data = build_data(cfg)
    out = SweepResult(cfg, {}, {}, [], 0.0, 0.0)
    for k, member in enumerate(cfg.family, 1):
        t0 = time.perf_counter()
        path, trained_now = trained_member(cfg, member, seed, progress=cfg.progress)
        t1 = time.perf_counter()
        model, tok = load_model(str(path), device=cfg.eval_device)
        out.params[member] = n_params = count_parameters(model)
        evals = evaluate_member(model, tok, data, cfg.eval_batch_size)
        t2 = time.perf_counter()
        out.train_seconds += t1 - t0
        out.eval_seconds += t2 - t1
        out.cached += not trained_now
        for task, rows in evals.items():
            for L in range(1, len(rows[0]["target"]) + 1):
                out.table[(task, seed, member, L, "standard")] = length_metrics(
                    rows[: cfg.test_size], L)
                out.table[(task, seed, member, L, "large")] = length_metrics(rows, L)
            out.samples += [{"model": member, "params": n_params, "seed": seed, "task": task,
                             "sample_id": i, "standard_test": i < cfg.test_size, **r}
                            for i, r in enumerate(rows)]
        full = {t: out.table[(t, seed, member, len(r[0]["target"]), "large")]["exact_match"]
                for t, r in evals.items()}
        line = (f"seed {seed} [{k}/{len(cfg.family)}] {member} ({n_params:,} params): "
                f"{'trained' if trained_now else 'loaded'} {t1 - t0:.1f}s, eval {t2 - t1:.1f}s, "
                "exact match " + ", ".join(f"{t} {v:.3f}" for t, v in full.items()))
        if log:
            log(line)
    return out


def run_sweep(cfg: EmergenceConfig, log: Callable[[str], Any] | None = None) -> SweepResult:
    """Every family member × seed, one seed per worker process (`cfg.workers`); results are
    merged in seed order, so the table does not depend on the number of workers."""
    from neurips23.core.parallel import map_units

    if len(cfg.family) < 2:
        raise ConfigError("family: at least 2 members are needed for a curve across scale")
    if cfg.test_size < 1 or cfg.large_test_factor < 1:
        raise ConfigError("test_size and large_test_factor must be ≥ 1")
    for member in cfg.family:
        member_size(member)
    for task in cfg.tasks:
        get_task(task)
    parallel = cfg.workers > 1 and len(cfg.seeds) > 1
    if parallel:
        cfg = replace(cfg, progress=False)
    per_seed = map_units(partial(sweep_seed, cfg, log=log), cfg.seeds, cfg.workers, log=log)
    out = SweepResult(cfg, {}, {}, [], 0.0, 0.0)
    for r in per_seed:
        out.params.update(r.params)
        out.table.update(r.table)
        out.samples += r.samples
        out.train_seconds += r.train_seconds
        out.eval_seconds += r.eval_seconds
        out.cached += r.cached
    out.chance = chance_levels(build_data(cfg), cfg.test_size)
    return out


def widths(res: SweepResult) -> dict[str, int]:
    """Each task's answer width (its longest target length L)."""
    return {t: max(k[3] for k in res.table if k[0] == t) for t in res.cfg.tasks}


def curve(res: SweepResult, task: str, seed: int, L: int, metric: str, split: str) -> list[float]:
    """One metric across the family (ascending size) for one task, seed, L and test set."""
    return [res.table[(task, seed, m, L, split)][metric] for m in res.cfg.family]
