"""The reproduction (§3): a family of tiny transformers trained on char-level arithmetic, scored
on the same greedy outputs under sharp and smooth metrics, testing the paper's three predictions
and its model (measured exact match vs exp(−L·CE_token))."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurips23.emergence import metrics as M
from neurips23.emergence.arithmetic import ALPHABET, get_task, split_problems
from neurips23.emergence.mirage_model import fit_geometric, fit_linear, fit_power_law
from neurips23.errors import ConfigError

CACHE_VERSION = "emergence-v1"
MEMBER = re.compile(r"^d(?P<hidden>\d+)l(?P<layers>\d+)$")


@dataclass
class EmergenceConfig:
    """Settings of the model-family sweep (the `full` profile is the claim's test)."""

    tasks: list[str] = field(default_factory=lambda: ["mult_2x2", "add_4x4"])
    # family members "d<hidden>l<layers>": heads = hidden/16 (≥1), MLP width 4·hidden
    family: list[str] = field(
        default_factory=lambda: ["d16l1", "d24l2", "d32l2", "d48l2", "d64l3", "d96l3"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    steps: int = 2500
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 100
    n_train: int = 20000  # per task, capped at the problems left after the test set
    test_size: int = 100  # the "standard" test set (resolution limit 1/100)
    large_test_factor: int = 20  # prediction 2: a 20× larger test set
    reverse: bool = True  # numbers written least-significant digit first
    data_seed: int = 0
    eval_batch_size: int = 256
    progress: bool = True
    workers: int = 1  # > 1: train family members in parallel processes (1 torch thread each)
    eval_device: str = "cpu"  # where the trained members are evaluated ("cuda" on a GPU box)


PROFILES: dict[str, dict] = {
    "quick": {"seeds": [0], "steps": 400, "n_train": 6000, "large_test_factor": 10},
    "full": {},
}


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
    train: list  # list[Example], all tasks mixed
    test: dict[str, list[tuple[str, str]]]  # task -> (prompt, answer), standard set first


def build_data(cfg: EmergenceConfig) -> Data:
    """Train examples (all tasks mixed) and the large test set per task (its first
    `test_size` problems are the standard test set)."""
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
    from neurips23.lm.train import TrainConfig

    return TrainConfig(steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                       warmup_steps=cfg.warmup_steps, schedule="cosine", max_length=32,
                       log_every=50, seed=seed)


def model_spec(cfg: EmergenceConfig, member: str, seed: int) -> dict:
    """Everything that determines a trained family member (the cache key)."""
    from dataclasses import asdict

    return {"version": CACHE_VERSION, "member": member_size(member), "seed": seed,
            "tasks": list(cfg.tasks), "n_train": cfg.n_train, "data_seed": cfg.data_seed,
            "test": cfg.test_size * cfg.large_test_factor, "reverse": cfg.reverse,
            "train": asdict(train_config(cfg, seed)), "arch": "llama"}


def trained_member(cfg: EmergenceConfig, data: Data, tokenizer, member: str, seed: int) -> Path:
    """The cached trained model dir of one family member (trained on first use)."""
    from neurips23.lm.cache import get_or_train
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.train import train_causal_lm

    def build(tmp: Path) -> None:
        model = build_model(member_size(member), vocab_size=len(tokenizer),
                            max_position_embeddings=32, seed=seed)
        train_causal_lm(model, tokenizer, data.train, train_config(cfg, seed),
                        progress=cfg.progress)
        save_model(model, tokenizer, tmp)

    return get_or_train(model_spec(cfg, member, seed), build)


def is_cached(cfg: EmergenceConfig, member: str, seed: int) -> bool:
    """Whether this member is already trained in the model cache."""
    from neurips23.lm.cache import META, cache_dir, spec_key

    return (cache_dir() / "models" / spec_key(model_spec(cfg, member, seed)) / META).exists()


def _pretrain_one(cfg: EmergenceConfig, member: str, seed: int) -> str:
    """Worker process: train one member into the cache (no progress bar)."""
    from dataclasses import replace

    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.utils import set_torch_threads

    set_torch_threads(1)
    cfg = replace(cfg, progress=False)
    return str(trained_member(cfg, build_data(cfg), build_char_tokenizer(ALPHABET), member, seed))


def pretrain_parallel(cfg: EmergenceConfig, log=print) -> None:
    """Fill the model cache with every (member, seed) using `cfg.workers` processes, largest
    members first; the sweep then loads them (same models as a sequential run)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    jobs = [(m, s) for m in reversed(cfg.family) for s in cfg.seeds]
    with ProcessPoolExecutor(cfg.workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_pretrain_one, cfg, m, s): (m, s) for m, s in jobs}
        for k, fut in enumerate(as_completed(futures), 1):
            m, s = futures[fut]
            fut.result()
            log(f"trained {k}/{len(jobs)}: {m} seed {s}")


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


def run_sweep(cfg: EmergenceConfig, log=print) -> SweepResult:
    """Train (or load from the cache) every family member × seed, then evaluate each."""
    from neurips23.lm.models import count_parameters, load_model
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.utils import set_torch_threads

    set_torch_threads()
    if len(cfg.family) < 2:
        raise ConfigError("family: at least 2 members are needed for a curve across scale")
    if cfg.test_size < 1 or cfg.large_test_factor < 1:
        raise ConfigError("test_size and large_test_factor must be ≥ 1")
    tokenizer = build_char_tokenizer(ALPHABET)
    data = build_data(cfg)
    params, table, samples = {}, {}, []
    t_train = t_eval = 0.0
    cached = sum(is_cached(cfg, m, s) for m in cfg.family for s in cfg.seeds)
    if cfg.workers > 1:
        t0 = time.perf_counter()
        pretrain_parallel(cfg, log)
        t_train += time.perf_counter() - t0
    total = len(cfg.family) * len(cfg.seeds)
    k = 0
    for seed in cfg.seeds:
        for member in cfg.family:
            k += 1
            t0 = time.perf_counter()
            path = trained_member(cfg, data, tokenizer, member, seed)
            t1 = time.perf_counter()
            model, tok = load_model(str(path), device=cfg.eval_device)
            params[member] = count_parameters(model)
            evals = evaluate_member(model, tok, data, cfg.eval_batch_size)
            t2 = time.perf_counter()
            t_train += t1 - t0
            t_eval += t2 - t1
            for task, rows in evals.items():
                width = len(rows[0]["target"])
                for L in range(1, width + 1):
                    table[(task, seed, member, L, "standard")] = length_metrics(
                        rows[: cfg.test_size], L)
                    table[(task, seed, member, L, "large")] = length_metrics(rows, L)
                for i, r in enumerate(rows):
                    samples.append({"model": member, "params": params[member], "seed": seed,
                                    "task": task, "sample_id": i,
                                    "standard_test": i < cfg.test_size, **r})
            full = {t: table[(t, seed, member, len(evals[t][0]["target"]), "large")]["exact_match"]
                    for t in evals}
            log(f"[{k}/{total}] seed {seed} {member} ({params[member]:,} params): "
                f"train/load {t1 - t0:.1f}s, eval {t2 - t1:.1f}s, exact match "
                + ", ".join(f"{t} {v:.3f}" for t, v in full.items()))
    return SweepResult(cfg, params, table, samples, t_train, t_eval, cached)


# --------------------------------------------------------------------------- the predictions
def widths(res: SweepResult) -> dict[str, int]:
    return {t: max(k[3] for k in res.table if k[0] == t) for t in res.cfg.tasks}


def curve(res: SweepResult, task: str, seed: int, L: int, metric: str, split: str) -> list[float]:
    return [res.table[(task, seed, m, L, split)][metric] for m in res.cfg.family]


def prediction_1(res: SweepResult) -> dict:
    """Emergence scores of exact match vs token edit distance on the same outputs (standard
    test set), per task, seed and target length."""
    out: dict = {}
    for task, width in widths(res).items():
        per_L = {}
        for L in range(1, width + 1):
            em = [M.emergence_score(curve(res, task, s, L, "exact_match", "standard"))
                  for s in res.cfg.seeds]
            ted = [M.emergence_score(-np.asarray(curve(res, task, s, L, "token_edit_distance",
                                                       "standard"))) for s in res.cfg.seeds]
            per_L[L] = {"em_score": em, "ted_score": ted,
                        "em_sharper_fraction": float(np.mean([a > b for a, b in zip(em, ted,
                                                                                    strict=True)]))}
        out[task] = per_L
    return out


def prediction_2(res: SweepResult) -> dict:
    """Models with 0 exact matches on the standard test set: their exact match and Wilson CI
    on the larger test set, against chance 10^−L."""
    rows = []
    for task, width in widths(res).items():
        for L in range(1, width + 1):
            for s in res.cfg.seeds:
                for m in res.cfg.family:
                    std = res.table[(task, s, m, L, "standard")]
                    if std["hits"] > 0:
                        continue
                    big = res.table[(task, s, m, L, "large")]
                    lo, hi = M.wilson_interval(big["hits"], big["n"])
                    rows.append({"task": task, "L": L, "seed": s, "model": m,
                                 "params": res.params[m], "hits": big["hits"], "n": big["n"],
                                 "exact_match": big["exact_match"], "ci95": [lo, hi],
                                 "chance": 10.0**-L, "above_chance": lo > 10.0**-L})
    return {"zero_on_standard": len(rows),
            "above_chance_on_large": sum(r["above_chance"] for r in rows),
            "nonzero_on_large": sum(r["hits"] > 0 for r in rows), "rows": rows}


def prediction_3(res: SweepResult) -> dict:
    """Per model with 0.05 < EM(L=1) < 0.95: fit log EM and TED against L (large test set)."""
    fits = []
    for task, width in widths(res).items():
        lengths = list(range(1, width + 1))
        for s in res.cfg.seeds:
            for m in res.cfg.family:
                em = [res.table[(task, s, m, L, "large")]["exact_match"] for L in lengths]
                ted = [res.table[(task, s, m, L, "large")]["token_edit_distance"] for L in lengths]
                if not 0.05 < em[0] < 0.95 or min(em) <= 0:
                    continue
                g, lin = fit_geometric(lengths, em), fit_linear(lengths, ted)
                fits.append({"task": task, "seed": s, "model": m, "em": em, "ted": ted,
                             "log_em_r2": g.r2, "log_em_slope": g.slope, "ted_r2": lin.r2,
                             "ted_slope": lin.slope})
    return {
        "fits": fits,
        "median_log_em_r2": float(np.median([f["log_em_r2"] for f in fits])) if fits else math.nan,
        "median_ted_r2": float(np.median([f["ted_r2"] for f in fits])) if fits else math.nan,
    }


def model_check(res: SweepResult) -> dict:
    """Measured exact match vs exp(−L·CE_token); CE against size (power law? monotone? sharp?)."""
    from scipy.stats import spearmanr

    measured, predicted = [], []
    for key, v in res.table.items():
        if key[4] != "large":
            continue
        measured.append(v["exact_match"])
        predicted.append(math.exp(-key[3] * v["per_token_ce"]))
    measured_a, predicted_a = np.asarray(measured), np.asarray(predicted)
    out = {"n_points": len(measured),
           "pearson_r": float(np.corrcoef(measured_a, predicted_a)[0, 1]),
           "mean_abs_error": float(np.mean(np.abs(measured_a - predicted_a)))}
    per_task = {}
    for task, width in widths(res).items():
        ce = np.mean([curve(res, task, s, width, "per_token_ce", "large") for s in res.cfg.seeds],
                     axis=0)
        em = np.mean([curve(res, task, s, width, "exact_match", "large") for s in res.cfg.seeds],
                     axis=0)
        ted = np.mean([curve(res, task, s, width, "token_edit_distance", "large")
                       for s in res.cfg.seeds], axis=0)
        n = [res.params[m] for m in res.cfg.family]
        law = fit_power_law(n, ce)
        per_seed = []
        for s in res.cfg.seeds:
            c = np.asarray(curve(res, task, s, width, "per_token_ce", "large"))
            drops = -np.diff(c)
            span = float(c.max() - c.min())
            per_seed.append({
                "seed": s, "ce": c.tolist(),
                # share of the whole CE range covered by the largest step between adjacent sizes
                "largest_step_share": float(drops.max() / span) if span > 0 else 0.0,
                # CE rises by > 0.1 nats somewhere along the family (not monotone in size)
                "non_monotone": bool(np.any(np.diff(c) > 0.1)),
            })
        per_task[task] = {
            "ce": ce.tolist(), "spearman_rho": float(spearmanr(n, ce)[0]),
            "power_law_alpha": law.alpha, "power_law_log_c": law.log_c, "power_law_r2": law.r2,
            "ce_emergence_score": M.emergence_score(-ce),
            "em_emergence_score": M.emergence_score(em),
            "ted_emergence_score": M.emergence_score(-ted),
            "per_seed": per_seed,
        }
    out["per_task"] = per_task
    return out
