"""The ASGI application: one FastAPI app over one ``Archive``.

Endpoints are plain ``def`` functions: FastAPI runs them in its thread pool,
and the archive core stays synchronous, as it is for the DIMSE front door.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from vesalius import __version__
from vesalius.archive.archive import Archive
from vesalius.archive.remote import RemoteAEs
from vesalius.archive.users import Users
from vesalius.settings import Settings
from vesalius.web import audit, errors, metrics
from vesalius.web.api import router as api_router
from vesalius.web.auth import Authenticate
from vesalius.web.dicomweb.routes import router as dicomweb_router
from vesalius.web.wado_uri import router as wado_uri_router

VIEWER = Path(__file__).resolve().parent / "viewer"
"""The workstation in the browser: static HTML, CSS and JavaScript modules."""


def create_app(archive: Archive, settings: Settings, *, remote: RemoteAEs | None = None) -> FastAPI:
    """The HTTP front door of ``archive``: DICOMweb, WADO-URI and the management API.

    ``remote`` is how the API reaches the ``[[peers]]`` (echo, query, send,
    retrieve); without it those endpoints answer 503.
    """
    app = FastAPI(
        title="Vesalius",
        version=__version__,
        description="DICOMweb (QIDO-RS, WADO-RS, STOW-RS), WADO-URI and the management API.",
    )
    app.state.archive = archive
    app.state.settings = settings
    app.state.remote = remote
    app.state.users = Users(archive.index)
    errors.install(app)
    app.add_middleware(Authenticate, users=app.state.users)
    audit.install(app, archive)
    metrics.install(app)
    if settings.http.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.http.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=[
                "Content-Type",
                "Content-Location",
                "Location",
                "Warning",
                "X-Total-Count",
            ],
        )
    app.include_router(dicomweb_router, prefix="/dicomweb")
    app.include_router(wado_uri_router)
    app.include_router(api_router, prefix="/api")
    # Last: the workstation's static files answer whatever no route above took.
    app.mount("/", StaticFiles(directory=VIEWER, html=True), name="viewer")
    return app
