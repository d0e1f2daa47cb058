"""`neurips23 toolformer annotate | finetune | generate` on a tiny model, and bad input."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from neurips23.errors import ConfigError, DataError
from neurips23.toolformer.cli import app
from neurips23.toolformer.corpus import read_corpus


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.toolformer.synthetic import ALPHABET

    tok = build_char_tokenizer(ALPHABET)
    path = tmp_path_factory.mktemp("tiny")
    save_model(build_model("nano", len(tok), max_position_embeddings=256), tok, path)
    return path


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_annotate_finetune_generate_round_trip(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "c.jsonl", [
        {"text": "Tom has 12 pens and 30 cups, 42 in all.", "date": "2017-03-09"},
        {"text": "Today is Thursday and the shop is open."}])
    out = tmp_path / "annotated.jsonl"
    runner = CliRunner()
    r = runner.invoke(app, ["annotate", "--model", str(tiny_model), "--data", str(data),
                            "--out", str(out), "--no-use-prompt", "--force-tool-name",
                            "--k", "2", "--m", "2", "--tau-s", "0", "--max-call-tokens", "6"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["original"] for row in rows] == [d.text for d in read_corpus(data)]
    assert rows[0]["date"] == "2017-03-09"
    for row in rows:
        for c in row["calls"]:
            assert c["tool"] in ("Calculator", "Calendar") and 0 <= c["offset"] < len(row["original"])
    model_out = tmp_path / "ft"
    r = runner.invoke(app, ["finetune", "--model", str(tiny_model), "--data", str(out),
                            "--out", str(model_out), "--train.steps", "2", "--train.batch-size", "2",
                            "--train.lr", "1e-3", "--train.checkpoint-every", "1"])
    assert r.exit_code == 0, r.output
    assert (model_out / "config.json").exists() and (model_out / "checkpoint.pt").exists()
    res = tmp_path / "gen.jsonl"
    r = runner.invoke(app, ["generate", "--model", str(model_out), "--prompt", "Tom has",
                            "--max-new-tokens", "8", "--out", str(res), "--mode", "disabled"])
    assert r.exit_code == 0, r.output
    [row] = [json.loads(line) for line in res.read_text().splitlines()]
    assert row["prompt"] == "Tom has" and row["calls"] == []


@pytest.mark.parametrize("lines, message", [
    (['{"text": "ok"}', '{"txt": "no"}'], ":2: missing field 'text'"),
    (['{"text": "ok", "date": "9 March"}'], ":1: field 'date'"),
    (['{"text": "   "}'], ":1: field 'text' is empty"),
    (['{"text": 3}'], ":1: field 'text' should be str"),
    (["not json"], ":1: not valid JSON"),
])
def test_bad_corpus_lines_name_file_and_line(tmp_path, lines, message):
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(DataError, match=message):
        read_corpus(path)


def test_cli_errors_are_one_line(tmp_path, tiny_model):
    data = write_jsonl(tmp_path / "c.jsonl", ['{"text": "ok"}', '{"txt": "no"}'])
    r = subprocess.run([sys.executable, "-m", "neurips23.cli", "toolformer", "annotate",
                        "--model", str(tiny_model), "--data", str(data), "--tools", "calculator,nope"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"{data}:2: missing field 'text'" in r.stderr.replace("\n", "")


def test_a_bad_calculator_rate_is_refused_before_the_model_loads(tmp_path):
    data = write_jsonl(tmp_path / "c.jsonl", ['{"text": "ok"}'])
    r = CliRunner().invoke(app, ["annotate", "--model", str(tmp_path / "no-such-model"),
                                 "--data", str(data), "--calculator-other-rate", "1.5"])
    # the rate is named, not the missing model: the check runs before the model loads (the
    # top-level CLI turns a ConfigError into one line and exit 2, as the test above shows)
    assert isinstance(r.exception, ConfigError)
    assert str(r.exception) == "calculator_other_rate must be between 0 and 1, got 1.5"
