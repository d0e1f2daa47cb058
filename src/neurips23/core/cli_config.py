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

from neurips23.config import param  # noqa: F401  (a config field with its CLI help; declared with the configs)


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


def _shown_default(default: Any, flag: str) -> str:
    """" [default: X]" for the help text (the option itself defaults to None, so that only the
    options given on the command line override the config file); a bool shows the flag that is
    on. The bracket is escaped: typer's help is rich markup."""
    if isinstance(default, bool):
        shown = flag if default else f"--no-{flag[2:]}"
    elif isinstance(default, list | tuple):
        shown = ",".join(map(str, default))
    else:
        shown = "" if default is None else str(default)
    return rf" \[default: {shown}]" if shown else ""


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
        flag = "--" + f.name.replace("_", "-")
        help_text = f.metadata.get("help", "")
        if choices and choices != "comma-separated":
            help_text = f"{help_text} ({choices})".strip()
        decls = [f"{flag}/--no-{flag[2:]}"] if tp is bool else [flag]
        params.append(inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, annotation=tp | None,
            default=typer.Option(None, *decls, help=help_text + _shown_default(default, flag),
                                 show_default=False, metavar="" if tp is bool else None)))
    return params


def _walk_defaults(section: Any, prefix: str) -> list[tuple[str, str]]:
    out = []
    for g in dataclasses.fields(section):
        v = getattr(section, g.name)
        if dataclasses.is_dataclass(v):
            out += _walk_defaults(v, f"{prefix}{g.name}.")
        else:
            out.append((prefix + g.name, ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)))
    return out


def nested_defaults(cls: type) -> list[tuple[str, str]]:
    """(dotted key, default) of every field inside the nested sections of `cls` (the keys reached
    with `--set section.key=value` or the YAML file), for the command's help."""
    out = []
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            value = f.default
        if dataclasses.is_dataclass(value):
            out += _walk_defaults(value, f.name + ".")
    return out


def _escape(text: str | None) -> str | None:
    from rich.markup import escape

    return escape(text) if text else text


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
            from neurips23.core.reproduction import validate_config

            config_file = kwargs.pop("config", None)
            overrides = kwargs.pop("set_", None) or []
            cfg = load_config(cls, config_file, overrides, options=kwargs)
            validate_config(cfg)
            return fn(cfg)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__doc__ = fn.__doc__
        command.__name__ = fn.__name__
        command.__config_class__ = cls  # type: ignore[attr-defined]
        nested = nested_defaults(cls)
        epilog = ("Nested settings (--set key=value or the YAML file), with their defaults: "
                  + "; ".join(f"{k} = {v}" for k, v in nested)) if nested else None
        app.command(name or fn.__name__.replace("_", "-"), epilog=_escape(epilog))(command)
        return fn

    return decorate
