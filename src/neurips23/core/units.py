"""Finished per-unit results of a reproduction, kept in its run folder, so a run interrupted
late resumes where it stopped (`neurips23 reproduce M --resume RUN_ID`) instead of starting over.

While a reproduction runs, the core opens a `UnitStore` on `<run>/units/`; `map_units` saves
each unit's result there (atomically) as it comes back and, on a resume, reuses the ones
already there. A unit's file is keyed by the run's resolved config, the code's version, the
function, which `map_units` call of the run it was and the unit itself, so a different config
(or code) never reuses it. Results are stored as tagged JSON, never pickled: the run folder
is the user's, and reading it must not run anything; a result of a type the codec does not
know is simply not stored (that unit is recomputed on a resume).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MISSING = object()
_ACTIVE: list[UnitStore] = []


class UnitStore:
    """The units of one run: `<folder>/<digest>.json`, one per finished unit."""

    def __init__(self, folder: Path, key: str):
        self.folder, self.key, self.calls = Path(folder), key, 0

    def next_call(self) -> int:
        """The index of this `map_units` call within the run (units of call 0, 1, ...)."""
        self.calls += 1
        return self.calls - 1

    def _path(self, call: int, fn: str, unit: Any) -> tuple[Path, dict]:
        ident = {"key": self.key, "call": call, "fn": fn, "unit": encode(unit)}
        digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]
        return self.folder / f"{digest}.json", ident

    def get(self, call: int, fn: str, unit: Any) -> Any:
        """The stored result of this unit, or MISSING (an unreadable file counts as missing)."""
        path, ident = self._path(call, fn, unit)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if {k: record.get(k) for k in ident} != ident:
                return MISSING
            return decode(record["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return MISSING

    def put(self, call: int, fn: str, unit: Any, result: Any) -> bool:
        """Save a finished unit atomically; False (nothing written) for a result the codec
        cannot store faithfully."""
        from neurips23.utils import atomic_write_text

        try:
            encoded = encode(result)
        except TypeError:
            return False
        path, ident = self._path(call, fn, unit)
        atomic_write_text(path, json.dumps({**ident, "result": encoded}, allow_nan=False) + "\n")
        return True


def active_store() -> UnitStore | None:
    """The store of the reproduction running in this process, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def storing_units(folder: Path, key: str) -> Iterator[UnitStore]:
    """Make `map_units` save (and reuse) finished units under `folder` while the block runs."""
    store = UnitStore(folder, key)
    _ACTIVE.append(store)
    try:
        yield store
    finally:
        _ACTIVE.remove(store)


def units_key(method: str, resolved_config: str) -> str:
    """What a stored unit must match to be reused: the method, its resolved config and the
    code's version (the git commit, else the package version)."""
    from neurips23.utils import git_commit, package_versions

    version = git_commit() or package_versions().get("neurips23", "")
    return hashlib.sha256(f"{method}\n{version}\n{resolved_config}".encode()).hexdigest()


def function_name(fn: Callable) -> str:
    """module.qualname of a function, through functools.partial wrappers."""
    while hasattr(fn, "func"):
        fn = fn.func
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


# ---------------------------------------------------------------- a faithful JSON codec

_TAGS = ("__float__", "__tuple__", "__dict__", "__np__", "__ndarray__", "__dataclass__",
         "__path__")


def encode(o: Any) -> Any:
    """A JSON-able form of `o` that `decode` turns back into an equal object (tuples, numpy
    values and arrays, non-finite floats, non-string keys and the project's dataclasses
    included); TypeError for anything else."""
    import numpy as np

    if o is None or isinstance(o, bool | int | str):
        return o
    if isinstance(o, float):
        return o if math.isfinite(o) else {"__float__": repr(o)}
    if isinstance(o, list):
        return [encode(x) for x in o]
    if isinstance(o, tuple) and type(o) is tuple:
        return {"__tuple__": [encode(x) for x in o]}
    if isinstance(o, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in o):
            return {k: encode(v) for k, v in o.items()}
        return {"__dict__": [[encode(k), encode(v)] for k, v in o.items()]}
    if isinstance(o, np.generic) and o.dtype.kind in "biuf":
        return {"__np__": o.dtype.str, "value": encode(o.item())}
    if isinstance(o, np.ndarray) and o.dtype.kind in "biuf":
        return {"__ndarray__": o.dtype.str, "shape": list(o.shape),
                "data": [encode(x) for x in o.ravel().tolist()]}
    if isinstance(o, Path):
        return {"__path__": str(o)}
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        cls = type(o)
        if not cls.__module__.startswith("neurips23."):
            raise TypeError(f"not storable: {cls.__qualname__}")
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode(getattr(o, f.name)) for f in dataclasses.fields(o)}}
    raise TypeError(f"not storable: {type(o).__name__}")


def decode(o: Any) -> Any:
    """The object `encode` wrote (a dataclass only from the project's own modules)."""
    import numpy as np

    if isinstance(o, list):
        return [decode(x) for x in o]
    if not isinstance(o, dict):
        return o
    if "__float__" in o:
        return float(o["__float__"])
    if "__tuple__" in o:
        return tuple(decode(x) for x in o["__tuple__"])
    if "__dict__" in o:
        return {decode(k): decode(v) for k, v in o["__dict__"]}
    if "__np__" in o:
        return np.dtype(o["__np__"]).type(decode(o["value"]))
    if "__ndarray__" in o:
        data = [decode(x) for x in o["data"]]
        return np.array(data, dtype=np.dtype(o["__ndarray__"])).reshape(o["shape"])
    if "__path__" in o:
        return Path(o["__path__"])
    if "__dataclass__" in o:
        return _dataclass(o["__dataclass__"], {k: decode(v) for k, v in o["fields"].items()})
    return {k: decode(v) for k, v in o.items()}


def _dataclass(name: str, fields: dict[str, Any]) -> Any:
    """Rebuild a dataclass of the project's own modules field by field (no __init__ run)."""
    module, _, qualname = name.partition(":")
    if not module.startswith("neurips23."):
        raise TypeError(f"not one of ours: {name}")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"not a dataclass: {name}")
    obj = cls.__new__(cls)
    for k, v in fields.items():
        object.__setattr__(obj, k, v)
    return obj
