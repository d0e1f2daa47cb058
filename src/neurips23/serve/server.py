"""Running the app: `serve` (the `neurips23 serve` command) and `background_server` (tests,
notebooks: a server in a thread for the length of a `with` block)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from neurips23.serve.state import DEFAULT_TOKEN_LIMIT, Limits


def check_device(device: str | None) -> None:
    """ConfigError unless `device` is one torch knows and this machine has."""
    if device in (None, "auto"):
        return
    import torch

    from neurips23.errors import ConfigError

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise ConfigError(f"--device {device!r}: not a device (use cpu, cuda, cuda:N, mps "
                          "or auto)") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": torch.backends.mps.is_available()}
    if not available.get(kind, False):
        raise ConfigError(f"--device {device!r}: no {kind} device on this machine")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; ConfigError naming the port when it is taken."""
    from neurips23.errors import ConfigError

    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e} (is another "
                          "server using the port? choose another with --port)") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(model: str = "smollm2-135m", host: str = "127.0.0.1", port: int = 8000,
          model_name: str | None = None, api_key_env: str | None = None,
          device: str | None = None, dtype: str | None = None,
          token_limit: int = DEFAULT_TOKEN_LIMIT, batch_size: int = 64,
          limits: Limits | None = None) -> None:
    """Serve a model (`load_backend("hf", model, device=..., dtype=...)`) on host:port until
    Ctrl-C. Clients ask for it as `model_name` (default: `model` as given). With
    `api_key_env`, the key in that environment variable is required from clients. The port is
    taken before the model loads, so a busy port is one line and exit 2."""
    import os

    import uvicorn

    from neurips23.errors import ConfigError
    from neurips23.lm.backends import load_backend
    from neurips23.serve.app import create_app
    from neurips23.utils import debug_enabled

    limits = limits or Limits(token_limit=token_limit)
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise ConfigError(f"api_key_env={api_key_env!r} names an unset environment variable")
    for name, value in (("--max-tokens", limits.token_limit), ("--max-pending",
                        limits.max_pending), ("--max-request-tokens", limits.request_tokens),
                        ("--request-timeout", limits.timeout_s),
                        ("--max-body-bytes", limits.body_bytes)):
        if value <= 0:
            raise ConfigError(f"{name} {value}: must be positive")
    check_device(device)
    sock = bind(host, port)
    try:
        backend = load_backend("hf", model, device=device, dtype=dtype, batch_size=batch_size)
        app = create_app(backend, model_name or model, api_key=api_key, limits=limits)
        print(f"serving {model_name or model} at http://{host}:{port}/v1 (Ctrl-C stops)",
              file=sys.stderr, flush=True)
        config = uvicorn.Config(app, log_level="info" if debug_enabled() else "warning")
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def background_server(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `app` with uvicorn in a daemon thread (port 0: a free one) for as long as the
    `with` block lasts; yields its base URL, `http://host:port/v1`."""
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
