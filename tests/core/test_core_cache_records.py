import json
import threading
from pathlib import Path

import pytest

from neurips23.core.run import Claim, load_runs, start_run
from neurips23.lm import cache
from neurips23.report.html import build_report


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURIPS23_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_get_or_train_builds_once_even_when_asked_concurrently(tmp_cache):
    calls = []

    def build(tmp: Path) -> None:
        calls.append(1)
        (tmp / "weights.bin").write_text("w")

    spec = {"size": "nano", "task": "reverse", "seed": 0}
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_train(spec, build)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1
    assert (results[0] / "weights.bin").read_text() == "w"
    assert cache.get_or_train(spec, build) == results[0] and len(calls) == 1
    assert cache.get_or_train({**spec, "seed": 1}, build) != results[0]
    [entry] = [m for m in cache.list_models() if m["spec"] == spec]
    assert cache.show_model(entry["key"][:6])["key"] == entry["key"]


def test_interrupted_build_leaves_no_entry(tmp_cache):
    def broken(tmp: Path) -> None:
        (tmp / "half").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_train({"k": 1}, broken)
    assert cache.list_models() == []
    assert not [p for p in (tmp_cache / "models").iterdir()]  # no tmp debris
    done = cache.get_or_train({"k": 1}, lambda tmp: (tmp / "ok").write_text("1"))
    assert (done / "ok").exists()


def test_run_record_and_report(tmp_path):
    import matplotlib.pyplot as plt

    run = start_run("demo", {"a": 1}, tmp_path / "runs", profile="quick")
    run.log_samples([{"x": 1}, {"x": 2}])
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    run.save_plot(fig, "curve")
    run.finish({"acc": 0.5, "nested": {"b": 2}},
               [Claim("Paper says X > Y.", "we measured X - Y = 0.1", "reproduced")], seeds=[0, 1])
    results = json.loads((run.dir / "results.json").read_text())
    assert results["metrics"]["acc"] == 0.5 and results["seeds"] == [0, 1]
    assert results["plots"] == ["curve.png"] and "torch" in results["versions"]
    assert (run.dir / "config.resolved.yaml").read_text() == "a: 1\n"
    assert len((run.dir / "samples.jsonl").read_text().splitlines()) == 2
    assert load_runs(tmp_path / "runs")[0]["run_id"] == run.id
    index = build_report(tmp_path / "runs", tmp_path / "report")
    page = index.read_text()
    assert "Paper says X &gt; Y." in page and "data:image/png;base64," in page
    with pytest.raises(ValueError):
        Claim("a", "b", "sort of")


def test_run_record_names_the_commit_the_run_started_with(tmp_path, monkeypatch):
    import neurips23.core.run as records

    monkeypatch.setattr(records, "git_commit", lambda: "aaaa")
    run = start_run("demo", None, tmp_path, "quick")
    monkeypatch.setattr(records, "git_commit", lambda: "bbbb")  # a commit lands mid-run
    path = run.finish({"x": 1})
    assert json.loads(Path(path).read_text())["git_commit"] == "aaaa"


def test_cached_tiny_lm_logs_training_progress_and_only_when_it_trains(tmp_cache):
    from neurips23.lm.data import Example
    from neurips23.lm.tiny import cached_tiny_lm
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.lm.train import TrainConfig

    def data():
        return build_char_tokenizer("abc"), [Example("a", "bc"), Example("b", "ca")]

    lines: list[str] = []
    size = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    train = TrainConfig(steps=20, batch_size=2, log_every=5)
    path = cached_tiny_lm({"kind": "progress-test"}, data, size, train, progress=False,
                          log=lines.append)
    assert [line.split(" (")[0] for line in lines] == [
        f"training the tiny model: step {k}/20" for k in range(2, 21, 2)]
    lines.clear()  # a cache hit trains nothing and says nothing
    assert cached_tiny_lm({"kind": "progress-test"}, data, size, train, log=lines.append) == path
    assert lines == []
