"""`neurips23 tot run` end to end with a scripted backend; bad input gives a clear error."""

from __future__ import annotations

import json

import pytest
from tot_fake_lm import FakeGame24LM
from typer.testing import CliRunner

from neurips23.errors import UserError
from neurips23.tot.cli import app
from neurips23.tot.game24 import int_solvable

runner = CliRunner()


@pytest.fixture
def fake_backend(monkeypatch):
    import neurips23.lm.backends as backends

    made = []

    def load_backend(kind, model, **kw):
        made.append((kind, model, kw))
        return FakeGame24LM()

    monkeypatch.setattr(backends, "load_backend", load_backend)
    return made


def _results(out: str):
    run_dir = out.strip().splitlines()[-1]
    res = json.loads(open(f"{run_dir}/results.json").read())
    rows = [json.loads(line) for line in open(f"{run_dir}/samples.jsonl")]
    return res, rows


def test_tot_run_on_a_puzzle_file(tmp_path, fake_backend):
    csv = tmp_path / "24.csv"
    puzzles = ["4 5 6 10", "1 1 1 1", "3 3 8 8", "2 9 10 12"]
    csv.write_text("Rank,Puzzles\n" + "".join(f"{i},{p}\n" for i, p in enumerate(puzzles)))
    result = runner.invoke(app, ["run", "--backend", "openai", "--model", "m",
                                 "--base-url", "http://x/v1", "--puzzle-file", str(csv),
                                 "--puzzles", "0-3", "--runs-dir", str(tmp_path / "runs"),
                                 "--chunk", "2"])
    assert result.exit_code == 0, result.output
    res, rows = _results(result.output)
    expected = [int_solvable(tuple(int(t) for t in p.split())) for p in puzzles]
    assert [r["correct"] for r in rows] == expected  # exact values => solvable ones solved
    assert res["metrics"]["success"] == pytest.approx(sum(expected) / 4)
    assert all(r["calls"] > 0 and r["cost_usd"] > 0 for r in rows)
    assert fake_backend[0][2]["base_url"] == "http://x/v1"


def test_cot_sc_run(tmp_path, fake_backend):
    result = runner.invoke(app, ["run", "--method", "cot-sc", "--model", "m", "--k", "5",
                                 "--puzzles", "900-901", "--no-few-shot",
                                 "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    res, rows = _results(result.output)
    assert len(rows) == 2 and all("mean_correct" in r for r in rows)
    assert res["metrics"]["success"] == pytest.approx(sum(r["correct"] for r in rows) / 2)
    assert res["metrics"]["mean_correct_over_samples"] == pytest.approx(
        sum(r["mean_correct"] for r in rows) / 2)


@pytest.mark.parametrize("args, message", [
    (["--method", "bfs"], "'method': 'bfs' is not one of tot, io, cot, cot-sc"),
    (["--task", "crosswords"], "'task': 'crosswords' is not one of game24"),
    (["--b", "0"], "--b 0: must be at least 1"),
    (["--puzzles", "1300-1400"], "outside 0-1361"),
    (["--puzzle-file", "/nonexistent/24.csv"], "puzzle file not found"),
])
def test_bad_input_is_a_user_error(tmp_path, fake_backend, args, message):
    result = runner.invoke(app, ["run", "--model", "m", "--runs-dir", str(tmp_path), *args])
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


def test_solve_command():
    result = runner.invoke(app, ["solve", "3", "3", "8", "8"])
    assert result.exit_code == 0 and result.output.startswith("Answer: ")


def test_dfs_rejects_settings_it_cannot_honour():
    from neurips23.errors import ConfigError
    from neurips23.tot.game24 import Game24Task
    from neurips23.tot.search import DFSConfig, dfs

    with pytest.raises(ConfigError, match="only 'value'"):
        dfs(Game24Task(), None, "4 5 6 10", DFSConfig(evaluate="vote"))
    with pytest.raises(ConfigError, match="at least 1"):
        dfs(Game24Task(), None, "4 5 6 10", DFSConfig(max_children=0))


def test_tot_run_progress_moves_per_search_step(tmp_path, fake_backend, monkeypatch):
    """The bar advances after every BFS step of a chunk, not only when the chunk is done."""
    from rich.progress import Progress

    updates = []
    update = Progress.update

    def record(self, task_id, **kw):
        update(self, task_id, **kw)
        updates.append(self.tasks[0].completed)

    monkeypatch.setattr(Progress, "update", record)
    result = runner.invoke(app, ["run", "--model", "m", "--puzzles", "900-903", "--chunk", "4",
                                 "--no-few-shot", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert updates == pytest.approx([1, 2, 3, 4, 4])  # 4 steps of 4 puzzles, then the chunk
