"""`neurips23 reproduce planning`: a tiny word-level LM trained from scratch on PlanBench-format
Blocksworld, run through the paper's experiments (autonomous, obfuscation, back-prompting,
heuristic mode) beside retrieval baselines and controls."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurips23.core.claims import Claim, Rule, combine, measured_claim
from neurips23.core.reproduction import Outcome, Reproduction
from neurips23.planning.config import PAPER, PROFILES, PlanningConfig
from neurips23.planning.domains.registry import Instance, get_domain
from neurips23.planning.experiment import (
    autonomous_experiment,
    backprompting_experiment,
    heuristic_experiment,
    make_datasets,
    obfuscation_experiment,
    obfuscation_words,
    one_shot_queries,
    training_texts,
    vocabulary_sentences,
)

VERSION = "planning-lm-v3"
OBFUSCATED = ("mystery_blocksworld", "random_blocksworld")


# ------------------------------------------------------------------ the tiny LM


def planning_lm(cfg: PlanningConfig, train: list[Instance], progress: bool = True) -> Path:
    """The cache dir of the tiny word-level LM trained on `train` (trained on first use)."""
    from dataclasses import replace

    from neurips23.lm.data import Example
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.planning.wordlm import NL, to_words

    words = sorted({w for name in OBFUSCATED for w in obfuscation_words(name)})
    # the wording of prompts, plans and feedback is part of the data: a digest of a sample
    # retrains the model when the wording changes
    sample = training_texts(train[:50], cfg.intro, cfg.repair_fraction, cfg.seed)
    digest = hashlib.sha256(json.dumps([sample, words]).encode()).hexdigest()[:16]
    key = {"kind": "planning", "version": VERSION, "seed": cfg.seed, "blocks": cfg.blocks,
           "train_problems": cfg.train_problems, "test_per_blocks": cfg.test_per_blocks,
           "repair_fraction": cfg.repair_fraction, "intro": cfg.intro,
           "vocabulary_fraction": cfg.vocabulary_fraction, "text_digest": digest}

    def data():
        from neurips23.lm.tokenizers import build_word_tokenizer

        pairs = [(to_words(p), to_words(r)) for p, r in
                 training_texts(train, cfg.intro, cfg.repair_fraction, cfg.seed)]
        n = round(cfg.vocabulary_fraction * len(pairs))
        n = max(n, len(words)) if cfg.vocabulary_fraction > 0 else 0  # every word at least once
        pairs += [("", t) for t in vocabulary_sentences(words, n, cfg.seed)]
        tok = build_word_tokenizer([p + " " + r for p, r in pairs], extra_tokens=[NL])
        return tok, [Example(p, r) for p, r in pairs]

    tcfg = replace(cfg.train, seed=cfg.seed + cfg.train.seed)
    return cached_tiny_lm(key, data, cfg.model_size, tcfg,
                          max_position_embeddings=tcfg.max_length + cfg.max_new_tokens + 64,
                          progress=progress)


def _train_metrics(cfg: PlanningConfig, model_dir: Path, n_examples: int) -> dict:
    from neurips23.lm.tiny import train_log

    log = train_log(model_dir)
    return {"final_loss": log["losses"][-1][1] if log["losses"] else float("nan"),
            "steps": cfg.train.steps, "tokens_per_second": log["tokens_per_second"],
            "wall_seconds": log["wall_seconds"], "examples": n_examples}


# ------------------------------------------------------------------ the run


def run_planning(cfg: PlanningConfig, run, progress: bool = True) -> Outcome:
    """Train (or reuse) the tiny LM, run the four experiments, decide the claims; with
    source=released, validate PlanBench's GPT-4 answers instead (`planning.released`)."""
    if cfg.source == "released":
        from neurips23.planning.released import run_released

        return run_released(cfg, run)
    from neurips23.lm.backends.hf import HFBackend
    from neurips23.lm.models import load_model
    from neurips23.planning.wordlm import WordLM
    from neurips23.utils import seed_everything

    seed_everything(cfg.seed)
    data = make_datasets(cfg.blocks, cfg.train_problems, cfg.test_per_blocks, cfg.seed)
    test, train = data["test"], data["train"]
    model_dir = planning_lm(cfg, train, progress)
    model, tok = load_model(model_dir)
    lm = WordLM(HFBackend(model, tok, name=f"tiny-{cfg.model_size}", batch_size=32))
    rng = random.Random(cfg.seed + 3)
    examples = [train[rng.randrange(len(train))] for _ in test]
    metrics: dict[str, Any] = {"n_train_problems": len(train), "n_test": len(test),
                               "model_dir": str(model_dir),
                               "train": _train_metrics(cfg, model_dir, len(train))}
    queries = one_shot_queries(test, examples)
    rows = _run_experiments(cfg, run, lm, queries, train, rng, metrics, progress)
    unwritable = {name: _unwritable(tok.get_vocab(), name, test, cfg.intro)
                  for name in OBFUSCATED}
    metrics["obfuscated_unwritable_words"] = unwritable
    ev = _per_problem(cfg, rows, unwritable, metrics["heuristic"]["planner"])
    make_plots(run, metrics)
    return Outcome(metrics, make_claims(cfg, ev), notes=(
        "Tiny word-level LM trained from scratch on PlanBench-format Blocksworld; GPT-4 "
        "figures are the paper's, for reference only."), tables=_tables(metrics))


