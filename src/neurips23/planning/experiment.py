"""The paper's four experiments as functions over any `LanguageModel`: autonomous planning
(with the copy-the-example and nearest-training-plan baselines), obfuscation (the same
problems renamed), back-prompting with the no-feedback resampling control, and heuristic mode
(the model's plan seeds a sound planner). The reproduction and `neurips23 plan eval` both call
them; the data for the tiny LM (held-out test problems, repair episodes) lives here too."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from neurips23.planning import nl
from neurips23.planning.domains.registry import DomainSpec, Instance, generate_instances, get_domain
from neurips23.planning.modes import Query, _continue_text, autonomous, backprompt, judge, resample

# ------------------------------------------------------------------ data


def corrupt(plan: list[str], rng: random.Random, actions: list[str]) -> list[str]:
    """A plausible wrong plan: one step deleted, two swapped, or one replaced."""
    kind = rng.choice(["delete", "swap", "replace"])
    p = list(plan)
    i = rng.randrange(len(p))
    if kind == "delete" or len(p) < 2:
        del p[i]
    elif kind == "swap":
        j = min(i + 1, len(p) - 1) if i + 1 < len(p) else i - 1
        p[i], p[j] = p[j], p[i]
    else:
        p[i] = rng.choice(actions)
    return p


def make_datasets(blocks: Sequence[int], train_problems: int, test_per_blocks: int,
                  seed: int = 0) -> dict:
    """Test instances first, then training problems with every test (init, goal) held out."""
    blocks = tuple(int(b) for b in blocks)
    seen: set = set()
    test = generate_instances("blocksworld", test_per_blocks * len(blocks), seed=seed + 1000,
                              blocks=blocks, seen=seen)
    train = generate_instances("blocksworld", train_problems, seed=seed, blocks=blocks,
                               seen=seen)
    random.Random(seed + 1).shuffle(test)  # subsets (back-prompting, heuristic) mix sizes
    return {"test": test, "train": train, "blocks": blocks}


def training_texts(train: list[Instance], intro: bool = False, repair_fraction: float = 0.2,
                   seed: int = 0) -> list[tuple[str, str]]:
    """(prompt, response) pairs in plain text: one-shot queries, and repair episodes (a wrong
    plan, its PlanBench feedback, then the right plan) for back-prompting."""
    from neurips23.pddl.task import ground
    from neurips23.pddl.validate import validate_plan

    spec = get_domain("blocksworld")
    v = spec.verbalizer(intro)
    rng = random.Random(seed + 7)
    pairs = []
    for k, inst in enumerate(train):
        ex = train[rng.randrange(len(train))]
        if ex is inst:
            ex = train[(k + 1) % len(train)]
        prompt = nl.one_shot_prompt(v, ex.problem, ex.plan, inst.problem, intro)
        response = v.plan(inst.plan) + "\n[PLAN END]"
        if rng.random() < repair_fraction:
            acts = [str(a) for a in ground(spec.domain, inst.problem).actions]
            for _ in range(5):
                wrong = corrupt(inst.plan, rng, acts)
                res = validate_plan(spec.domain, inst.problem, wrong)
                if not res.valid:
                    break
            if not res.valid:
                j = judge(spec, v, inst.problem, v.plan(wrong))
                prompt = _continue_text(prompt, v.plan(wrong), j["feedback"])
        pairs.append((prompt, response))
    return pairs


# Sentences that use a word in roles unrelated to planning, so a model trained from scratch
# can write the obfuscated vocabularies' words without ever seeing them as actions or facts.
_OTHER_ROLES = ("the word {0} is in the list", "i read about {0} in a book",
                "{0} is a word i know", "they talked about {0} and {1} for an hour",
                "we saw {0} on the sign", "the letter after {1} is not {0}",
                "my note says {0} then {1}", "nobody wrote {0} on the wall")


def obfuscation_words(name: str) -> list[str]:
    """Every word an obfuscated domain's prompts and plans use (templates and objects, also
    followed by ',' or '.': the word tokenizer splits on whitespace only)."""
    import re

    from neurips23.planning.domains.blocksworld import BLOCK_NAMES

    spec = get_domain(name)
    v = spec.verbalizer(False)
    text = " ".join([*v.predicates.values(), *v.actions.values()])
    words = {w for w in re.sub(r"\{\d+\}", " ", text).split()}
    objects = (spec.renaming.objects if spec.renaming and spec.renaming.objects else
               {b: b for b in BLOCK_NAMES[:12]})
    words |= {w for o in objects.values() for w in v.obj(o).split()}
    return sorted(words | {w + p for w in words for p in ",."})  # as statements punctuate


def vocabulary_sentences(words: Sequence[str], n: int, seed: int = 0) -> list[str]:
    """`n` short sentences using `words` in roles unrelated to planning (every word appears
    when n >= len(words)), the pretraining text that lets a tiny LM write them."""
    rng = random.Random(seed)
    words = list(words)
    out = []
    for k in range(n):
        w = words[k % len(words)] if k < len(words) else rng.choice(words)
        out.append(rng.choice(_OTHER_ROLES).format(w, rng.choice(words)))
    return out


def writable(vocab: set[str] | dict, texts: Sequence[str]) -> list[str]:
    """The words of `texts` missing from a word-level vocabulary (empty: all writable)."""
    from neurips23.planning.wordlm import to_words

    return sorted({w for t in texts for w in to_words(t).split() if w not in vocab})


# ------------------------------------------------------------------ baselines


def _features(inst_or_problem) -> frozenset:
    p = getattr(inst_or_problem, "problem", inst_or_problem)
    return frozenset(("i", *a) for a in p.init) | frozenset(("g", *a) for a in p.goal)


def nearest_training_plan(test: Instance, train: list[Instance]) -> list[str]:
    """The plan of the most similar training problem (Jaccard over init and goal atoms): the
    retrieval control for the paper's "approximate retrieval" reading."""
    f = _features(test)
    same = [t for t in train if t.problem.objects.keys() == test.problem.objects.keys()] or train
    best = max(same, key=lambda t: len(f & _features(t)) / len(f | _features(t)))
    return best.plan


