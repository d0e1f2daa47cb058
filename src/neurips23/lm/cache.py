"""A content-addressed cache of trained tiny models: trained once, reused after.

An entry is `<cache>/models/<key>/` where key = sha256 of the spec (everything that decides
the model). It is built in a private tmp dir under a per-key file lock and renamed into place
only when complete, so an interrupted or concurrent build never leaves a visible corrupt entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from neurips23.errors import UserError
from neurips23.utils import atomic_write_json, package_versions

CACHE_FORMAT = 1
META = "meta.json"


def cache_dir() -> Path:
    """$NEURIPS23_CACHE, else ~/.cache/neurips23."""
    return Path(os.environ.get("NEURIPS23_CACHE", Path.home() / ".cache" / "neurips23")).expanduser()


def spec_key(spec: dict) -> str:
    """The entry name of a spec: a short sha256 of its canonical JSON."""
    text = json.dumps({"spec": spec, "format": CACHE_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def get_or_train(spec: dict, build: Callable[[Path], None]) -> Path:
    """The cached model dir for `spec`, calling `build(tmp_dir)` to make it the first time."""
    key = spec_key(spec)
    root = cache_dir() / "models"
    final = root / key
    if (final / META).exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    (cache_dir() / "locks").mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / "locks" / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent builder of the same key waits here
        if (final / META).exists():
            return final
        if final.exists():  # a dir without meta is debris from an older crash
            shutil.rmtree(final, ignore_errors=True)
        tmp = root / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            t0 = time.time()
            build(tmp)
            atomic_write_json(tmp / META, {"key": key, "spec": spec, "created": time.time(),
                                           "build_seconds": time.time() - t0,
                                           "versions": package_versions()})
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def list_models() -> list[dict]:
    """Metadata of every complete cache entry, newest first."""
    root = cache_dir() / "models"
    out = []
    for meta in root.glob(f"*/{META}") if root.exists() else []:
        try:
            info = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        info["path"] = str(meta.parent)
        info["size_bytes"] = sum(f.stat().st_size for f in meta.parent.rglob("*") if f.is_file())
        out.append(info)
    return sorted(out, key=lambda m: -m.get("created", 0))


def show_model(key: str) -> dict:
    """Metadata of one entry by key (or unique key prefix)."""
    matches = [m for m in list_models() if m["key"].startswith(key)]
    if not matches:
        raise UserError(f"no cached model with key {key!r} in {cache_dir()}")
    if len(matches) > 1:
        raise UserError(f"key prefix {key!r} is ambiguous: {', '.join(m['key'] for m in matches)}")
    return matches[0]
