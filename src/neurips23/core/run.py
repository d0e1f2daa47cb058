"""The run record: runs/<method>/<run-id>/ with the resolved config, status, results, samples and plots
(written by the reproduction runner and by tool commands; read by the report)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neurips23.config import dump_yaml
from neurips23.core.claims import Claim
from neurips23.utils import (
    atomic_write_json,
    atomic_write_text,
    git_commit,
    git_dirty,
    package_versions,
)

__all__ = ["RUN_KINDS", "Claim", "Run", "load_runs", "load_unfinished", "reopen_run", "run_status",
           "start_run", "write_status"]


RUN_KINDS = ("reproduction", "tool")  # a tool run (`tot run`, `planning eval`) has no verdicts


class Run:
    """One experiment's directory; `finish` writes results.json."""

    def __init__(self, method: str, config: Any, runs_dir: Path, profile: str | None,
                 finding: bool = True, provenance: dict | None = None, kind: str = "reproduction"):
        assert kind in RUN_KINDS, kind
        self.method = method
        self.profile = profile
        self.kind = kind
        self.finding = finding and kind == "reproduction"  # a tool run is never a finding
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        base = Path(runs_dir) / method / (f"{stamp}-{profile}" if profile else stamp)
        base.parent.mkdir(parents=True, exist_ok=True)
        self.dir, k = base, 1
        while True:  # mkdir is the atomic claim: two runs started in the same second get -1, -2
            try:
                self.dir.mkdir()
                break
            except FileExistsError:
                k += 1
                self.dir = base.with_name(f"{base.name}-{k}")
        self.id = self.dir.name
        self.t0 = time.time()
        self.commit = git_commit()  # the code the run started with, even if HEAD moves meanwhile
        self.dirty = git_dirty()  # ... and whether that code had uncommitted changes
        self.provenance = provenance or {}
        self.plots: list[str] = []
        atomic_write_text(self.dir / "config.resolved.yaml", _provenance_header(self.provenance)
                          + (dump_yaml(config) if config else "{}\n"))
        write_status(self.dir, "running")

    def log(self, message: str) -> None:
        """A progress line on stderr (the run's console), prefixed with the elapsed time."""
        from rich.console import Console

        Console(stderr=True, highlight=False).print(
            f"[dim]{time.time() - self.t0:7.1f}s[/dim] {message}", soft_wrap=True)

    def log_samples(self, rows: Iterable[dict]) -> Path:
        """Append rows to samples.jsonl."""
        path = self.dir / "samples.jsonl"
        with path.open("a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, default=str) + "\n")
        return path

    def save_plot(self, fig, name: str) -> Path:
        """Save a matplotlib figure as <name>.png in the run dir and close it."""
        import matplotlib.pyplot as plt

        path = self.dir / (name if name.endswith(".png") else f"{name}.png")
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        if path.name not in self.plots:
            self.plots.append(path.name)
        return path

    def finish(self, metrics: dict, claims: Sequence[Claim] = (), seeds: Sequence[int] = (),
               notes: str = "", tables: dict[str, list[dict]] | None = None,
               title: str = "") -> Path:
        """Write results.json (metrics, claims, tables, seeds, versions, commit, wall time, plots)."""
        results = {
            "method": self.method, "title": title, "run_id": self.id, "profile": self.profile,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(time.time() - self.t0, 2), "seeds": list(seeds),
            "kind": self.kind, "finding": self.finding,
            "claims": [c.as_dict() for c in claims], "tables": tables or {}, "metrics": metrics,
            "notes": notes, "plots": self.plots, "versions": package_versions(), "git_commit": self.commit,
            "git_dirty": self.dirty, "git_commit_end": git_commit(), **self.provenance,
        }
        path = self.dir / "results.json"
        atomic_write_json(path, results)
        write_status(self.dir, "finished")
        return path


def start_run(method: str, config: Any, runs_dir: str | Path = Path("runs"),
              profile: str | None = None, finding: bool = True,
              provenance: dict | None = None, kind: str = "reproduction") -> Run:
    """Create runs/<method>/<run-id>/ and write config.resolved.yaml.

    `finding` is false for a profile whose verdicts are pipeline checks (quick); `kind` "tool"
    marks a run of a method's tool command (never a finding); `provenance` (--set overrides,
    config file, rules that differ from the declared ones) goes into results.json and, as
    comments, the head of config.resolved.yaml."""
    return Run(method, config, Path(runs_dir), profile, finding, provenance, kind)


def _provenance_header(provenance: dict) -> str:
    """Comment lines naming the --set overrides, the config file and the changed rules."""
    lines = [f"# --set {o}" for o in provenance.get("overrides") or []]
    if provenance.get("config_file"):
        lines.append(f"# --config {provenance['config_file']}")
    lines += [f"# rule {c['rule']} differs from the declared one: {c['changed']}"
              for c in provenance.get("rule_changes") or []]
    return "".join(line + "\n" for line in lines)


def load_runs(runs_dir: str | Path = Path("runs")) -> list[dict]:
    """Every finished run's results.json (with its dir), oldest first per method."""
    out = []
    for path in sorted(Path(runs_dir).glob("*/*/results.json")):
        try:
            r = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(r, dict) or not {"method", "run_id"} <= set(r):
            continue  # not one of our records
        r["dir"] = str(path.parent)
        out.append(r)
    return out


# ---------------------------------------------------------------- run status and resume

STATUS_FILE = "status.json"
STATUSES = ("running", "finished", "failed", "interrupted")


def write_status(run_dir: str | Path, status: str, error: str = "") -> None:
    """Record a run's status (running | finished | failed | interrupted) in status.json,
    atomically, with the process that ran it (so a killed run reads as interrupted)."""
    import os
    import socket

    assert status in STATUSES, status
    record = {"status": status, "pid": os.getpid(), "host": socket.gethostname(),
              "updated": datetime.now(UTC).isoformat(timespec="seconds")}
    if error:
        record["error"] = error
    atomic_write_json(Path(run_dir) / STATUS_FILE, record)


def run_status(run_dir: str | Path) -> dict:
    """A run's status record; a run left "running" by a process that is gone (killed with
    SIGKILL, a lost machine) reads as interrupted."""
    import os
    import socket

    run_dir = Path(run_dir)
    try:
        record = json.loads((run_dir / STATUS_FILE).read_text(encoding="utf-8"))
        if not isinstance(record, dict) or record.get("status") not in STATUSES:
            raise ValueError("not a status record")
    except (OSError, ValueError):
        done = (run_dir / "results.json").exists()
        return {"status": "finished" if done else "interrupted",
                "error": "" if done else "no status recorded"}
    if record["status"] == "running" and record.get("host") == socket.gethostname():
        try:
            os.kill(int(record.get("pid", 0)), 0)
        except ProcessLookupError:
            record = {**record, "status": "interrupted", "error": "its process is gone"}
        except (PermissionError, ValueError, OverflowError):
            pass
    return record


def load_unfinished(runs_dir: str | Path = Path("runs")) -> list[dict]:
    """Every run folder without results.json: method, run_id, dir and status (running,
    failed or interrupted), oldest first per method."""
    out = []
    for config in sorted(Path(runs_dir).glob("*/*/config.resolved.yaml")):
        run_dir = config.parent
        if (run_dir / "results.json").exists():
            continue
        record = run_status(run_dir)
        out.append({"method": run_dir.parent.name, "run_id": run_dir.name, "dir": str(run_dir),
                    "status": record["status"], "error": record.get("error", ""),
                    "updated": record.get("updated", "")})
    return out


def reopen_run(method: str, config: Any, runs_dir: str | Path, run_id: str,
               profile: str | None, finding: bool = True, provenance: dict | None = None) -> Run:
    """The unfinished run `run_id` of `method`, to resume: its config must be this one
    (UserError naming what to do otherwise); its status goes back to running."""
    from neurips23.errors import UserError

    run_dir = Path(runs_dir) / method / run_id
    if "/" in run_id or run_id in ("", ".", "..") or not (run_dir / "config.resolved.yaml").is_file():
        raise UserError(f"--resume {run_id}: no run of {method} under {Path(runs_dir) / method}")
    if (run_dir / "results.json").exists():
        raise UserError(f"--resume {run_id}: that run finished ({run_dir / 'results.json'})")
    record = run_status(run_dir)
    if record["status"] == "running":
        raise UserError(f"--resume {run_id}: that run is still running (pid {record.get('pid')})")
    started = (run_dir / "config.resolved.yaml").read_text(encoding="utf-8")
    provenance = provenance or {}
    if started != _provenance_header(provenance) + (dump_yaml(config) if config else "{}\n"):
        raise UserError(f"--resume {run_id}: it was started with another config "
                        f"({run_dir / 'config.resolved.yaml'}); give the same profile, "
                        "--config and --set, or start a new run")
    run = Run.__new__(Run)
    run.method, run.profile, run.finding, run.dir, run.id = method, profile, finding, run_dir, run_id
    run.kind = "reproduction"
    run.t0, run.commit, run.plots = time.time(), git_commit(), []
    run.dirty, run.provenance = git_dirty(), provenance
    write_status(run_dir, "running")
    return run