# ------------------------------------------------------------------ 1. autonomous


def autonomous_experiment(lm, spec: DomainSpec, queries: Sequence[Query],
                          style: str = "one_shot", intro: bool = True, max_tokens: int = 256,
                          train: list[Instance] | None = None, chat: bool = False
                          ) -> tuple[dict, list[dict]]:
    """Autonomous mode (Sec. 3) with the copy-the-example baseline (and the nearest-training-
    plan baseline when `train` is given): success overall and by block count."""
    rows = autonomous(lm, spec, queries, style, intro, max_tokens, chat=chat)
    v = spec.verbalizer(intro)
    for r, q in zip(rows, queries, strict=True):
        if q.example is not None:
            r["copy_valid"] = judge(spec, v, q.problem, v.plan(q.example.plan))["valid"]
        if train is not None:
            nearest = nearest_training_plan(Instance(q.problem), train)
            r["nearest_valid"] = judge(spec, v, q.problem, v.plan(nearest))["valid"]
    groups = sorted({r["blocks"] for r in rows if "blocks" in r})
    by: dict[str, Any] = {}
    for b in (*groups, "all"):
        sel = [r for r in rows if b == "all" or r.get("blocks") == b]
        by[str(b)] = {k: sum(r[f] for r in sel) / max(1, len(sel)) for k, f in
                      (("model", "valid"), ("copy_example", "copy_valid"),
                       ("nearest_train", "nearest_valid")) if all(f in r for r in sel)}
        by[str(b)]["n"] = len(sel)
    return {"autonomous": by, "unparsed_lines_per_output":
            sum(len(r["unparsed"]) for r in rows) / max(1, len(rows))}, rows


# ------------------------------------------------------------------ 2. obfuscation


