"""Run the chosen probes on one model: each from the cache when its key matches, else measured
and cached at once (so a killed run resumes at the first unfinished probe); then the card."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from neurips23.errors import ConfigError
from neurips23.probe.base import ProbeResult, cache_key, cached_result, not_applicable
from neurips23.probe.config import PROBES, Budget, ProbeConfig


def probe_module(name: str):
    """The module of probe `name` (NAME, FINDING, VERSION, applies, run)."""
    return importlib.import_module(f"neurips23.probe.{name}")


def chosen_probes(only: Sequence[str], skip: Sequence[str]) -> list[str]:
    """The probes to run, in card order; an unknown name is a ConfigError listing the valid ones."""
    for flag, names in (("--only", only), ("--skip", skip)):
        bad = [n for n in names if n not in PROBES]
        if bad:
            raise ConfigError(f"{flag} {bad[0]!r}: not a probe; probes: {', '.join(PROBES)}")
    return [p for p in PROBES if (not only or p in only) and p not in skip]


def code_version(name: str) -> str:
    """The code version a cached result is tied to: the package's and the probe module's."""
    from neurips23 import __version__

    return f"{__version__}+{name}.{probe_module(name).VERSION}"


def model_slug(label: str) -> str:
    """A folder name for a model label ("HuggingFaceTB/SmolLM2" -> "HuggingFaceTB_SmolLM2")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "model"


def run_probes(subject, budget: Budget, names: Sequence[str], out_dir: Path,
               log: Callable[[str], None] = lambda m: None) -> list[tuple[ProbeResult, bool]]:
    """(result, from cache) for each probe in `names`, cached under `out_dir/probes/`."""
    results = []
    for name in names:
        mod = probe_module(name)
        b = getattr(budget, name)
        key = cache_key(subject.fingerprint, name, b, code_version(name))
        reason = mod.applies(subject)

        def compute(mod=mod, b=b, reason=reason) -> ProbeResult:
            if reason:
                return not_applicable(mod.NAME, mod.FINDING, reason)
            return mod.run(subject, b, log)

        result, hit = cached_result(out_dir, name, key, compute)
        log(f"{name}: {'cached' if hit else 'done'} -> {result.as_dict()['says']}")
        results.append((result, hit))
    return results


def probe_model(cfg: ProbeConfig, log: Callable[[str], None] = lambda m: None,
                subject=None) -> Path:
    """`neurips23 probe`: load the model (unless `subject` is given), run the probes, write the
    card; returns the card's folder."""
    from neurips23.probe.card import write_card
    from neurips23.probe.subject import load_subject

    names = chosen_probes(cfg.only, cfg.skip)
    if cfg.backend == "openai" and not cfg.base_url:
        raise ConfigError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)")
    if subject is None:
        log(f"loading {cfg.model} ({cfg.backend})")
        subject = load_subject(cfg)
    out = Path(cfg.out) / model_slug(subject.label)
    results = run_probes(subject, cfg.chosen, names, out, log)
    write_card(out, subject, cfg.budget, asdict(cfg.chosen), [r for r, _ in results])
    return out