def _run_experiments(cfg: PlanningConfig, run, lm, queries, train, rng, metrics: dict,
                     progress: bool) -> dict[str, list[dict]]:
    """The four experiments in order; metrics merged into `metrics`, samples logged."""
    bw = get_domain("blocksworld")
    common = {"intro": cfg.intro, "max_tokens": cfg.max_new_tokens}
    out: dict[str, list[dict]] = {}
    run.log("autonomous mode")
    m, out["autonomous"] = autonomous_experiment(lm, bw, queries, train=train, **common)
    metrics.update(m)
    run.log("obfuscated vocabularies")
    m, out["obfuscated"] = obfuscation_experiment(lm, queries, OBFUSCATED, **common)
    metrics.update(m)
    run.log("back-prompting and the resampling control")
    m, out["backprompt"] = backprompting_experiment(
        lm, bw, queries[: cfg.backprompt_instances], cfg.backprompt_rounds,
        history=cfg.backprompt_history, resample_samples=cfg.resample_samples,
        resample_temperature=cfg.resample_temperature, seed=cfg.seed, **common)
    metrics.update(m)
    run.log("heuristic mode")
    n_h = cfg.heuristic_instances
    m, out["heuristic"] = heuristic_experiment(bw, queries[:n_h], out["autonomous"][:n_h], rng,
                                               cfg.planner, cfg.planner_seeds, timeout=30,
                                               progress=progress)
    metrics.update(m)
    for r in out.values():
        run.log_samples(r)
    return out


def _unwritable(vocab: dict, name: str, test: list[Instance], intro: bool) -> list[str]:
    """Words of the obfuscated prompts and gold plans the word-level model cannot write."""
    from neurips23.planning.experiment import writable

    spec = get_domain(name)
    v = spec.verbalizer(intro)
    texts = [v.statement(spec.to_local(t.problem)) + "\n" + v.plan(spec.plan_to_local(t.plan))
             for t in test]
    return writable(vocab, texts)


