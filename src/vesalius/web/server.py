"""Run the ASGI app with uvicorn in a thread, on a socket bound before it starts."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

STARTUP_TIMEOUT = 30.0


class HttpServer:
    """uvicorn serving ``app`` on a listening socket from a background thread (HTTPS
    when given a certificate and its key)."""

    def __init__(
        self, app: FastAPI, sock: socket.socket, *, tls_cert: str = "", tls_key: str = ""
    ) -> None:
        self.socket = sock
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=tls_cert or None,
            ssl_keyfile=tls_key or None,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, name="http", daemon=True
        )

    @property
    def port(self) -> int:
        """The TCP port bound."""
        return int(self.socket.getsockname()[1])

    def start(self) -> HttpServer:
        """Serve in the background; return once uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the HTTP server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start in time")
            self._thread.join(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, finish what is in flight (briefly), close the socket."""
        self.server.should_exit = True
        self._thread.join(timeout=10)
        self.socket.close()
