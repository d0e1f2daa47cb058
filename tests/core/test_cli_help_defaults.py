"""Every option of every `neurips23` command that has a default shows it in `--help` (options
built from a config dataclass are checked against the dataclass's defaults)."""

from __future__ import annotations

import dataclasses
from typing import Any

from typer.main import get_command

from neurips23.cli import app


def leaf_commands(cmd: Any, path: str = "neurips23") -> list[tuple[str, Any]]:
    """(command line, command) of every command that runs (typer's click objects, duck-typed:
    typer vendors its own click)."""
    if hasattr(cmd, "commands"):
        return [leaf for name, sub in cmd.commands.items() for leaf in leaf_commands(sub, f"{path} {name}")]
    return [(path, cmd)]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == () or value == [] or value is False


def declared_default(cmd: Any, opt: Any) -> Any:
    """The default an option stands for: the config dataclass field's for a command built by
    `config_command` (its typer option defaults to None), else the option's own."""
    cls = getattr(cmd.callback, "__config_class__", None)
    fields = {f.name: f for f in dataclasses.fields(cls)} if cls else {}
    if opt.name in fields:
        f = fields[opt.name]
        return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return opt.default


def shows_default(cmd: Any, opt: Any) -> bool:
    default = declared_default(cmd, opt)
    if opt.required or opt.name == "help" or "default" in (opt.help or "").lower():
        return True
    if _empty(default) and not opt.secondary_opts:
        return True  # nothing to show: the option is off or unset unless given
    return bool(opt.show_default) and getattr(cmd.callback, "__config_class__", None) is None


def test_every_option_of_every_command_shows_its_default():
    commands = leaf_commands(get_command(app))
    options = [(path, cmd, opt) for path, cmd in commands for opt in cmd.params
               if opt.param_type_name == "option"]
    assert len(commands) > 40 and len(options) > 300  # the walk reached every group
    missing = [f"{path} {opt.opts[0]}" for path, cmd, opt in options if not shows_default(cmd, opt)]
    assert missing == []
