"""CLI commands built from config dataclasses (as TRL builds its parser from dataclasses).

    @dataclass
    class EvalConfig:
        model: str = param("", "Model name or path.")
        mode: Literal["a", "b"] = param("a", "Which mode.")

    @config_command(app, EvalConfig)
    def eval(cfg: EvalConfig) -> None: ...

gives `eval --model M --mode b --config file.yaml --set key=value`. Every scalar field becomes
an option (`--field-name`; bools as `--x/--no-x`; lists as comma-separated values), and so does
every scalar field of a nested dataclass section (`--section.key`, e.g. `--train.steps 100`,
with the section's own default); a section nested deeper is reached with
`--set section.sub.key=value` or the YAML file. Precedence: defaults <- `--config` file <-
options given on the command line <- `--set`. Values are checked by the
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


def _field_default(f: dataclasses.Field) -> Any:
    """What a field defaults to (its default_factory called; None when it has no default)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def _option(path: tuple[str, ...], tp: Any, choices: str, default: Any,
            help_text: str) -> inspect.Parameter:
    """The typer option of the config key `path` (default None: only given options count)."""
    flag = "--" + ".".join(p.replace("_", "-") for p in path)
    if choices and choices != "comma-separated":
        help_text = f"{help_text} ({choices})".strip()
    decls = [f"{flag}/--no-{flag[2:]}"] if tp is bool else [flag]
    return inspect.Parameter(
        "__".join(path), inspect.Parameter.KEYWORD_ONLY, annotation=tp | None,
        default=typer.Option(None, *decls, help=help_text + _shown_default(default, flag),
                             show_default=False, metavar="" if tp is bool else None))


def config_options(cls: type, exclude: Sequence[str] = ()) -> list[inspect.Parameter]:
    """One typer option per scalar field of `cls` (`--field-name`), and per scalar field of each
    nested section (`--section.key`, its default the section's own); a section nested deeper is
    reached with `--set` or the YAML file. The parameter of `section.key` is `section__key`."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        if dataclasses.is_dataclass(hints[f.name]):
            section = _field_default(f)
            inner = typing.get_type_hints(hints[f.name])
            for g in dataclasses.fields(hints[f.name]):
                tp, choices = _option_type(inner[g.name])
                if tp is not None and not dataclasses.is_dataclass(inner[g.name]):
                    default = _field_default(g) if section is None else getattr(section, g.name)
                    params.append(_option((f.name, g.name), tp, choices, default,
                                          g.metadata.get("help", "")))
            continue
        tp, choices = _option_type(hints[f.name])
        if tp is not None:
            params.append(_option((f.name,), tp, choices, _field_default(f), f.metadata.get("help", "")))
    return params


def _nest_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The options given on the command line as config keys: `section__key` -> {section: {key}}."""
    out: dict[str, Any] = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        *sections, key = name.split("__")
        node = out
        for s in sections:
            node = node.setdefault(s, {})
        node[key] = value
    return out


def base_config(cfg: Any, cls: type) -> Any:
    """The `cls` part of a command's config (`cfg` is of a subclass of `cls` that adds the
    command's own fields: model, data, out, ...), as a plain `cls`."""
    return cls(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(cls)})


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
    """(dotted key, default) of every field inside the nested sections of `cls`; the command's
    help lists those that have no option (reached with `--set` or the YAML file)."""
    out = []
    for f in dataclasses.fields(cls):
        value = _field_default(f)
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
            cfg = load_config(cls, config_file, overrides, options=_nest_options(kwargs))
            validate_config(cfg)
            return fn(cfg)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__doc__ = fn.__doc__
        command.__name__ = fn.__name__
        command.__config_class__ = cls  # type: ignore[attr-defined]
        optioned = {p.name.replace("__", ".") for p in params}
        nested = [(k, v) for k, v in nested_defaults(cls) if k not in optioned]
        epilog = ("Other nested settings (--set key=value or the YAML file), with their defaults: "
                  + "; ".join(f"{k} = {v}" for k, v in nested)) if nested else None
        app.command(name or fn.__name__.replace("_", "-"), epilog=_escape(epilog))(command)
        return fn

    return decorate
