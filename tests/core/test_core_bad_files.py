"""Every command that reads a file, fed a bad one (binary, non-UTF-8, 100k-deep nesting, a
directory, a duplicate key, a syntax error, the wrong shape): exit 2 with one line naming the
file, never an internal error (exit 1). A property test over commands x bad contents."""

from __future__ import annotations

import json

import pytest
from core_cli_helper import run_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FILE, OUT = "{file}", "{out}"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """Valid companions of the bad file (a tiny model, a PDDL pair, data) in one folder."""
    from neurips23.lm.models import build_model, save_model
    from neurips23.lm.tokenizers import build_char_tokenizer
    from neurips23.pddl.parser import domain_to_pddl, problem_to_pddl
    from neurips23.planning.domains.registry import generate_instances, get_domain

    root = tmp_path_factory.mktemp("good")
    tok = build_char_tokenizer("abc ")
    save_model(build_model("nano", len(tok), seed=0), tok, root / "tiny")
    [inst] = generate_instances("blocksworld", 1, seed=0, blocks=(3,))
    (root / "d.pddl").write_text(domain_to_pddl(get_domain("blocksworld").domain))
    (root / "p.pddl").write_text(problem_to_pddl(inst.problem))
    (root / "prefs.jsonl").write_text(json.dumps({"prompt": "a", "chosen": "b", "rejected": "c"})
                                      + "\n")
    (root / "rows.jsonl").write_text(json.dumps({"model": "m", "params": 1e6, "task": "t",
                                                 "prediction": "a", "target": "a"}) + "\n")
    return root


def commands(g) -> list[list[str]]:
    """Each file-reading command, with the bad file as {file} and valid everything else."""
    return [
        ["reproduce", "substrate", "--config", FILE, "--runs-dir", OUT],
        ["dpo", "train", "--model", str(g / "tiny"), "--data", FILE, "--out", OUT],
        ["dpo", "train", "--model", str(g / "tiny"), "--data", str(g / "prefs.jsonl"),
         "--config", FILE, "--out", OUT],
        ["qlora", "finetune", "--model", str(g / "tiny"), "--data", FILE, "--out", OUT],
        ["planning", "solve", FILE, str(g / "p.pddl")],
        ["planning", "solve", str(g / "d.pddl"), FILE],
        ["symbolic-rl", "learn", FILE, str(g / "p.pddl"), "--out", OUT],
        ["emergence", "analyze", FILE, "--out", OUT],
        ["emergence", "analyze", str(g / "rows.jsonl"), "--sizes", FILE, "--out", OUT],
        ["locality", "query", FILE, "X1"],
        ["locality", "net", "--config", FILE],
        ["multilingual", "template", FILE, "--template", "translate-en-x", "--language", "fra",
         "--out", OUT],
        ["multilingual", "data", "--input", FILE, "--out", OUT],
        ["toolformer", "finetune", "--data", FILE, "--model", str(g / "tiny"), "--out", OUT],
        ["editing", "trace", "--facts", FILE, "--model", str(g / "tiny")],
        ["tot", "run", "--puzzle-file", FILE, "--runs-dir", OUT],
    ]


NOT_UTF8 = st.tuples(st.binary(max_size=200), st.binary(max_size=200)).map(
    lambda ab: ab[0] + b"\xff\xfe" + ab[1])
DEEP = st.tuples(st.sampled_from(["[", "{", '{"a": ', "- ", "(", '{"configs": [']),
                 st.integers(1000, 100_000)).map(lambda t: (t[0] * t[1]).encode())
BAD_TEXT = st.sampled_from([
    b"a: 1\nb: 2\na: 3\n",  # a duplicate key (and not JSONL, PDDL or CSV)
    b"key: [1, 2\nother: 3\n",  # a YAML syntax error
    b"[1, 2]\n", b"\"just a string\"\n", b"null\n", b"42\n",
    b'{"configs": [1, 2]}\n{"configs": [1, 2]}\n',
    b"\x00\x01\x02 binary \x00",
])
CONTENTS = st.one_of(NOT_UTF8, DEEP, BAD_TEXT, st.just("directory"))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(which=st.integers(0, 15), content=CONTENTS)
def test_every_file_reading_command_refuses_a_bad_file_in_one_line(
        which, content, good, tmp_path_factory, capsys, monkeypatch):
    work = tmp_path_factory.mktemp("bad")
    bad = work / "bad_input"
    if content == "directory":
        bad.mkdir()
    else:
        bad.write_bytes(content)
    args = [a.replace(FILE, str(bad)).replace(OUT, str(work / "out"))
            for a in commands(good)[which]]
    code, out, err = run_main(args, capsys, monkeypatch)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2, (args, code, out[-500:], err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error:") and "internal" not in lines[0], err
    assert str(bad) in " ".join(err.split()), err  # the file is named


@pytest.mark.parametrize("content", ["directory", b"ok\n\xff\xfe\n", b"[" * 100_000,
                                     b"a: 1\nb: 2\na: 3\n", b"{" * 100_000])
@pytest.mark.parametrize("which", range(16))
def test_each_command_with_each_kind_of_bad_file(which, content, good, tmp_path, capsys,
                                                  monkeypatch):
    """The same property, every command against each kind once (hypothesis samples the rest)."""
    bad = tmp_path / "bad_input"
    if content == "directory":
        bad.mkdir()
    else:
        bad.write_bytes(content)
    args = [a.replace(FILE, str(bad)).replace(OUT, str(tmp_path / "out"))
            for a in commands(good)[which]]
    code, out, err = run_main(args, capsys, monkeypatch)
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2, (args, code, out[-500:], err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error:") and "internal" not in lines[0], err
    assert str(bad) in " ".join(err.split()), err
