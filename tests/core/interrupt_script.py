"""A small fake reproduction for the interruption tests:
`python interrupt_script.py RUNS_DIR LOG_DIR [RESUME_RUN_ID]`, with $FAKE_PAUSE seconds of
work in every unit from seed 2 on (seeds 0 and 1 finish at once). Each unit records the
worker's pid and that it computed the seed under LOG_DIR."""

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from neurips23.core.parallel import map_units
from neurips23.core.reproduction import Outcome, Reproduction, run_reproduction


@dataclass
class FakeConfig:
    log_dir: str = ""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4, 5])
    workers: int = 2


def unit(log_dir: str, seed: int) -> dict:
    """One seed's work: a value of its seed, of types the unit store must keep exactly."""
    log = Path(log_dir)
    (log / f"pid-{os.getpid()}").touch()
    with open(log / "computed.txt", "a") as f:
        f.write(f"{seed}\n")
    if seed >= 2:
        time.sleep(float(os.environ.get("FAKE_PAUSE", "0")))
    rng = np.random.default_rng(seed)
    return {"seed": seed, "pair": (seed / 3, np.float32(seed) / 7), "draws": rng.random(3),
            "nan": float("nan") if seed == 4 else 0.0}


def run_fake(cfg: FakeConfig, run) -> Outcome:
    rows = map_units(partial(unit, cfg.log_dir), cfg.seeds, cfg.workers, log=run.log)
    metrics = {"mean_draw": float(np.mean([r["draws"].mean() for r in rows])),
               "pairs": [list(map(float, r["pair"])) for r in rows]}
    table = [{"seed": r["seed"], "draw0": float(r["draws"][0]), "is_tuple": type(r["pair"]) is tuple}
             for r in rows]
    return Outcome(metrics, tables={"units": table})


FAKE = Reproduction(name="fake", title="fake", config=FakeConfig, profiles={"quick": {}},
                    run=run_fake)

if __name__ == "__main__":
    from neurips23.cli import _terminated

    signal.signal(signal.SIGTERM, _terminated)
    runs_dir, log_dir = sys.argv[1], sys.argv[2]
    resume = sys.argv[3] if len(sys.argv) > 3 else None
    try:
        print(run_reproduction(FAKE, FakeConfig(log_dir=log_dir), "quick", runs_dir, resume))
    except KeyboardInterrupt:
        sys.exit(130)
