"""Shared test settings: one torch thread, a private model cache per test session."""

import os
import tempfile

os.environ.setdefault("NEURIPS23_CACHE", tempfile.mkdtemp(prefix="neurips23-test-cache-"))
os.environ.setdefault("NEURIPS23_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def smollm2_server():
    """The built-in SmolLM2-135M-Instruct served by `neurips23 serve`'s app on a free local
    port for the whole session (one load, converted once into the session cache): its base URL."""
    from neurips23.lm.backends import load_backend
    from neurips23.serve import background_server, create_app

    backend = load_backend("hf", "smollm2-135m")
    with background_server(create_app(backend, "smollm2-135m")) as url:
        yield url
