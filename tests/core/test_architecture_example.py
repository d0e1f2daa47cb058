"""docs/architecture.md's worked example, run as written: its four files become a temporary
`neurips23.sparsity` package, registered like any method, reproduced on both profiles, reported,
and its CLI's help read. The page cannot drift from the code."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import neurips23
from neurips23 import registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
_BLOCK = re.compile(r"<!-- example: (sparsity/\w+\.py) -->\s*```python\n(.*?)```", re.S)


def example_files() -> dict[str, str]:
    """{relative path: source} of every example block on the page (dedented)."""
    return {path: textwrap.dedent(code) for path, code in _BLOCK.findall(DOC.read_text(encoding="utf-8"))}


@pytest.fixture
def sparsity(tmp_path, monkeypatch):
    """The example installed as neurips23.sparsity and registered; removed afterwards."""
    files = example_files()
    assert set(files) == {f"sparsity/{m}.py" for m in ("prune", "config", "reproduce", "cli")}
    pkg = tmp_path / "pkg" / "sparsity"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""The worked example of docs/architecture.md."""\n')
    for path, code in files.items():
        (tmp_path / "pkg" / path).write_text(code)
    monkeypatch.setattr(neurips23, "__path__", [*neurips23.__path__, str(tmp_path / "pkg")])
    monkeypatch.setattr(registry, "METHODS", (*registry.METHODS, registry.Method("sparsity")))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("neurips23.sparsity")]:
        del sys.modules[name]


def test_the_worked_example_reproduces_end_to_end(sparsity):
    from neurips23.core.reproduction import reproduce
    from neurips23.report.html import build_report

    runs = sparsity / "runs"
    full = json.loads((reproduce("sparsity", "full", runs_dir=runs) / "results.json").read_text())
    [claim] = full["claims"]
    assert full["finding"] and claim["verdict"] == "reproduced", claim
    assert claim["n"] == 5 and claim["interval"][1] < 0.01
    quick = json.loads((reproduce("sparsity", "quick", runs_dir=runs) / "results.json").read_text())
    assert not quick["finding"] and quick["claims"][0]["verdict"] == "inconclusive"  # 2 < min_n
    page = build_report(runs, sparsity / "report").read_text()
    assert "Magnitude pruning (worked example)" in page and "id=sparsity" in page


def test_the_worked_examples_rules_can_fail(sparsity):
    from neurips23.core.reproduction import get_reproduction, resolve_config, run_reproduction
    from neurips23.errors import ConfigError

    repro = get_reproduction("sparsity")
    with pytest.raises(ConfigError, match="fraction"):
        resolve_config(repro, "full", overrides=["fraction=1.5"])
    # pruning nearly everything is not "costs little", and a model that learned nothing
    # (a precondition no seed meets) never reads "reproduced"
    for override, verdict in (["fraction=0.9", "not reproduced"], ["min_dense_r2=1.01", "inconclusive"]):
        cfg = resolve_config(repro, "full", overrides=[override])
        run_dir = run_reproduction(repro, cfg, "full", sparsity / "runs", overrides=[override])
        claim = json.loads((run_dir / "results.json").read_text())["claims"][0]
        assert claim["verdict"] == verdict, (override, claim)


def test_the_worked_examples_cli_shows_its_defaults(sparsity):
    import typer
    from neurips23.sparsity.cli import app

    root = typer.Typer()  # as neurips23.cli adds every registered method's group
    root.add_typer(app, name="sparsity")
    result = CliRunner().invoke(root, ["sparsity", "prune", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[default: 0.5]" in result.output and "[default: 400]" in result.output
    ran = CliRunner().invoke(root, ["sparsity", "prune", "--fraction", "0.5"])
    assert ran.exit_code == 0 and "R² dense" in ran.output
