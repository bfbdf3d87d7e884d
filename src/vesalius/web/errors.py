"""Failures mapped to HTTP statuses in one place.

Archive errors carry their own ``http_status`` (``model.errors``); a bad
request parameter is ``BadRequest`` (400), and so is an image that cannot be
decoded or a bad rendering parameter (``imaging.RenderError``); content
negotiation that cannot be met is ``NotAcceptable`` (406). A number too large
for the index (an id or offset past 2**63, ``OverflowError``) is 400 too. Every
error answers JSON ``{"error": "<one line>"}``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from vesalius.imaging import RenderError
from vesalius.model.errors import ArchiveError


class HttpError(Exception):
    """A request this front door refuses, with its status and a reason."""

    status = 400

    def __init__(self, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.headers = headers or {}


class BadRequest(HttpError):
    """A parameter or body that cannot be understood (400)."""

    status = 400


class NotAcceptable(HttpError):
    """No representation the client accepts (406)."""

    status = 406


class UnsupportedMediaType(HttpError):
    """A request body of a media type this endpoint does not take (415)."""

    status = 415


def error_response(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON body every failure answers."""
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route the archive's and this front door's errors to their statuses."""

    @app.exception_handler(ArchiveError)
    def _archive_error(_request: Request, error: ArchiveError) -> JSONResponse:
        return error_response(error.http_status, str(error))

    @app.exception_handler(HttpError)
    def _http_error(_request: Request, error: HttpError) -> JSONResponse:
        return error_response(error.status, str(error), error.headers)

    @app.exception_handler(RenderError)
    def _render_error(_request: Request, error: RenderError) -> JSONResponse:
        return error_response(400, str(error))

    @app.exception_handler(OverflowError)
    def _overflow(_request: Request, error: OverflowError) -> JSONResponse:
        # Every int parameter (ids, limit, offset) reaches SQL; the database
        # stores 64-bit integers, and a larger one raises here.
        return error_response(400, f"a number in the request is out of range: {error}")

    @app.exception_handler(RequestValidationError)
    def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}")
