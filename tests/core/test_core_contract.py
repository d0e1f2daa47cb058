"""The reproduction contract: config routes, the registry, seeds in parallel, CLI from configs."""

import dataclasses
import functools
import json
import subprocess
import sys
from typing import Literal

import pytest
import typer
from typer.testing import CliRunner

from neurips23.config import load_config
from neurips23.core.cli_config import config_command, param
from neurips23.core.parallel import map_units
from neurips23.core.reproduction import get_reproduction, resolve_config
from neurips23.errors import ConfigError
from neurips23.registry import METHODS


@dataclasses.dataclass
class Inner:
    x: int = 1


@dataclasses.dataclass
class Cfg:
    name: str = param("a", "A name.")
    mode: Literal["fast", "slow"] = param("fast", "Mode.")
    seeds: list[int] = param([0, 1], "Seeds.")
    flag: bool = param(False, "A flag.")
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_precedence_defaults_profile_file_options_set(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: file\nmode: slow\ninner:\n  x: 3\n")
    cfg = load_config(Cfg, f, ["inner.x=4"], base={"name": "profile", "flag": True},
                      options={"name": "option", "seeds": "5,6"})
    assert (cfg.name, cfg.mode, cfg.seeds, cfg.flag, cfg.inner.x) == ("option", "slow", [5, 6], True, 4)


def test_unknown_yaml_key_names_file_line_and_valid_keys(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: x\ninner:\n  y: 3\n")
    with pytest.raises(ConfigError, match=r"c.yaml:3: unknown config key 'inner.y' .*valid keys: x"):
        load_config(Cfg, f)


def test_bad_literal_lists_valid_values():
    with pytest.raises(ConfigError, match="'mode': 'medium' is not one of fast, slow"):
        load_config(Cfg, overrides=["mode=medium"])


def test_config_command_builds_options():
    app = typer.Typer()
    seen = {}

    @config_command(app, Cfg)
    def go(cfg: Cfg) -> None:
        """Go."""
        seen["cfg"] = cfg

    @app.command()
    def other() -> None:
        pass

    r = CliRunner().invoke(app, ["go", "--name", "n", "--mode", "slow", "--seeds", "3,4",
                                 "--flag", "--set", "inner.x=9"])
    assert r.exit_code == 0, r.output
    assert seen["cfg"] == Cfg("n", "slow", [3, 4], True, Inner(9))
    r = CliRunner().invoke(app, ["go", "--mode", "medium"])
    assert isinstance(r.exception, ConfigError)


@dataclasses.dataclass
class Section:
    steps: int = param(200, "Optimizer steps.")
    lr: float = 3e-3
    grouped: bool = False


@dataclasses.dataclass
class Deep:
    section: Section = dataclasses.field(default_factory=Section)


@dataclasses.dataclass
class Nested:
    name: str = param("a", "A name.")
    train: Section = dataclasses.field(default_factory=lambda: Section(steps=100, grouped=True))
    deep: Deep = dataclasses.field(default_factory=Deep)


def test_config_command_gives_each_key_of_a_nested_section_an_option(tmp_path):
    """`--train.steps` sets train.steps over the section's own default (not the class's);
    precedence: the section's default <- --config file <- the option <- --set."""
    app = typer.Typer()
    seen = {}

    @config_command(app, Nested)
    def go(cfg: Nested) -> None:
        """Go."""
        seen["cfg"] = cfg

    @app.command()
    def other() -> None:
        pass

    runner = CliRunner()
    assert runner.invoke(app, ["go", "--train.lr", "1e-4"]).exit_code == 0
    assert seen["cfg"].train == Section(steps=100, lr=1e-4, grouped=True)
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  steps: 7\n  lr: 0.5\n")
    r = runner.invoke(app, ["go", "--config", str(f), "--train.steps", "8", "--no-train.grouped"])
    assert r.exit_code == 0, r.output
    assert seen["cfg"].train == Section(steps=8, lr=0.5, grouped=False)
    r = runner.invoke(app, ["go", "--train.steps", "8", "--set", "train.steps=9"])
    assert r.exit_code == 0 and seen["cfg"].train.steps == 9
    r = runner.invoke(app, ["go", "--train.steps", "x"])
    assert r.exit_code == 2 and "--train.steps" in r.output
    r = runner.invoke(app, ["go", "--set", "deep.section.steps=3"])  # deeper: --set only
    assert r.exit_code == 0 and seen["cfg"].deep.section.steps == 3
    text = " ".join(runner.invoke(app, ["go", "--help"]).output.replace("│", " ").split())
    assert "--train.steps" in text and "Optimizer steps. [default: 100]" in text
    assert "--no-train.grouped" in text and "[default: --train.grouped]" in text
    assert "--deep" not in text and "deep.section.steps = 200" in text  # the epilog lists it
    assert "train.steps =" not in text  # an option's default is shown with the option


def _square(offset, seed):
    return seed * seed + offset


def test_map_seeds_keeps_seed_order_in_processes():
    fn = functools.partial(_square, 1)
    assert map_units(fn, [3, 1, 2], workers=1) == [10, 2, 5]
    assert map_units(fn, [3, 1, 2], workers=2) == [10, 2, 5]


def _chatter(seed):
    import logging

    logging.getLogger("bitsandbytes.backends.cpu").warning("kernel notice %d", seed)
    return seed


def test_map_seeds_workers_are_as_quiet_as_the_parent(capfd, monkeypatch):
    monkeypatch.delenv("NEURIPS23_DEBUG", raising=False)
    assert map_units(_chatter, [0, 1], workers=2) == [0, 1]
    assert "kernel notice" not in capfd.readouterr().err
    monkeypatch.setenv("NEURIPS23_DEBUG", "1")  # --debug shows it
    map_units(_chatter, [0, 1], workers=2)
    assert "kernel notice" in capfd.readouterr().err


def test_map_seeds_progress_names_its_unit():
    lines: list[str] = []
    map_units(functools.partial(_square, 0), [0, 1], workers=1, log=lines.append, unit="job")
    assert lines == ["job 0 done", "job 1 done"]


def test_every_method_declares_a_reproduction_with_quick_and_full():
    for m in METHODS:
        repro = get_reproduction(m.name)
        assert repro.name == m.name and {"quick", "full"} <= set(repro.profiles)
        resolve_config(repro, "quick")  # the profiles are valid configs
        assert repro.config.__name__.endswith("Config")


def test_lm_imports_nothing_from_report_or_methods():
    code = ("import neurips23.lm, neurips23.lm.train, neurips23.lm.generate, neurips23.lm.backends, "
            "sys; print(json.dumps(sorted(m for m in sys.modules if m.startswith('neurips23.') and "
            "not m.startswith(('neurips23.lm', 'neurips23.errors', 'neurips23.utils', "
            "'neurips23.config')))))")
    out = subprocess.run([sys.executable, "-c", "import json;" + code], capture_output=True,
                         text=True, check=True).stdout
    assert json.loads(out) == []


def test_docs_blocks_are_generated_from_the_newest_run(tmp_path, monkeypatch):
    import neurips23.core.run as records
    from neurips23.core.claims import Rule, measured_claim
    from neurips23.core.run import start_run
    from neurips23.report.docs import update_docs

    monkeypatch.setattr(records, "git_dirty", lambda: False)  # a run from a clean tree

    page = tmp_path / "docs" / "m.md"
    page.parent.mkdir()
    page.write_text("intro\n<!-- results: m full -->\nstale\n<!-- end results -->\nafter\n")
    run = start_run("m", None, tmp_path / "runs", "full")
    claim = measured_claim("A > B", "A - B", 0.2, (0.1, 0.3), Rule("above", 0.0), n=3)
    run.finish({}, [claim], tables={"arms": [{"arm": "A", "acc": 0.5}]})
    done = update_docs(tmp_path / "runs", page.parent)
    text = page.read_text()
    assert done == [(page, "m", run.id)] and "stale" not in text and run.id in text
    assert "| A > B |" in text and "| A | 0.5 |" in text and text.endswith("after\n")


def test_resolve_config_runs_each_methods_validate_before_any_work():
    import pytest

    from neurips23.core.reproduction import get_reproduction, resolve_config
    from neurips23.errors import ConfigError

    bad = {"editing": "methods=bogus", "multilingual": "folds=1", "locality": "n_vars=0",
           "symbolic_rl": "tasks=nope", "qlora": "workers=-1"}
    for method, override in bad.items():
        with pytest.raises(ConfigError, match=override.split("=")[0]):
            resolve_config(get_reproduction(method), "quick", overrides=[override])