def _per_problem(cfg: PlanningConfig, rows: dict[str, list[dict]],
                 unwritable: dict[str, list[str]], planner: str) -> dict:
    """The per-problem outcomes each claim is decided on."""
    auto = rows["autonomous"]
    k = min(cfg.backprompt_rounds, cfg.resample_samples)
    bp = [r for r in rows["backprompt"] if r["mode"] == "backprompt"]
    rs = [r for r in rows["backprompt"] if r["mode"] == "resample"]
    effort = {a: [r[f"effort_{a}"] for r in rows["heuristic"]] for a in ("model", "empty",
                                                                          "random")}
    return {
        "model": [r["valid"] for r in auto], "copy": [r["copy_valid"] for r in auto],
        "obfuscated": {name: [r["valid"] for r in rows["obfuscated"] if r["domain"] == name]
                       for name in OBFUSCATED},
        "unwritable": unwritable,
        "feedback": [any(x["valid"] for x in r["rounds"][:k]) for r in bp],
        "first_round": [bool(r["rounds"]) and r["rounds"][0]["valid"] for r in bp],
        "resample": [r["first_valid"] is not None and r["first_valid"] <= k for r in rs],
        "effort": effort, "planner": planner}


def _tables(m: dict) -> dict[str, list[dict]]:
    """Result tables for the report and the docs."""
    auto = [{"blocks": b, "n": x["n"], "tiny LM": x["model"], "copy the example":
             x["copy_example"], "nearest training plan": x["nearest_train"]}
            for b, x in m["autonomous"].items()]
    b = m["backprompt"]
    bp = [{"plans (k)": k, "back-prompting (feedback)": b["success_at"][k],
           "resampling (no feedback)": b.get("resample_success_at", {}).get(k, "")}
          for k in sorted(b["success_at"])]
    h = m["heuristic"]
    heur = [{"seed": a, f"mean effort ({h['planner']})": h[f"mean_effort_{a}"],
             "planner runs not finished": sum(h["failed"][a].values())}
            for a in ("model", "empty", "random")]
    obf = [{"vocabulary": "blocksworld", "success": m["autonomous"]["all"]["model"]}] + [
        {"vocabulary": k, "success": v} for k, v in m["obfuscated"].items()]
    return {"autonomous success by blocks": auto, "obfuscation": obf,
            "back-prompting vs resampling (success within k plans)": bp,
            "heuristic mode": heur}


# ------------------------------------------------------------------ claims and plots


def _learned(model: Sequence[bool], copy: Sequence[bool], confidence: float
             ) -> tuple[str, bool]:
    """Precondition: the model learned something about planning (the Wilson lower bound of
    its success is above the copy-the-example baseline's success)."""
    from neurips23.core.stats import wilson_interval

    if not model:
        return "the model was evaluated on at least one problem", False
    lo, _ = wilson_interval(sum(model), len(model), confidence)
    c = sum(copy) / max(1, len(copy))
    return (f"the model learned something about planning (success lower bound {lo:.2f} > "
            f"copy-the-example baseline {c:.2f})", lo > c)


def autonomous_claim(model: Sequence[bool], copy: Sequence[bool], rule: Rule) -> Claim:
    """Autonomous plans are mostly invalid (Sec. 3, Table 1): success with a Wilson interval."""
    from neurips23.core.stats import wilson_interval

    n = len(model)
    rate = sum(model) / max(1, n)
    interval = wilson_interval(sum(model), n, rule.confidence) if n else (float("nan"),) * 2
    return measured_claim(
        f"Autonomous one-shot plans are mostly invalid (GPT-4: Blocksworld "
        f"{PAPER['bw_one_shot']}%, Logistics {PAPER['logistics_one_shot']}% valid)",
        "tiny LM one-shot success (Blocksworld)", rate, interval, rule, n=n,
        preconditions=[_learned(model, copy, rule.confidence)])


