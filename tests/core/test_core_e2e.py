"""Issue 2's end-to-end path through the real CLI: train a nano model, serve it, query it."""

import os
import socket
import subprocess
import sys
import time

import pytest

from neurips23.lm.backends.openai import OpenAIBackend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_train_serve_and_query_through_openai_backend(tmp_path):
    env = {**os.environ, "NEURIPS23_CACHE": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "neurips23.cli"]
    r = subprocess.run([*cli, "models", "train", "--task", "reverse", "--size", "nano",
                        "--steps", "30"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    model_dir = r.stdout.strip().splitlines()[-1]
    assert os.path.exists(os.path.join(model_dir, "config.json"))
    listed = subprocess.run([*cli, "models", "list"], capture_output=True, text=True, env=env)
    assert os.path.basename(model_dir) in listed.stdout

    port = _free_port()
    server = subprocess.Popen([*cli, "serve", "--model", model_dir, "--port", str(port),
                               "--model-name", "nano"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        backend = OpenAIBackend("nano", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0,
                                timeout=30)
        deadline = time.time() + 120
        while True:
            try:
                outs = backend.generate(["rev 123 =", "rev 98 ="], n=2, temperature=0.8,
                                        max_tokens=6, seed=1)
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    pytest.fail(f"server did not come up: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.5)
        assert [len(o) for o in outs] == [2, 2]
        [s] = backend.score(["rev 123 ="], [" 321"])
        from neurips23.lm.backends import load_backend

        [local] = load_backend("hf", model_dir).score(["rev 123 ="], [" 321"])
        assert s.logprob == pytest.approx(local.logprob, abs=1e-4)
        assert backend.usage.calls >= 2
    finally:
        server.terminate()
        server.wait(timeout=30)
