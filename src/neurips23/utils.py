"""Small shared helpers: seeding, torch threads, atomic writes, provenance."""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_THREADS = 1
"""Torch intra-op threads by default. On 2 shared cores, 2 threads measured slower than 1
for tiny models (see benchmarks/bench_lm.py and README 'Threads'); override with
$NEURIPS23_THREADS."""


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch from one integer."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


_threads_set = False


def set_torch_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to `n`; with None, to $NEURIPS23_THREADS or DEFAULT_THREADS
    unless an explicit choice was made earlier in this process."""
    import torch

    global _threads_set
    if n is None:
        if _threads_set:
            return torch.get_num_threads()
        raw = os.environ.get("NEURIPS23_THREADS", str(DEFAULT_THREADS))
        if not raw.strip().isdigit() or int(raw) < 1:
            from neurips23.errors import ConfigError
            raise ConfigError(f"NEURIPS23_THREADS={raw!r}: expected a positive integer")
        n = int(raw)
    else:
        _threads_set = True
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def read_text_file(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file's contents; a missing, unreadable or non-UTF-8 file, or a directory,
    is a DataError naming it (and the line of a bad byte)."""
    from neurips23.errors import DataError

    p = Path(path)
    data = read_bytes_file(p, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(f"{p}:{line}: not UTF-8 text (byte {e.start}); is it a {what}?") from None


def read_bytes_file(path: str | Path, what: str = "file") -> bytes:
    """A file's bytes; a missing or unreadable file, or a directory, is a DataError naming it."""

    p = Path(path)
    try:
        return p.read_bytes()
    except OSError as e:
        raise open_error(p, what, e) from None


def open_error(path: Path, what: str, e: OSError) -> Exception:
    """The one-line DataError for a file that cannot be opened: missing, a directory, or
    unreadable (the reason from the OS)."""
    from neurips23.errors import DataError

    if isinstance(e, FileNotFoundError):
        return DataError(f"{path}: {what} not found")
    if isinstance(e, IsADirectoryError):
        return DataError(f"{path}: a directory, not a {what}")
    return DataError(f"{path}: cannot read {what} ({e.strerror or e})")


def current_umask() -> int:
    """The process's umask (read from /proc where it can be, so it is never changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` so readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 -> what open() would give
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, obj: Any, strict: bool = False) -> None:
    """Atomically write `obj` as indented JSON. With `strict`, standard JSON only: NaN and
    ±inf (which Python would write as the non-standard NaN/Infinity) are written as null."""
    if strict:
        obj = finite_or_null(obj)
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default,
                                       allow_nan=not strict) + "\n")


def finite_or_null(obj: Any) -> Any:
    """`obj` with every non-finite float (numpy's too) replaced by None, for strict JSON."""
    import math

    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_or_null(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_or_null(obj.tolist())
    return obj


def readable_value(v: Any) -> str:
    """One value for the console: floats to 4 significant digits (whole numbers from 10^4 on),
    short lists inline."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float | np.floating):
        return f"{float(v):.0f}" if abs(v) >= 1e4 else f"{float(v):.4g}"  # no 1.235e+04
    if isinstance(v, list | tuple):
        if len(v) <= 8 and all(not isinstance(x, dict | list | tuple) for x in v):
            return ", ".join(readable_value(x) for x in v) or "(none)"
        return f"({len(v)} values)"
    return str(v)


def readable_items(values: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(name, value) pairs of a nested dict for the console: nested names joined with dots,
    values as `readable_value` writes them. Results files keep the dict itself."""
    out: list[tuple[str, str]] = []
    for k, v in values.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out += readable_items(v, name + ".")
        else:
            out.append((name, readable_value(v) if not isinstance(v, dict) else "(none)"))
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


_PACKAGES = ("neurips23", "torch", "transformers", "peft", "bitsandbytes", "accelerate",
             "tokenizers", "trl", "numpy")


def package_versions() -> dict[str, str]:
    """Versions of the packages that decide our numbers."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    """The current git commit of the source tree, if it is a checkout."""
    try:
        here = Path(__file__).resolve().parent
        r = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                           text=True, timeout=5)
        return r.stdout.strip() or None if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def git_dirty() -> bool | None:
    """Whether the source tree has uncommitted changes to tracked files (None: not a checkout).

    A run from a dirty tree ran code that no commit names."""
    try:
        here = Path(__file__).resolve().parent
        r = subprocess.run(["git", "-C", str(here), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True, text=True, timeout=10)
        return bool(r.stdout.strip()) if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def debug_enabled() -> bool:
    """True under `neurips23 --debug` (or NEURIPS23_DEBUG=1): show third-party chatter."""
    return os.environ.get("NEURIPS23_DEBUG", "") not in ("", "0")


def quiet_third_party() -> None:
    """Silence third-party warnings and logging (FutureWarnings, kernel-loading notices)
    unless --debug; our own errors and progress are unaffected."""
    if debug_enabled():
        return
    import logging
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(torch|transformers|peft|"
                            r"bitsandbytes|accelerate|trl)(\.|$)")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "bitsandbytes", "accelerate", "peft", "torch", "httpx",
                 "urllib3", "huggingface_hub", "datasets", "trl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:
        pass


_COMMAND_STARTED: tuple[float, bool] | None = None


def mark_command_start(own_process: bool) -> None:
    """Called by the `neurips23` entry point: the command starts now (`own_process`: the
    process was started for it, so its start-up counts too)."""
    global _COMMAND_STARTED
    import time

    _COMMAND_STARTED = (time.monotonic(), own_process)


def command_started() -> tuple[float, bool] | None:
    """(monotonic start, own process) of the running `neurips23` command, or None."""
    return _COMMAND_STARTED
