"""Configs are dataclasses filled from YAML, a base dict and `key=value` overrides, type-checked."""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from neurips23.errors import ConfigError

T = TypeVar("T")


def param(default: Any, help: str = "", **metadata: Any) -> Any:
    """A config field with its CLI help (the one way to declare one) (a list/dict default is copied per instance)."""
    meta = {"help": help, **metadata}
    if isinstance(default, list | dict | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def load_config(cls: type[T], path: str | Path | None = None, overrides: Sequence[str] = (),
                base: dict | None = None, options: dict | None = None) -> T:
    """Build `cls` from defaults <- `base` (a profile) <- YAML file <- `options` (CLI options
    given explicitly) <- `key=value` overrides."""
    values: dict[str, Any] = {}
    _merge(values, copy.deepcopy(base or {}))
    if path is not None:
        p = Path(path)
        loaded = read_yaml(p, "config file", ConfigError)
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{p}: expected a mapping of config keys, got {type(loaded).__name__}")
        _check_file_keys(cls, loaded or {}, p)
        _merge(values, loaded or {})
    _merge(values, {k: v for k, v in (options or {}).items() if v is not None})
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value")
        key, raw = item.split("=", 1)
        node = values
        parts = key.strip().split(".")
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(parts[:i + 1])!r} is not a section")
        try:
            node[parts[-1]] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({str(e).splitlines()[0]})") from None
    return _build(cls, values, prefix="")


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml's safe loader, refusing a key given twice in one mapping (YAML says keys are
    unique; PyYAML silently keeps the last)."""

    where = "<yaml>"

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKey(f"{self.where}:{line}: duplicate key {key!r} "
                                            f"(first given at line {seen[key]})")
                    seen[key] = line
                except TypeError:  # an unhashable key: the constructor names it
                    continue
        return super().construct_mapping(node, deep)


class _DuplicateKey(Exception):
    """A key given twice (turned into the caller's error class by read_yaml)."""


def read_yaml(path: str | Path, what: str = "YAML file",
              error: type[Exception] = ConfigError) -> Any:
    """A YAML file, safely loaded: the one YAML reader. A missing or unreadable file, a
    directory, non-UTF-8 bytes, a syntax error, a duplicate key or nesting too deep is an
    `error` naming file:line."""
    from neurips23.errors import UserError
    from neurips23.utils import read_text_file

    p = Path(path)
    try:
        text = read_text_file(p, what)
    except UserError as e:
        raise error(str(e)) from None
    loader = _UniqueKeyLoader(text)
    loader.where = str(p)
    try:
        return loader.get_single_data()
    except _DuplicateKey as e:
        raise error(str(e)) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(e.problem or e.context or "syntax error").split())
        raise error(f"{p}{line}: not valid YAML ({problem})") from None
    except yaml.YAMLError as e:
        raise error(f"{p}: not valid YAML ({' '.join(str(e).split())[:200]})") from None
    except RecursionError:
        raise error(f"{p}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def _check_file_keys(cls: type, loaded: dict, path: Path) -> None:
    """An unknown key in a YAML file is a ConfigError naming file:line, the key and the valid keys."""
    try:
        _build_keys_only(cls, loaded, "")
    except ConfigError as e:
        key = str(e).split("'")[1] if "'" in str(e) else ""
        line = _yaml_key_line(path, key.split("."))
        raise ConfigError(f"{path}{f':{line}' if line else ''}: {e}") from None


def _build_keys_only(cls: type, values: dict, prefix: str) -> None:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k, v in values.items():
        if k not in names:
            raise ConfigError(f"unknown config key {prefix + str(k)!r} for {cls.__name__}; "
                              f"valid keys: {', '.join(sorted(names))}")
        if dataclasses.is_dataclass(hints[k]) and isinstance(v, dict):
            _build_keys_only(hints[k], v, f"{prefix}{k}.")


def _yaml_key_line(path: Path, parts: list[str]) -> int | None:
    """The 1-based line of the dotted key `parts` in a YAML file (None if not found)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    for part in parts:
        if not isinstance(node, yaml.MappingNode):
            return None
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
        if match is None:
            return None
        key_node, node = match
    return key_node.start_mark.line + 1


def _merge(into: dict, new: dict) -> None:
    for k, v in new.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


def _build(cls: type[T], values: dict, prefix: str) -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown config key {prefix + unknown[0]!r} for {cls.__name__}; "
                          f"valid keys: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, value in values.items():
        if dataclasses.is_dataclass(hints[name]) and isinstance(value, dict):
            value = _over_field_default(fields[name], value)
        kwargs[name] = _coerce(hints[name], value, prefix + name)
    return cls(**kwargs)


def _over_field_default(f: dataclasses.Field, value: dict) -> dict:
    """A nested section's keys laid over the field's own default (what its default_factory
    builds), so `train: {steps: 300}` changes the steps and keeps the method's other settings
    (and a rule's reason) rather than falling back to the nested class's defaults."""
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    elif dataclasses.is_dataclass(f.default):
        default = f.default
    else:
        return value
    merged = dataclasses.asdict(default)
    _merge(merged, copy.deepcopy(value))
    return merged


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a mapping for {tp.__name__}")
        return _build(tp, value, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(a, value, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"config key {key!r}: bad value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"config key {key!r}: {value!r} is not one of "
                              f"{', '.join(map(str, args))}")
        return value
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config key {key!r}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(inner, v, key) for v in value]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"config key {key!r}: expected a mapping, got {value!r}")
        return value
    return _coerce_scalar(tp, value, key)


def _coerce_scalar(tp: Any, value: Any, key: str) -> Any:
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"config key {key!r}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise ConfigError(f"config key {key!r}: expected an integer, got {value!r}")
    if tp is float:
        return _finite_float(value, key)
    if tp is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"config key {key!r}: expected a string, got {value!r}")
    if tp is Path:
        return Path(str(value))
    return value


def _finite_float(value: Any, key: str) -> float:
    """A config number: ints and floats (and YAML 1.1's "3e-4" strings); NaN and ±inf are
    refused, since no setting or rule threshold means anything with them."""
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None:
        raise ConfigError(f"config key {key!r}: expected a number, got {value!r}")
    if not math.isfinite(number):
        raise ConfigError(f"config key {key!r}: {value!r} is not a finite number")
    return number


def config_to_dict(cfg: Any) -> dict:
    """A plain dict of a config dataclass (paths and tuples made YAML-friendly)."""
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v
    if dataclasses.is_dataclass(cfg):
        return clean(dataclasses.asdict(cfg))
    return clean(dict(cfg))


def dump_yaml(cfg: Any) -> str:
    """The config as YAML text (the resolved config written next to each run)."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
