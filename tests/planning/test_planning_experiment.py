"""The reproduction's pieces: held-out data, baselines, repair episodes, the word-level wrapper,
and one tiny end-to-end run through `neurips23 reproduce planning` that writes complete
records."""

import json
import re

import pytest

from neurips23.planning.experiment import make_datasets, nearest_training_plan, training_texts
from neurips23.planning.refs import lpg_binary
from neurips23.planning.wordlm import from_words, to_words


def test_test_problems_are_held_out_and_repair_episodes_present():
    d = make_datasets([3, 4, 5], train_problems=200, test_per_blocks=10)
    test_keys = {(t.problem.init, t.problem.goal) for t in d["test"]}
    assert not test_keys & {(t.problem.init, t.problem.goal) for t in d["train"]}
    pairs = training_texts(d["train"], repair_fraction=0.5)
    with_fb = [p for p, _ in pairs if "[FEEDBACK]" in p]
    assert 0.3 < len(with_fb) / len(pairs) < 0.7
    assert all("The above plan is invalid." in p for p in with_fb)
    assert all(r.endswith("[PLAN END]") for _, r in pairs)
    text = "a\nb c\n\nd"
    assert from_words(to_words(text)).replace(" ", "") == text.replace(" ", "")


def test_nearest_training_plan_is_the_most_similar_problem():
    d = make_datasets([3, 4, 5], train_problems=60, test_per_blocks=2)
    probe = d["train"][17]
    assert nearest_training_plan(probe, d["train"]) == probe.plan  # identical problem wins


def test_tiny_end_to_end_run_writes_records(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    from neurips23.core.reproduction import reproduce

    run_dir = reproduce("planning", "quick", runs_dir=tmp_path / "runs", overrides=(
        "train_problems=40", "test_per_blocks=2", "train.steps=2", "train.batch_size=4",
        "train.warmup_steps=0",
        "max_new_tokens=12", "backprompt_instances=2", "backprompt_rounds=2",
        "resample_samples=2", "heuristic_instances=6", "planner=local"))
    res = json.loads((run_dir / "results.json").read_text())
    assert len(res["claims"]) == 4 and res["profile"] == "quick" and not res["finding"]
    assert set(res["metrics"]["autonomous"]) == {"3", "4", "5", "all"}
    assert res["metrics"]["heuristic"]["planner"] == "seeded-gbfs"
    assert res["metrics"]["obfuscated_unwritable_words"] == {"mystery_blocksworld": [],
                                                             "random_blocksworld": []}
    assert set(res["tables"]) >= {"autonomous success by blocks", "heuristic mode"}
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    auto = [r for r in rows if r["mode"] == "autonomous"]
    assert len(auto) == 6 * 3  # blocksworld + two obfuscated vocabularies
    for key in ("prompt", "raw_output", "plan", "unparsed", "valid"):
        assert key in auto[0]
    assert any(r["mode"] == "backprompt" and r["rounds"] for r in rows)
    assert all((run_dir / p).exists() for p in res["plots"]) and len(res["plots"]) == 3


def test_obfuscated_words_are_writable_only_with_the_vocabulary_sentences():
    """The word tokenizer built from Blocksworld text alone maps every Mystery action word to
    <unk> (Mystery success 0 by construction); the vocabulary sentences fix that."""
    from neurips23.lm.tokenizers import build_word_tokenizer
    from neurips23.planning.domains.registry import get_domain
    from neurips23.planning.experiment import obfuscation_words, vocabulary_sentences, writable

    d = make_datasets([3, 4], train_problems=30, test_per_blocks=1)
    pairs = [to_words(p + " " + r) for p, r in training_texts(d["train"])]
    spec = get_domain("mystery_blocksworld")
    v = spec.verbalizer(False)
    texts = [v.plan(spec.plan_to_local(t.plan)) for t in d["test"]]
    bw_only = build_word_tokenizer(pairs).get_vocab()
    assert {"attack", "feast"} & set(writable(bw_only, texts))
    words = [w for n in ("mystery_blocksworld", "random_blocksworld")
             for w in obfuscation_words(n)]
    sentences = vocabulary_sentences(words, len(words))
    assert all(w in " ".join(sentences).split() for w in words)
    assert not any(re.search(r"\b(attack|feast|succumb|overcome) object\b", s)
                   for s in sentences)  # never in a planning role
    both = build_word_tokenizer(pairs + sentences).get_vocab()
    assert writable(both, texts) == []


def test_heuristic_experiment_counts_planner_failures(monkeypatch):
    """A planner that does not finish leaves NaN effort, counted per arm and status; the
    problem is dropped from the comparison, never silently."""
    import random

    import neurips23.planning.heuristic as heuristic
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.experiment import heuristic_experiment
    from neurips23.planning.modes import Query

    real = heuristic.repair

    def flaky(domain, problem, seed_plan, **kw):
        res = real(domain, problem, seed_plan, planner="local", **{
            k: v for k, v in kw.items() if k != "planner"})
        if seed_plan and problem.name.endswith("-1"):
            res.solved, res.status, res.message = False, "crashed", "exit code -11"
        return res

    monkeypatch.setattr(heuristic, "repair", flaky)
    insts = generate_instances("blocksworld", 4, seed=2, blocks=(3, 4))
    qs = [Query(i.problem, None, {"blocks": i.meta["blocks"]}) for i in insts]
    rows = [{"plan": i.plan[:-1], "valid": False} for i in insts]
    m, hrows = heuristic_experiment(get_domain("blocksworld"), qs, rows, random.Random(0))
    h = m["heuristic"]
    assert h["n"] == 4 and h["n_dropped"] == 2  # bw-3-1 and bw-4-1
    assert h["failed"]["model"] == {"crashed": 2} and h["failed"]["empty"] == {}
    assert any("crashed (exit code -11)" in r["planner_status_model"][0] for r in hrows)


@pytest.mark.skipif(lpg_binary() is None, reason="LPG-td (up-lpg) not installed")
def test_lpg_gets_only_the_seed_steps_it_can_read():
    """Unknown objects, wrong arity and actions LPG's grounding drops ((stack a a)) crash
    LPG-td; they are removed from the seed and counted."""
    from neurips23.planning.domains.registry import generate_instances, get_domain
    from neurips23.planning.heuristic import repair

    dom = get_domain("blocksworld").domain
    [inst] = generate_instances("blocksworld", 1, seed=3, blocks=(4,))
    junk = ["(unstack a z)", "(pick-up a b)", "(stack a a)", "(fly a b)"]
    res = repair(dom, inst.problem, junk, planner="lpg", timeout=10)
    assert res.solved and res.status == "solved" and res.seed_steps_dropped == 4
    res = repair(dom, inst.problem, junk + inst.plan, planner="lpg", timeout=10)
    assert res.solved and res.seed_steps_dropped >= 3 and res.flips <= 2
