"""`neurips23 serve`: an OpenAI-compatible HTTP API over a model (FastAPI + uvicorn).

    from neurips23.serve import background_server, create_app
    with background_server(create_app(backend, "my-model")) as base_url: ...

Modules, top down: `app` (routes, middleware, the app), `completions` and `chat` (the two
handlers), `streaming` (server-sent events), `state` (what every handler reads: limits,
admission, deadlines, the response envelope), `engine` (what the server asks of a model),
`batching` (the model thread, its micro-batches, admission and cancellation), `schemas`
(request bodies), `errors` (OpenAI-style error JSON, the body size limit), `server` (running it).
"""

from neurips23.serve.app import create_app
from neurips23.serve.server import background_server, serve

__all__ = ["background_server", "create_app", "serve"]
