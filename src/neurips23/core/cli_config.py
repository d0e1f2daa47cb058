"""CLI commands built from config dataclasses (as TRL builds its parser from dataclasses).

    @dataclass
    class EvalConfig:
        model: str = param("", "Model name or path.")
        mode: Literal["a", "b"] = param("a", "Which mode.")

    @config_command(app, EvalConfig)
    def eval(cfg: EvalConfig) -> None: ...

gives `eval --model M --mode b --config file.yaml --set key=value`. Every scalar field becomes
an option (`--field-name`; bools as `--x/--no-x`; lists as comma-separated values); nested
dataclasses are reached with `--set section.key=value` or the YAML file. Precedence: defaults
<- `--config` file <- options given on the command line <- `--set`. Values are checked by the
config loader, so a bad `Literal` value names the key and lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import typer


def param(default: Any, help: str = "", **metadata: Any) -> Any:
    """A config field with its CLI help (a list/dict default is copied per instance)."""
    meta = {"help": help, **metadata}
    if isinstance(default, list | dict | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def finite(ctx: Any, option: Any, value: float | None) -> float | None:
    """A typer callback for a float option: NaN and ±inf are refused (UserError, exit 2)."""
    import math

    from neurips23.errors import UserError

    if value is not None and not math.isfinite(value):
        raise UserError(f"{option.opts[0] if option.opts else option.name} {value}: "
                        "expected a finite number")
    return value


def _option_type(tp: Any) -> tuple[Any, str]:
    """(typer-compatible type, choices text) for a field type; (None, '') if not a CLI option."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _option_type(inner[0]) if len(inner) == 1 else (str, "")
    if origin is Literal:
        return str, " | ".join(map(str, args))
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        return str, "comma-separated"
    if tp in (str, int, float, bool):
        return tp, ""
    if tp is Path:
        return Path, ""
    return None, ""


def config_options(cls: type, exclude: Sequence[str] = ()) -> list[inspect.Parameter]:
    """One typer option per scalar field of `cls` (default None: only given options count)."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in exclude or dataclasses.is_dataclass(hints[f.name]):
            continue
        tp, choices = _option_type(hints[f.name])
        if tp is None:
            continue
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        shown = ",".join(map(str, default)) if isinstance(default, list | tuple) else default
        help_text = f.metadata.get("help", "")
        if choices and choices != "comma-separated":
            help_text = f"{help_text} ({choices})".strip()
        help_text += f" [default: {shown}]" if shown not in (None, "") else ""
        flag = "--" + f.name.replace("_", "-")
        decls = [f"{flag}/--no-{flag[2:]}"] if tp is bool else [flag]
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, annotation=tp | None,
            default=typer.Option(None, *decls, help=help_text, show_default=False)))
    return params


def config_command(app: typer.Typer, cls: type, name: str | None = None,
                   exclude: Sequence[str] = ()) -> Callable[[Callable], Callable]:
    """Register `fn(cfg)` as a command of `app` whose options are the fields of `cls`."""
    def decorate(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        params = config_options(cls, exclude) + [
            inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, annotation=Path | None,
                              default=typer.Option(None, "--config", help="A YAML file of "
                                                   "config keys (options and --set win over it).")),
            inspect.Parameter("set_", inspect.Parameter.KEYWORD_ONLY, annotation=list[str] | None,
                              default=typer.Option(None, "--set", help="key=value override "
                                                   "(dotted keys reach nested sections).")),
        ]

        def command(**kwargs: Any) -> Any:
            from neurips23.config import load_config

            config_file = kwargs.pop("config", None)
            overrides = kwargs.pop("set_", None) or []
            cfg = load_config(cls, config_file, overrides, options=kwargs)
            return fn(cfg)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__doc__ = fn.__doc__
        command.__name__ = fn.__name__
        app.command(name or fn.__name__.replace("_", "-"))(command)
        return fn

    return decorate
