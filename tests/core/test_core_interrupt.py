"""Interrupting a reproduction: its workers die with it (SIGTERM or SIGKILL), its status reads
interrupted, `report` lists it, and a resume reuses its finished units and gives the results
of a run never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurips23.core.run import load_unfinished, run_status

SCRIPT = Path(__file__).with_name("interrupt_script.py")


def _start(runs: Path, log: Path, pause: float, resume: str | None = None) -> subprocess.Popen:
    log.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "FAKE_PAUSE": str(pause),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"),
                                          os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(SCRIPT), str(runs), str(log),
                             *([resume] if resume else [])], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> Path:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return Path(out.strip().splitlines()[-1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's reaper is late


def _wait_for(predicate, what: str, cap: float = 240.0) -> None:
    """Poll until `predicate()`; the cap only bounds a broken run (it is not a timing)."""
    deadline = time.monotonic() + cap
    while not predicate():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def _computed(log: Path) -> list[int]:
    path = log / "computed.txt"
    return sorted(int(x) for x in path.read_text().split()) if path.exists() else []


def _interrupt(tmp_path: Path, sig: int) -> tuple[Path, Path, list[int]]:
    runs, log = tmp_path / "runs", tmp_path / "log"
    proc = _start(runs, log, pause=600)
    units = lambda: list(runs.glob("fake/*/units/*.json"))  # noqa: E731
    # seeds 0 and 1 saved, and the two workers busy on the long seeds 2 and 3
    _wait_for(lambda: len(units()) == 2 and {2, 3} <= set(_computed(log)), "two units done")
    workers = [int(p.name.split("-")[1]) for p in log.glob("pid-*")]
    assert len(workers) == 2 and all(_alive(w) for w in workers)
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    assert proc.returncode == (130 if sig == signal.SIGTERM else -signal.SIGKILL)
    _wait_for(lambda: not any(_alive(w) for w in workers), "the workers ended with their parent",
              cap=60)
    (run_dir,) = runs.glob("fake/*")
    return runs, run_dir, workers


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_reproduction_takes_its_workers_and_reads_interrupted(sig, tmp_path):
    runs, run_dir, _ = _interrupt(tmp_path, sig)
    assert not (run_dir / "results.json").exists()
    assert run_status(run_dir)["status"] == "interrupted"
    if sig == signal.SIGTERM:  # recorded by the run itself
        assert json.loads((run_dir / "status.json").read_text())["status"] == "interrupted"
    (listed,) = load_unfinished(runs)
    assert listed["run_id"] == run_dir.name and listed["status"] == "interrupted"


def test_report_lists_an_unfinished_run(tmp_path, capsys, monkeypatch):
    from test_core_faults import run_main

    from neurips23.core.run import start_run, write_status

    done = start_run("m", {}, tmp_path / "runs", profile="quick")
    done.finish({"x": 1})
    broken = start_run("m", {}, tmp_path / "runs", profile="full")
    write_status(broken.dir, "failed", "ValueError: boom")
    code, out, err = run_main(["report", "--runs-dir", str(tmp_path / "runs"), "--out",
                               str(tmp_path / "report")], capsys, monkeypatch)
    assert code == 0
    assert f"unfinished: m/{broken.id}: failed (ValueError: boom)" in " ".join((out + err).split())
    page = (tmp_path / "report" / "index.html").read_text()
    assert "Unfinished runs" in page and broken.id in page


def test_a_resumed_run_reuses_finished_units_and_matches_an_uninterrupted_run(tmp_path):
    reference = json.loads((_finish(_start(tmp_path / "ref", tmp_path / "reflog", 0))
                            / "results.json").read_text())
    runs, run_dir, _ = _interrupt(tmp_path, signal.SIGKILL)
    log = tmp_path / "log"
    computed_before = _computed(log)
    resumed_dir = _finish(_start(runs, log, pause=0, resume=run_dir.name))
    assert resumed_dir == run_dir
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    # seeds 0 and 1 came from the interrupted run's units; only the rest were computed again
    assert _computed(log) == sorted(computed_before + [2, 3, 4, 5])
    assert computed_before.count(0) == 1 and _computed(log).count(0) == 1
    results = json.loads((run_dir / "results.json").read_text())
    assert results["metrics"] == reference["metrics"]
    assert results["tables"] == reference["tables"]
    assert all(row["is_tuple"] for row in results["tables"]["units"])
    assert load_unfinished(runs) == []


def test_a_resume_with_another_config_or_a_finished_run_is_refused(tmp_path):
    from neurips23.core.reproduction import run_reproduction
    from neurips23.errors import UserError

    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from interrupt_script import FAKE, FakeConfig
    finally:
        sys.path.remove(str(SCRIPT.parent))
    (tmp_path / "log").mkdir()
    cfg = FakeConfig(log_dir=str(tmp_path / "log"), seeds=[0, 1], workers=1)
    run_dir = run_reproduction(FAKE, cfg, "quick", tmp_path / "runs")
    with pytest.raises(UserError, match="that run finished"):
        run_reproduction(FAKE, cfg, "quick", tmp_path / "runs", resume=run_dir.name)
    (run_dir / "results.json").unlink()
    other = FakeConfig(log_dir=str(tmp_path / "log"), seeds=[0, 1, 2], workers=1)
    with pytest.raises(UserError, match="started with another config"):
        run_reproduction(FAKE, other, "quick", tmp_path / "runs", resume=run_dir.name)
    with pytest.raises(UserError, match="no run of fake"):
        run_reproduction(FAKE, cfg, "quick", tmp_path / "runs", resume="../../etc")


def test_the_unit_codec_round_trips_exactly_and_rebuilds_only_our_dataclasses(tmp_path):
    import math

    import numpy as np

    from neurips23.core.units import MISSING, UnitStore, decode, encode
    from neurips23.editing.facts import Fact

    value = {"t": (1, 2.5, "x"), "nested": [(np.float32(0.1), np.int64(3))], 7: "int key",
             "__tuple__": "a key that looks like a tag", "arr": np.arange(6, dtype=np.float32)
             .reshape(2, 3), "inf": -math.inf, "fact": Fact("A", "{} is", "B")}
    back = decode(json.loads(json.dumps(encode(value), allow_nan=False)))
    assert back.keys() == value.keys() and back["t"] == (1, 2.5, "x")
    assert type(back["nested"][0][0]) is np.float32 and back["nested"][0][0] == np.float32(0.1)
    assert back["arr"].dtype == np.float32 and np.array_equal(back["arr"], value["arr"])
    assert back["inf"] == -math.inf and back[7] == "int key" and back["fact"] == value["fact"]
    with pytest.raises(TypeError):
        encode({"x": object()})
    with pytest.raises(TypeError, match="not one of ours"):
        decode({"__dataclass__": "os:PathLike", "fields": {}})
    store = UnitStore(tmp_path, key="k")
    assert store.put(0, "f", 3, value) and not store.put(0, "f", 4, {"x": object()})
    assert store.get(0, "f", 3)["t"] == (1, 2.5, "x")
    assert store.get(0, "f", 4) is MISSING and store.get(1, "f", 3) is MISSING
    assert UnitStore(tmp_path, key="other config").get(0, "f", 3) is MISSING
