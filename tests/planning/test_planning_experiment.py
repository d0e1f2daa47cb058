"""The reproduction's pieces: held-out data, baselines, repair episodes, the word-level wrapper,
and one tiny end-to-end run through `neurips23 reproduce planning` that writes complete
records."""

import json

from neurips23.planning.experiment import make_datasets, nearest_training_plan, training_texts
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
        "train_problems=40", "test_per_blocks=2", "train_steps=2", "batch_size=4",
        "max_new_tokens=12", "backprompt_instances=2", "backprompt_rounds=2",
        "resample_samples=2", "heuristic_instances=6", "planner=local"))
    res = json.loads((run_dir / "results.json").read_text())
    assert len(res["claims"]) == 4 and res["profile"] == "quick" and not res["finding"]
    assert set(res["metrics"]["autonomous"]) == {"3", "4", "5", "all"}
    assert res["metrics"]["heuristic"]["planner"] == "seeded-gbfs"
    rows = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    auto = [r for r in rows if r["mode"] == "autonomous"]
    assert len(auto) == 6 * 3  # blocksworld + two obfuscated vocabularies
    for key in ("prompt", "raw_output", "plan", "unparsed", "valid"):
        assert key in auto[0]
    assert any(r["mode"] == "backprompt" and r["rounds"] for r in rows)
    assert all((run_dir / p).exists() for p in res["plots"]) and len(res["plots"]) == 3
