"""The reproduction contract: a method declares its config, profiles and one experiment
function; the core owns everything else (config resolution, run record, threads, claims).

    REPRODUCTION = Reproduction(
        name="dpo", title="DPO (Rafailov et al. 2023)", config=DPOConfig,
        profiles={"quick": {...}, "full": {}}, run=run_frontier)

    def run_frontier(cfg: DPOConfig, run: Run) -> Outcome: ...

`run` receives the resolved config and an open run record (`run.dir`, `run.log`,
`run.save_plot`, `run.log_samples`) and returns the metrics and claims; the core writes
results.json. Only profiles listed in `finding_profiles` produce findings: the verdicts of
any other profile (quick) are marked as pipeline checks in the console and the report. A
config may define `validate(self) -> None` (ConfigError naming the field): `resolve_config`
calls it, so `neurips23 reproduce` rejects every bad setting of every method before the first
one starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurips23.core.claims import Claim


@dataclass
class Outcome:
    """What an experiment returns: metrics (JSON-able), claims, a note for the report, and
    named result tables (lists of row dicts) that the report and the docs render."""

    metrics: dict[str, Any]
    claims: list[Claim] = field(default_factory=list)
    notes: str = ""
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Reproduction:
    """A method's reproduction: its config dataclass, named profiles and experiment function."""

    name: str
    title: str
    config: type
    profiles: Mapping[str, Mapping[str, Any]]
    run: Callable[[Any, Any], Outcome]
    finding_profiles: tuple[str, ...] = ("full",)


def get_reproduction(name: str) -> Reproduction:
    """The REPRODUCTION of the method called `name` (package, CLI group or alias)."""
    from neurips23.registry import find_method

    method = find_method(name)
    return importlib.import_module(f"neurips23.{method.name}.reproduce").REPRODUCTION


def resolve_config(repro: Reproduction, profile: str, config_file: str | Path | None = None,
                   overrides: Sequence[str] = ()) -> Any:
    """defaults <- profile <- YAML file <- key=value overrides, type-checked. A rule changed by
    the file or an override says so in its reason (the declared rule is quoted)."""
    from neurips23.config import load_config
    from neurips23.errors import ConfigError

    if profile not in repro.profiles:
        raise ConfigError(f"profile {profile!r} for {repro.name}: choose from "
                          f"{', '.join(repro.profiles)}")
    cfg = load_config(repro.config, config_file, overrides, base=dict(repro.profiles[profile]))
    if config_file or overrides:
        declared = load_config(repro.config, None, (), base=dict(repro.profiles[profile]))
        for change in rule_changes(declared, cfg):
            rule = change["_rule"]
            rule.reason = (f"OVERRIDDEN ({change['changed']}; declared: {change['declared']}). "
                           + change["declared_reason"])
    validate_config(cfg)
    return cfg


def validate_config(cfg: Any) -> None:
    """The contract's check of a resolved config, before any work: the one `workers` rule, then
    the config's own `validate()` (a ConfigError naming the field), where it has one."""
    if hasattr(cfg, "workers"):
        from neurips23.core.parallel import worker_count

        worker_count(cfg.workers)  # one rule for every method
    if callable(getattr(cfg, "validate", None)):
        cfg.validate()


def rule_changes(declared: Any, used: Any, prefix: str = "") -> list[dict]:
    """Every Rule of `used` that differs from the declared one: its dotted name, what changed
    and the declared values (the `_rule` entry is the live Rule object, not for records)."""
    import dataclasses

    from neurips23.core.claims import Rule, rule_text

    out = []
    if not dataclasses.is_dataclass(used):
        return out
    for f in dataclasses.fields(used):
        a, b = getattr(declared, f.name, None), getattr(used, f.name)
        name = prefix + f.name
        if isinstance(b, Rule) and isinstance(a, Rule):
            diff = [k for k in ("direction", "threshold", "margin", "min_n", "confidence")
                    if getattr(a, k) != getattr(b, k)]
            if diff:
                out.append({"rule": name, "_rule": b, "declared_reason": a.reason,
                            "declared": rule_text(dataclasses.asdict(a)),
                            "changed": ", ".join(f"{k} {getattr(a, k)} → {getattr(b, k)}"
                                                 for k in diff)})
        elif dataclasses.is_dataclass(b):
            out += rule_changes(a, b, name + ".")
    return out


def run_provenance(repro: Reproduction, profile: str, cfg: Any,
                   config_file: str | Path | None, overrides: Sequence[str]) -> dict:
    """What the run record carries about how its config departs from the declared one."""
    from neurips23.config import load_config

    declared = load_config(repro.config, None, (), base=dict(repro.profiles[profile]))
    changes = [{k: v for k, v in c.items() if not k.startswith("_")}
               for c in rule_changes(declared, cfg)]
    for c in changes:
        c.pop("declared_reason", None)
    return {"overrides": list(overrides), "config_file": str(config_file) if config_file else None,
            "rule_changes": changes}


def config_seeds(cfg: Any) -> list[int]:
    """The seeds a config runs: its `seeds` list, else its single `seed`, else [0]."""
    seeds = getattr(cfg, "seeds", None)
    if seeds:
        return list(seeds)
    return [int(getattr(cfg, "seed", 0))]


def reproduce(name: str, profile: str = "quick", config_file: str | Path | None = None,
              overrides: Sequence[str] = (), runs_dir: str | Path = "runs",
              resume: str | None = None) -> Path:
    """Run one method's reproduction into runs/<method>/<run-id>/ and return that directory;
    `resume` names an unfinished run of the same config to continue."""
    repro = get_reproduction(name)
    cfg = resolve_config(repro, profile, config_file, overrides)
    return run_reproduction(repro, cfg, profile, runs_dir, resume, config_file, overrides)


def run_reproduction(repro: Reproduction, cfg: Any, profile: str, runs_dir: str | Path = "runs",
                     resume: str | None = None, config_file: str | Path | None = None,
                     overrides: Sequence[str] = ()) -> Path:
    """Run `repro` on a resolved config (`config_file` and `overrides`: how it departs from the
    profile, for the record). The run's status (running, then finished, failed or interrupted)
    is in its folder from the start; each finished per-seed unit is saved there as it comes
    back, and a resumed run reuses the ones saved under the same config."""
    from neurips23.config import dump_yaml
    from neurips23.core.run import reopen_run, start_run, write_status
    from neurips23.core.units import storing_units, units_key
    from neurips23.utils import quiet_third_party, set_torch_threads

    validate_config(cfg)  # also for a config built in code rather than resolved
    quiet_third_party()
    set_torch_threads()
    finding = profile in repro.finding_profiles
    provenance = run_provenance(repro, profile, cfg, config_file, overrides)
    run = (reopen_run(repro.name, cfg, runs_dir, resume, profile, finding, provenance) if resume
           else start_run(repro.name, cfg, runs_dir, profile, finding=finding,
                          provenance=provenance))
    try:
        with storing_units(run.dir / "units", units_key(repro.name, dump_yaml(cfg))):
            outcome = repro.run(cfg, run)
        run.finish(outcome.metrics, outcome.claims, seeds=config_seeds(cfg), notes=outcome.notes,
                   tables=outcome.tables, title=repro.title)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (the CLI turns it into this)
        write_status(run.dir, "interrupted")
        raise
    except BaseException as e:
        write_status(run.dir, "failed", f"{type(e).__name__}: {str(e)[:300]}")
        raise
    return run.dir
