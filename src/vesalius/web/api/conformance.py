"""``/api/conformance``: the DICOM Conformance Statement of the running server."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from vesalius.conformance.render import FORMATS, render
from vesalius.conformance.statement import Offered, build_statement
from vesalius.web.deps import SettingsDep
from vesalius.web.errors import BadRequest

router = APIRouter(tags=["system"])


@router.get("/conformance")
def conformance(
    request: Request,
    settings: SettingsDep,
    fmt: Annotated[str, Query(alias="format", description="md, html or json")] = "html",
) -> Response:
    """The statement (PS3.2) made from the contexts this server's AE accepts."""
    if fmt not in FORMATS:
        raise BadRequest(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    offered: list[Offered] = getattr(request.app.state, "offered", [])
    text = render(build_statement(settings, offered), fmt)
    if fmt == "html":
        return HTMLResponse(text)
    if fmt == "json":
        return Response(text, media_type="application/json")
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