def obfuscation_claim(blocksworld: Sequence[bool], copy: Sequence[bool],
                      obfuscated: dict[str, Sequence[bool]], unwritable: dict[str, list[str]],
                      retained: float, rule: Rule) -> Claim:
    """Success collapses when the domain's names are obfuscated (Sec. 3): per vocabulary, the
    paired statistic mean(obfuscated_i - retained * blocksworld_i) must be below 0."""
    from neurips23.core.stats import bootstrap_ci

    paper = (f"Success collapses when actions and predicates are renamed (GPT-4 one-shot: "
             f"Blocksworld {PAPER['bw_one_shot']}% -> Mystery {PAPER['mystery_one_shot']}%)")
    learned = _learned(blocksworld, copy, rule.confidence)
    parts = []
    for name, obf in obfuscated.items():
        d = [o - retained * b for o, b in zip(obf, blocksworld, strict=True)]
        est, lo, hi = bootstrap_ci(d, lambda xs: sum(xs) / len(xs), confidence=rule.confidence)
        missing = unwritable.get(name, [])
        ours = (f"{name}: success {sum(obf) / max(1, len(obf)):.0%} vs Blocksworld "
                f"{sum(blocksworld) / max(1, len(blocksworld)):.0%}; obfuscated - {retained:g} x "
                f"Blocksworld = {est:.3f} [{lo:.3f}, {hi:.3f}], n = {len(d)}")
        parts.append(measured_claim(
            paper, f"{name} success - {retained:g} x Blocksworld success (paired)", est,
            (lo, hi), rule, n=len(d), ours=ours, preconditions=[
                learned, (f"the model can write every word of the {name} plans (not testable: "
                          f"missing {', '.join(missing[:6])})" if missing else
                          f"the model can write every word of the {name} plans", not missing)]))
    return _combined(paper, parts, rule)


def backprompt_claim(feedback: Sequence[bool], resample: Sequence[bool], rounds: int,
                     rule: Rule, first_round: Sequence[bool] = ()) -> Claim:
    """Verifier feedback helps (Sec. 4): success within `rounds` plans with back-prompting vs
    the no-feedback resampling control with as many plans, paired by problem."""
    from neurips23.core.stats import mcnemar_p, paired_diff_ci

    n = len(feedback)
    fb = [float(x) for x in feedback]
    rs = [float(x) for x in resample]
    est, lo, hi = paired_diff_ci(fb, rs) if n else (float("nan"),) * 3
    p = mcnemar_p(list(feedback), list(resample)) if n else float("nan")
    r1 = f"; round 1 alone {sum(first_round) / len(first_round):.0%}" if first_round else ""
    ours = (f"within {rounds} plans: feedback {sum(fb) / max(1, n):.0%}, resampling "
            f"{sum(rs) / max(1, n):.0%}{r1}; difference {est:.3f} [{lo:.3f}, {hi:.3f}], "
            f"McNemar p = {p:.3g}, n = {n}")
    return measured_claim(
        f"Back-prompting with a sound verifier's feedback raises success (GPT-4 within 15 "
        f"rounds: Blocksworld {PAPER['bw_backprompt']}%, Logistics "
        f"{PAPER['logistics_backprompt']}%, Mystery {PAPER['mystery_backprompt']}%)",
        f"success with feedback - success resampling without feedback, {rounds} plans each",
        est, (lo, hi), rule, n=n, ours=ours,
        preconditions=[("some plan in either arm is valid (else the test has no power)",
                        any(feedback) or any(resample))])


