"""Running the app: `serve` (the `neurips23 serve` command) and `background_server` (tests,
notebooks: a server in a thread for the length of a `with` block)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from neurips23.serve.app import DEFAULT_TOKEN_LIMIT


def serve(model: str = "smollm2-135m", host: str = "127.0.0.1", port: int = 8000,
          model_name: str | None = None, api_key_env: str | None = None,
          device: str | None = None, dtype: str | None = None,
          token_limit: int = DEFAULT_TOKEN_LIMIT, batch_size: int = 64) -> None:
    """Serve a model (`load_backend("hf", model, device=..., dtype=...)`) on host:port until
    Ctrl-C. Clients ask for it as `model_name` (default: `model` as given). With
    `api_key_env`, the key in that environment variable is required from clients."""
    import os

    import uvicorn

    from neurips23.errors import ConfigError
    from neurips23.lm.backends import load_backend
    from neurips23.serve.app import create_app
    from neurips23.utils import debug_enabled

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise ConfigError(f"api_key_env={api_key_env!r} names an unset environment variable")
    if token_limit < 1:
        raise ConfigError(f"--max-tokens {token_limit}: must be at least 1")
    backend = load_backend("hf", model, device=device, dtype=dtype, batch_size=batch_size)
    app = create_app(backend, model_name or model, api_key=api_key, token_limit=token_limit)
    print(f"serving {model_name or model} at http://{host}:{port}/v1 (Ctrl-C stops)",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info" if debug_enabled() else "warning")


@contextmanager
def background_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn in a daemon thread (port 0: a free one) for as long as the
    `with` block lasts; yields its base URL, `http://host:port/v1`."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="serve-uvicorn", daemon=True)
    port = sock.getsockname()[1]
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the server on {host}:{port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
