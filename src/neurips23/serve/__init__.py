"""`neurips23 serve`: an OpenAI-compatible HTTP API over a model (FastAPI + uvicorn).

    from neurips23.serve import background_server, create_app
    with background_server(create_app(backend, "my-model")) as base_url: ...

Modules: `app` (routes, state), `completions` and `chat` (the two handlers), `engine` (what
the server asks of a model), `batching` (the model thread and its micro-batches), `schemas`
(request bodies), `errors` (OpenAI-style error JSON), `server` (running it).
"""

from neurips23.serve.app import create_app
from neurips23.serve.server import background_server, serve

__all__ = ["background_server", "create_app", "serve"]
