"""`neurips23 editing trace | edit | analyze` on a saved model directory, and bad input."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from neurips23.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, gpt2, word_tok):
    from neurips23.lm.models import save_model

    return str(save_model(gpt2, word_tok, tmp_path_factory.mktemp("model") / "m"))


@pytest.fixture
def facts_file(tmp_path):
    rows = [{"subject": "ba ko mi", "prompt": "the home of {} is", "target_true": "avalon",
             "target_new": "brindle", "paraphrase": ["ba ko mi lives in"],
             "neighbours": ["the home of zu ra is"]},
            {"subject": "zu ra", "prompt": "{} speaks", "target_true": "alvish",
             "target_new": "borean"}]
    p = tmp_path / "facts.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def _invoke(*args):
    from neurips23.cli import app

    return CliRunner().invoke(app, ["editing", *args])


def test_trace_command(model_dir, facts_file, tmp_path):
    out = tmp_path / "tr"
    r = _invoke("trace", "--model", model_dir, "--facts", str(facts_file), "--out", str(out),
                "--kind", "mlp", "--window", "3", "--samples", "3", "--plots", "1")
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in (out / "traces.jsonl").read_text().splitlines()]
    assert len(lines) == 2 and len(lines[0]["effect"]) == 4
    assert (out / "trace_000.png").exists() and not (out / "trace_001.png").exists()


def test_heatmap_rows_are_the_labels(gpt2, word_tok):
    import matplotlib.pyplot as plt

    from neurips23.editing.cli import heatmap_figure
    from neurips23.editing.tracing import row_labels, trace_fact

    tr = trace_fact(gpt2, word_tok, "the home of zu ra is", "zu ra", "alvish",
                    noise=0.5, kind="layer", samples=2)
    fig = heatmap_figure(tr, row_labels(tr, word_tok))
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    plt.close(fig)
    assert labels == ["the", "home", "of", "zu*", "ra*", "is"]


def test_edit_and_analyze_commands(model_dir, facts_file, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the home of ba ko mi is avalon\nzu ra speaks alvish\n")
    out = tmp_path / "ed"
    r = _invoke("edit", "--model", model_dir, "--facts", str(facts_file), "--out", str(out),
                "--corpus", str(corpus), "--layers", "1,2", "--methods", "rome,ft1",
                "--problems", "error_injection", "--samples", "2", "--context-per-start", "0",
                "--set", "rome.v_steps=2", "--set", "ft1.steps=2")
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 2
    assert {r["method"] for r in rows} == {"rome", "ft1"} and {r["layer"] for r in rows} == {1, 2}
    fits = json.loads((out / "r2.json").read_text())  # 4 rows per pair: too few to fit
    assert "usable rows" in fits["rome/error_injection"]["error"]
    r = _invoke("analyze", "--rows", str(out / "rows.jsonl"))
    assert r.exit_code == 0 and "no regression" in r.output
    bad = tmp_path / "rows.jsonl"
    bad.write_text('{"method": "rome"}\n')
    r = _invoke("analyze", "--rows", str(bad))
    assert isinstance(r.exception, DataError) and "rows.jsonl:1: missing field" in str(r.exception)


def test_bad_input_is_one_clear_line(model_dir, facts_file, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(facts_file.read_text() + '{"subject": "x", "prompt": "no braces", '
                   '"target_true": "y"}\n')
    r = _invoke("trace", "--model", model_dir, "--facts", str(bad))
    assert isinstance(r.exception, DataError) and f"{bad}:3:" in str(r.exception)
    r = _invoke("edit", "--model", model_dir, "--facts", str(facts_file), "--methods", "memit")
    assert isinstance(r.exception, ConfigError) and "memit" in str(r.exception)
    r = _invoke("trace", "--model", model_dir)
    assert isinstance(r.exception, ConfigError) and "--facts" in str(r.exception)
    proc = subprocess.run([sys.executable, "-m", "neurips23.cli", "editing", "trace", "--model",
                           model_dir, "--facts", str(bad)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{bad}:3: prompt 'no braces'" in " ".join(proc.stderr.split())