def heuristic_claim(effort: dict[str, Sequence[float]], planner: str, rule: Rule,
                    max_dropped: float) -> Claim:
    """Model plans as seeds cut a sound planner's search (Sec. 5): paired effort differences
    model - empty and model - random on the problems every arm finished, both below 0."""
    from neurips23.core.stats import paired_diff_ci

    paper = ("LLM plans as seeds cut a sound planner's search (LPG steps: GPT-4 seed below "
             "empty and random seeds)")
    n = len(effort["model"])
    keep = [i for i in range(n) if all(effort[k][i] == effort[k][i] for k in effort)]
    dropped = n - len(keep)
    finished = (f"the planner finished every arm on at least {1 - max_dropped:.0%} of problems "
                f"({dropped} of {n} dropped)", n > 0 and dropped <= max_dropped * n)
    parts = []
    for other in ("empty", "random"):
        a = [effort["model"][i] for i in keep]
        b = [effort[other][i] for i in keep]
        est, lo, hi = paired_diff_ci(a, b) if keep else (float("nan"),) * 3
        ours = (f"{planner} effort model seed {_mean(a):.1f} vs {other} {_mean(b):.1f}: "
                f"difference {est:.2f} [{lo:.2f}, {hi:.2f}], n = {len(keep)}")
        parts.append(measured_claim(paper, f"effort(model seed) - effort({other} seed)", est,
                                    (lo, hi), rule, n=len(keep), ours=ours,
                                    preconditions=[finished]))
    return _combined(paper, parts, rule)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def _combined(paper: str, parts: list[Claim], rule: Rule) -> Claim:
    """One claim that must hold in every part; its text lists each part's figure."""
    from dataclasses import asdict

    verdict = combine(p.verdict for p in parts)
    notes = sorted({d["what"] for p in parts for d in p.preconditions if not d["holds"]})
    ours = "; ".join(p.ours.split("; precondition not met")[0] for p in parts)
    if notes:
        ours += "; precondition not met: " + "; ".join(notes)
    return Claim(paper=paper, ours=ours, verdict=verdict,
                 statistic=" and ".join(p.statistic for p in parts), n=min(
                     (p.n for p in parts if p.n is not None), default=None),
                 rule=asdict(rule), preconditions=[d for p in parts for d in p.preconditions])


def make_claims(cfg: PlanningConfig, ev: dict) -> list[Claim]:
    """The four claims from the per-problem outcomes in `ev` (see `run_planning`)."""
    k = min(cfg.backprompt_rounds, cfg.resample_samples)
    return [
        autonomous_claim(ev["model"], ev["copy"], cfg.autonomous_rule),
        obfuscation_claim(ev["model"], ev["copy"], ev["obfuscated"], ev["unwritable"],
                          cfg.obfuscation_retained, cfg.obfuscation_rule),
        backprompt_claim(ev["feedback"], ev["resample"], k, cfg.backprompt_rule,
                         ev["first_round"]),
        heuristic_claim(ev["effort"], ev["planner"], cfg.heuristic_rule,
                        cfg.heuristic_max_dropped),
    ]


def make_plots(run, m: dict) -> None:
    """Success by blocks, back-prompting curve, heuristic effort."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    keys = [k for k in m["autonomous"] if k != "all"]
    w = 0.27
    for j, (name, lab) in enumerate((("model", "tiny LM"), ("copy_example", "copy example"),
                                     ("nearest_train", "nearest training plan"))):
        ax.bar([i + (j - 1) * w for i in range(len(keys))],
               [m["autonomous"][k][name] for k in keys], w, label=lab)
    ax.set_xticks(range(len(keys)), [f"{k} blocks" for k in keys])
    ax.set_ylabel("valid plans")
    ax.set_title("Autonomous mode (one-shot), Blocksworld")
    ax.legend(fontsize=8)
    run.save_plot(fig, "autonomous_by_blocks")

    b = m["backprompt"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ks = sorted(b["success_at"])
    ax.plot(ks, [b["success_at"][k] for k in ks], "o-", label="back-prompting (validator)")
    rk = sorted(b["resample_success_at"])
    ax.plot(rk, [b["resample_success_at"][k] for k in rk], "s--", label="resampling, no feedback")
    ax.set_xlabel("rounds / samples")
    ax.set_ylabel("solved")
    ax.legend(fontsize=8)
    run.save_plot(fig, "backprompting")

    h = m["heuristic"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(["model seed", "empty seed", "random seed"],
           [h["mean_effort_model"], h["mean_effort_empty"], h["mean_effort_random"]])
    ax.set_ylabel(f"mean search effort ({h['planner']})")
    run.save_plot(fig, "heuristic_effort")


REPRODUCTION = Reproduction(
    name="planning", title="On the planning abilities of LLMs (Valmeekam et al. 2023)",
    config=PlanningConfig, profiles=PROFILES, run=run_planning,
    finding_profiles=("full", "released"))