def obfuscated_queries(name: str, queries: Sequence[Query]) -> list[Query]:
    """Blocksworld queries (problem and example) renamed into the vocabulary of `name`."""
    spec = get_domain(name)
    out = []
    for q in queries:
        ex = q.example
        local_ex = None if ex is None else Instance(spec.to_local(ex.problem),
                                                    spec.plan_to_local(ex.plan))
        out.append(Query(spec.to_local(q.problem), local_ex, {**q.meta, "domain": name}))
    return out


def obfuscation_experiment(lm, queries: Sequence[Query],
                           vocabularies: Sequence[str] = ("mystery_blocksworld",
                                                          "random_blocksworld"),
                           style: str = "one_shot", intro: bool = True, max_tokens: int = 256,
                           chat: bool = False) -> tuple[dict, list[dict]]:
    """The same Blocksworld problems in Mystery and randomised vocabularies (Sec. 3): success
    per vocabulary."""
    success, rows = {}, []
    for name in vocabularies:
        m, r = autonomous_experiment(lm, get_domain(name), obfuscated_queries(name, queries),
                                     style, intro, max_tokens, chat=chat)
        rows += r
        success[name] = m["autonomous"]["all"]["model"]
    return {"obfuscated": success}, rows


# ------------------------------------------------------------------ 3. back-prompting


def backprompting_experiment(lm, spec: DomainSpec, queries: Sequence[Query], rounds: int = 15,
                             style: str = "one_shot", intro: bool = True, max_tokens: int = 256,
                             history: int | None = None, verifier: str = "validator",
                             chat: bool = False, resample_samples: int = 0,
                             resample_temperature: float = 0.7, seed: int = 0
                             ) -> tuple[dict, list[dict]]:
    """Back-prompting (Sec. 4): up to `rounds` plans with the verifier's feedback, beside the
    no-feedback control of `resample_samples` independent samples (0: no control)."""
    brows = backprompt(lm, spec, queries, rounds=rounds, style=style, intro=intro,
                       max_tokens=max_tokens, history=history, verifier=verifier, chat=chat)
    n = max(1, len(queries))
    ks = sorted({int(k) for k in brows[0]["success_at"]}) if brows else []
    metrics = {
        "n": len(queries), "history_rounds": history,
        "success_at": {k: sum(r["success_at"][k] for r in brows) / n for k in ks},
        "mean_rounds_successful": (sum(r["rounds_used"] for r in brows if r["valid"]) /
                                   max(1, sum(r["valid"] for r in brows))),
    }
    rrows: list[dict] = []
    if resample_samples > 0:
        m, rrows = resampling_experiment(lm, spec, queries, resample_samples,
                                         resample_temperature, style, intro, max_tokens,
                                         seed, chat)
        metrics["resample_success_at"] = {k: x for k, x in m["success_at"].items() if k in ks}
    return {"backprompt": metrics}, brows + rrows


def resampling_experiment(lm, spec: DomainSpec, queries: Sequence[Query], samples: int = 15,
                          temperature: float = 0.7, style: str = "one_shot", intro: bool = True,
                          max_tokens: int = 256, seed: int = 0, chat: bool = False
                          ) -> tuple[dict, list[dict]]:
    """The no-feedback control: `samples` independent plans per problem; success@k = one of
    the first k is valid."""
    rows = resample(lm, spec, queries, samples=samples, temperature=temperature, style=style,
                    intro=intro, max_tokens=max_tokens, seed=seed, chat=chat)
    n = max(1, len(queries))
    ks = sorted({int(k) for k in rows[0]["success_at"]}) if rows else []
    return {"n": len(queries), "samples": samples,
            "success_at": {k: sum(r["success_at"][k] for r in rows) / n for k in ks}}, rows


# ------------------------------------------------------------------ 4. heuristic mode


