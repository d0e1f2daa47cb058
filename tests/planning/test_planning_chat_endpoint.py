"""Every mode of `plan eval` against a chat-only endpoint: `neurips23 serve` on the built-in
SmolLM2-135M-Instruct, with completions made unavailable to the client. A 135M model plans
almost never; the pipeline (prompts as chat, answers read, records written) is what is tested."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from neurips23.cli import main

MODES = ("autonomous", "heuristic", "self-critique", "resample", "backprompt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory):
    """`neurips23 serve --model smollm2-135m` on 127.0.0.1 in a subprocess (one per module)."""
    pytest.importorskip("gguf")
    from neurips23.lm.builtin import gguf_path

    try:
        gguf_path("smollm2-135m")
    except Exception as e:  # noqa: BLE001 - the wheel is optional
        pytest.skip(str(e))
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "neurips23.cli", "serve", "--model",
                                 "smollm2-135m", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 600  # the first use converts the GGUF into the cache
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def chat_only(monkeypatch):
    """The client as a chat-only endpoint leaves it: every completions call fails."""
    from neurips23.errors import BackendError
    from neurips23.lm.backends.openai import OpenAIBackend

    def no_completions(self, *a, **k):
        raise BackendError("model not found: this endpoint serves chat completions only")

    monkeypatch.setattr(OpenAIBackend, "generate", no_completions)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_runs_on_a_chat_only_endpoint(mode, smollm2_server, chat_only, tmp_path,
                                                 monkeypatch, capsys):
    rounds = 2 if mode == "backprompt" else 1  # a second round: the feedback turn in the chat
    monkeypatch.setattr(sys, "argv", [str(x) for x in [
        "neurips23", "plan", "eval", "--mode", mode, "--backend", "openai", "--model",
        "smollm2-135m", "--base-url", smollm2_server, "--chat", "--n", "1", "--blocks", "3",
        "--rounds", rounds, "--samples", "2", "--max-tokens", "24", "--no-intro",
        "--planner", "local", "--runs-dir", tmp_path]])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code in (0, None), capsys.readouterr().err
    run = next((tmp_path / "planning").iterdir())
    res = json.loads((run / "results.json").read_text())
    rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert res["metrics"]["usage"]["calls"] >= 1 and rows
    first = rows[0]
    if mode in ("backprompt", "self-critique"):
        assert first["rounds_used"] >= 1 and "raw_output" in first["rounds"][0]
    elif mode == "resample":
        assert len(first["raw_outputs"]) == 2
    else:
        assert "raw_output" in first and isinstance(first["unparsed"], list)
    if mode == "heuristic":
        assert res["metrics"]["heuristic"]["n"] == 1
