"""How the server says no: WebError (an HTTP status and one line for the client), and the handlers that answer every
failure in one JSON shape, `{"error": "..."}`, so that no stack trace ever reaches a client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..errors import ColorizationError

log = logging.getLogger(__name__)


class WebError(Exception):
    """A request the server refuses: the HTTP status and one line for the client."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or {})


async def web_error(request: Request, error: WebError) -> JSONResponse:
    return error_response(error.status, error.message, error.headers)


async def colorization_error(request: Request, error: ColorizationError) -> JSONResponse:
    """What the package refuses (a picture it cannot read, a setting out of range) is the client's to fix."""
    return error_response(400, str(error))


async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    message = {404: "no such page or endpoint", 405: "method not allowed here"}.get(
        error.status_code, str(error.detail)
    )
    return error_response(error.status_code, message)


async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's list of problems as one line: where the first one is, and what it is."""
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return error_response(400, f"{where}: {first.get('msg', 'invalid')}")


async def client_gone(request: Request, error: ClientDisconnect) -> Response:
    """The client left before its request was read: nobody to answer, nothing to log as a failure."""
    log.info("web: %s %s: the client disconnected", request.method, request.url.path)
    return Response(status_code=400)


async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
    """A bug: its traceback goes to the server's log, never to the client."""
    log.exception("web: %s %s failed", request.method, request.url.path)
    return error_response(500, "the server failed on this request (the reason is in its log)")


HANDLERS: dict[type[Exception], Callable[[Request, Any], Awaitable[Response]]] = {
    WebError: web_error,
    ColorizationError: colorization_error,
    StarletteHTTPException: http_error,
    RequestValidationError: validation_error,
    ClientDisconnect: client_gone,
    Exception: unexpected_error,
}


def add_error_handlers(app: FastAPI) -> None:
    for kind, handler in HANDLERS.items():
        app.add_exception_handler(kind, handler)