def heuristic_experiment(spec: DomainSpec, queries: Sequence[Query], model_rows: Sequence[dict],
                         rng: random.Random, planner: str = "auto", planner_seeds: int = 1,
                         timeout: float = 30.0, progress: bool = False
                         ) -> tuple[dict, list[dict]]:
    """Heuristic mode (Sec. 5): each model plan (`model_rows` as `autonomous` returns them,
    valid or not) seeds a sound planner, beside an empty seed and a random seed of the same
    length. An arm's effort on a problem is the mean over `planner_seeds` planner seeds; a
    planner that did not finish (unsolved, timeout, crash) leaves it NaN, and such problems
    are counted (`failed`, `n_dropped`), never silently left out."""
    from neurips23.pddl.task import ground
    from neurips23.planning.heuristic import levenshtein, random_seed_plan, repair

    arms = ("model", "empty", "random")
    effort: dict[str, list[float]] = {k: [] for k in arms}
    failed: dict[str, dict[str, int]] = {k: {} for k in arms}
    dropped_steps = dict.fromkeys(arms, 0)
    dist: list[int] = []
    rows = []
    items: Any = list(zip(queries, model_rows, strict=True))
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="heuristic mode", leave=False, disable=None)
    planner_name = ""
    for q, row in items:
        plan = row["plan"]
        task = ground(spec.domain, q.problem)
        seeds = {"model": list(plan), "empty": [],
                 "random": random_seed_plan(task, len(plan), rng)}
        rec = {"problem": q.problem.name, "mode": "heuristic", **q.meta,
               "model_plan_valid": row["valid"], "seed_length": len(plan)}
        for k, sp in seeds.items():
            fl, final, status = [], [], []
            for s in range(1, planner_seeds + 1):
                res = repair(spec.domain, q.problem, sp, planner=planner, rng_seed=s,
                             timeout=timeout, task=task)
                planner_name = res.planner
                fl.append(res.flips if res.solved else float("nan"))
                status.append(res.status + (f" ({res.message})" if res.message else ""))
                final = res.plan
                if not res.solved:
                    failed[k][res.status] = failed[k].get(res.status, 0) + 1
            dropped_steps[k] += res.seed_steps_dropped
            effort[k].append(sum(fl) / len(fl))
            rec[f"effort_{k}"] = effort[k][-1]
            rec[f"planner_status_{k}"] = status
            rec[f"seed_steps_dropped_{k}"] = res.seed_steps_dropped
            if k == "model":
                dist.append(levenshtein(sp, final))
                rec["levenshtein_seed_final"] = dist[-1]
                rec["final_length"] = len(final)
        rows.append(rec)
    n_dropped = sum(any(effort[k][i] != effort[k][i] for k in arms) for i in range(len(rows)))
    metrics = {"planner": planner_name, "n": len(rows), "n_dropped": n_dropped,
               "failed": failed, "seed_steps_dropped": dropped_steps,
               **{f"mean_effort_{k}": _nanmean(x) for k, x in effort.items()},
               "mean_levenshtein_seed_final": _nanmean(dist)}
    for other in ("empty", "random"):
        metrics[f"wilcoxon_p_model_vs_{other}"] = _wilcoxon_less(effort["model"], effort[other])
    return {"heuristic": metrics}, rows


def _nanmean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x == x]
    return sum(xs) / len(xs) if xs else float("nan")


def _wilcoxon_less(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided paired Wilcoxon p (a < b) over the pairs where both are numbers."""
    from scipy.stats import wilcoxon

    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x == x and y == y]
    if len(pairs) < 5 or not any(x - y for x, y in pairs):
        return float("nan")
    return float(wilcoxon([x for x, _ in pairs], [y for _, y in pairs],
                          alternative="less").pvalue)


def one_shot_queries(test: Sequence[Instance], examples: Sequence[Instance],
                     domain: str = "blocksworld",
                     meta: Callable[[Instance], dict] | None = None) -> list[Query]:
    """A query per test instance with its one-shot example."""
    return [Query(t.problem, e, {**(meta(t) if meta else {"blocks": t.meta["blocks"]}),
                                 "domain": domain})
            for t, e in zip(test, examples, strict=True)]
