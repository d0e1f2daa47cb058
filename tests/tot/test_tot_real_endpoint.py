"""`tot run --backend openai` end to end against `neurips23 serve` on the built-in SmolLM2
(prompts sent as chat; their zero-shot forms, which keep this test short on a CPU). A 135M
model is not expected to solve Game of 24; what is tested is the pipeline: every step's
prompts reach the model, its replies are parsed into states, usage comes back from the
server, and the run record is complete."""

from __future__ import annotations

import json
import time
from pathlib import Path

from typer.testing import CliRunner

from neurips23.tot.cli import app


def test_tot_run_through_the_server_on_smollm2(smollm2_server, tmp_path):
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, [
        "run", "--backend", "openai", "--model", "smollm2-135m", "--base-url", smollm2_server,
        "--puzzles", "900", "--b", "1", "--n-evaluate", "1", "--max-tokens", "16",
        "--no-few-shot", "--temperature", "0", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    run_dir = Path(result.output.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    res = json.loads((run_dir / "results.json").read_text())
    [row] = rows
    assert row["calls"] >= 2 and row["prompt_tokens"] > 20 and row["completion_tokens"] > 0
    # (a proposal and a value call at least, tokens counted by the server)
    assert res["metrics"]["puzzles"] == 1 and res["metrics"]["success"] in (0.0, 1.0)
    assert (run_dir / "config.resolved.yaml").exists()
    print(f"tot run on SmolLM2 through the server: {time.perf_counter() - t0:.1f}s, "
          f"calls per puzzle {res['metrics']['per_puzzle']['calls']:.1f}")
