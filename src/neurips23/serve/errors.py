"""OpenAI-style error answers: `{"error": {"message", "type", "param", "code"}}` with a status.

Every failure a client can see goes through `APIError`: bad request bodies (pydantic), unknown
routes, a missing API key, requests over the server's limits, and model failures (a
`UserError` from the model is the client's fault, 400; anything else is ours, 500).
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_UNION_TAG = re.compile(r"str|int|float|bool|list\[.*\]|dict\[.*\]|function-.*|tagged-union.*")


class APIError(Exception):
    """An error answered as OpenAI-style JSON with an HTTP status."""

    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = (
            status, message, param, code, type)

    def response(self) -> JSONResponse:
        """The JSON response a client receives."""
        return JSONResponse(status_code=self.status, content={"error": {
            "message": self.message, "type": self.type, "param": self.param, "code": self.code}})


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
    return APIError(exc.status_code, msg, code=code).response()


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of `app` in the OpenAI shape."""
    app.add_exception_handler(APIError, api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, bad_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
