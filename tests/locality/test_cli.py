"""`neurips23 locality ...` end to end on a small world, and bad input as one clear line."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from neurips23.cli import app
from neurips23.errors import UserError
from neurips23.locality.bayesnet import exact_conditional
from neurips23.locality.formats import parse_sample
from neurips23.locality.world import load_world

runner = CliRunner()


@pytest.fixture(scope="module")
def world_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "world.json"
    res = runner.invoke(app, ["locality", "net", "--out", str(path), "--n-vars", "14",
                              "--n-edges", "15", "--n-pairs", "2", "--seed", "3"])
    assert res.exit_code == 0, res.output
    return path


def test_net_writes_a_world_with_held_out_pairs(world_file):
    w = load_world(world_file)
    assert w.net.n_vars == 14 and len(w.net.edges) == 15 and len(w.pairs) == 2
    assert all(p.distance >= 2 for p in w.pairs)


def test_query_prints_the_exact_conditional(world_file):
    res = runner.invoke(app, ["locality", "query", str(world_file), "X3", "--given", "X1=1"])
    assert res.exit_code == 0, res.output
    w = load_world(world_file)
    assert f"{exact_conditional(w.net, 3, {1: 1}):.6f}" in res.output


def test_data_train_estimate(world_file, tmp_path):
    data = tmp_path / "samples.jsonl"
    res = runner.invoke(app, ["locality", "data", "--world", str(world_file), "--n", "300",
                              "--format", "local_zipf", "--out", str(data)])
    assert res.exit_code == 0, res.output
    texts = [json.loads(line)["text"] for line in data.read_text().splitlines()]
    pairs = load_world(world_file).pair_tuples
    for t in texts:
        seen = {v for v, _ in parse_sample(t)[1]}
        assert not any(a in seen and b in seen for a, b in pairs)
    model = tmp_path / "model"
    args = ["locality", "train", "--world", str(world_file), "--out", str(model), "--n-train", "200",
            "--steps", "4", "--batch-size", "4", "--hidden-size", "16", "--layers", "1",
            "--heads", "2", "--checkpoint-every", "2"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert (model / "config.json").exists() and (model / "checkpoint.pt").exists()
    res = runner.invoke(app, args[:-2] + ["--checkpoint-every", "3"])  # other settings, same dir
    assert isinstance(res.exception, UserError) and "different settings" in str(res.exception)
    out = tmp_path / "rows.jsonl"
    res = runner.invoke(app, ["locality", "estimate", "--model", str(model), "--world", str(world_file),
                              "--n-samples", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 8 and all({"truth", "marginal", "direct", "free"} <= set(r) for r in rows)
    assert "marginal (control)" in res.output
    res = runner.invoke(app, ["locality", "estimate", "--model", str(model), "--world", str(world_file),
                              "--n-samples", "2", "--estimators", "free", "--max-steps", "2",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["free_steps"] <= 2 for r in rows) and "free generation" not in res.output


@pytest.mark.parametrize("args, message", [
    (["query", "{w}", "X3", "--given", "X1=2"], "expected VAR=0 or VAR=1"),
    (["query", "{w}", "X99"], "X99"),
    (["data", "--world", "{w}", "--format", "global"], "training format 'global'"),
    (["estimate", "--world", "{tmp}/missing.json"], "missing.json"),
    (["estimate", "--world", "{w}", "--estimators", "direct,oracle"], "estimator 'oracle'"),
    (["estimate", "--world", "{w}", "--max-steps", "0"], "--max-steps 0: free generation needs"),
])
def test_bad_input_is_a_user_error(world_file, tmp_path, args, message):
    args = [a.format(w=world_file, tmp=tmp_path) for a in args]
    if args[0] == "estimate":
        args += ["--model", str(tmp_path)]  # not a model: the other error must come first
    res = runner.invoke(app, ["locality", *args])
    assert isinstance(res.exception, UserError), res.output
    assert message in str(res.exception)


def test_cli_prints_one_line_and_exits_2(world_file):
    res = subprocess.run([sys.executable, "-m", "neurips23.cli", "locality", "query", str(world_file),
                          "X3", "--given", "X1=7"], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["error: --given 'X1=7': expected VAR=0 or VAR=1"]
