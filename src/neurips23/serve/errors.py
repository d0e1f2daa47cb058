"""OpenAI-style error answers: `{"error": {"message", "type", "param", "code"}}` with a status.

Every failure a client can see goes through `APIError`: bad request bodies (pydantic), unknown
routes, a missing API key, requests over the server's limits, a full admission queue (429 with
Retry-After), and model failures (a `UserError` from the model is the client's fault, 400;
anything else is ours, 500). A catch-all answers any other exception as a JSON 500, and
`BodyLimit` refuses a request body over the size limit (413) before it is read whole.
"""

from __future__ import annotations

import json
import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_UNION_TAG = re.compile(r"str|int|float|bool|list\[.*\]|dict\[.*\]|function-.*|tagged-union.*")


class APIError(Exception):
    """An error answered as OpenAI-style JSON with an HTTP status."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = (
            status, message, param, code, type)
        self.headers = headers

    def body(self) -> dict:
        """`{"error": {...}}`, the OpenAI error object."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        """The JSON response a client receives."""
        return AsciiJSON(status_code=self.status, content=self.body(), headers=self.headers)


class AsciiJSON(JSONResponse):
    """JSON with non-ASCII escaped: any text (a lone surrogate included) can be sent."""

    def render(self, content) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def overloaded(pending: int, retry_after_s: int = 1) -> APIError:
    """429: the admission queue is full; the client should retry after `retry_after_s`."""
    return APIError(429, f"the server is at capacity ({pending} requests admitted); retry "
                         f"after {retry_after_s} s", type="server_overloaded",
                    code="rate_limit_exceeded", headers={"Retry-After": str(retry_after_s)})


async def api_error(request: Request, exc: APIError) -> JSONResponse:
    """Answer an APIError raised by a handler."""
    return exc.response()


async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A body that does not fit the request schema: 400 naming the field and the value."""
    err = exc.errors()[0] if exc.errors() else {}
    loc = [str(x) for x in err.get("loc", ()) if x != "body"]
    # pydantic names the member of a union it tried (prompt.str, prompt.list[str].0)
    union = [x for x in loc if _UNION_TAG.fullmatch(x)]
    param = ".".join(x for x in loc if x not in union) or None
    msg = "wrong type" if union else err.get("msg", "invalid request")
    if err.get("type") == "json_invalid":
        msg, param = "request body is not valid JSON", None
    elif "input" in err and err.get("type") != "missing":
        msg = f"{msg} (got {err['input']!r:.60})"
    text = f"{param}: {msg}" if param else msg
    return APIError(400, text, param=param).response()


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Unknown routes and methods, in the same JSON shape."""
    code = "not_found" if exc.status_code == 404 else None
    msg = (f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405)
           else str(exc.detail))
    if exc.status_code == 413:
        code = "request_too_large"
    return APIError(exc.status_code, msg, code=code).response()


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Anything unforeseen: a JSON 500 (logged with its traceback), never plain text."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return APIError(500, f"internal server error: {type(exc).__name__}",
                    type="server_error").response()


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of `app` in the OpenAI shape."""
    app.add_exception_handler(APIError, api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, bad_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, internal_error)


class BodyLimit:
    """ASGI middleware: 413 for a request body over `max_bytes`, by its Content-Length before
    reading anything, else (chunked bodies) as soon as the bytes received pass the limit."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _error(self, size: str) -> APIError:
        return APIError(413, f"request body of {size} bytes is over this server's limit of "
                             f"{self.max_bytes} bytes (neurips23 serve --max-body-bytes)",
                        code="request_too_large")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._error(length.decode()).response()(scope, receive, send)
        seen = 0

        async def counting_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise StarletteHTTPException(413, self._error(f"over {seen}").message)
            return message

        await self.app(scope, counting_receive, send)
