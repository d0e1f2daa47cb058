"""Positional arguments and repeatable options for a command built by `config_command` (which
makes every scalar field an option given once):

    @arguments(app, positional=("domain", "problem"), repeatable=("size",))
    @config_command(app, LearnConfig)
    def learn(cfg: LearnConfig) -> None: ...

gives `learn DOMAIN PROBLEM [--size A --size B] [options]`. The values still go through the
config loader (types checked, `--config` and `--set` as for every field).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import typer


def _without_none(tp: Any) -> Any:
    """`X` for `X | None`, else `tp`."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return inner[0] if len(inner) == 1 else tp
    return tp


def arguments(app: typer.Typer, positional: Sequence[str] = (),
              repeatable: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """Make fields of the `config_command` command of the decorated function positional
    arguments (required, in the order given, before the options) or options given once per
    item (list fields)."""
    def decorate(fn: Callable) -> Callable:
        [info] = [c for c in app.registered_commands
                  if getattr(c.callback, "__name__", None) == fn.__name__
                  and hasattr(c.callback, "__config_class__")]
        command = info.callback
        cls = command.__config_class__
        helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        params = dict(inspect.signature(command).parameters)
        missing = [n for n in (*positional, *repeatable) if n not in params]
        if missing:
            raise TypeError(f"{cls.__name__} has no command option for {', '.join(missing)}")
        first = [params[n].replace(annotation=_without_none(hints[n]),
                                   default=typer.Argument(..., help=helps[n], show_default=False))
                 for n in positional]
        rest = []
        for name, p in params.items():
            if name in repeatable:
                p = p.replace(annotation=_without_none(hints[name]) | None, default=typer.Option(
                    None, "--" + name.replace("_", "-"), help=f"{helps[name]} Repeatable.",
                    show_default=False))
            if name not in positional:
                rest.append(p)
        command.__signature__ = inspect.Signature(first + rest)  # type: ignore[attr-defined]
        return fn

    return decorate
