"""HTTP request metrics, and the Prometheus text exposition of them and of the archive.

``RequestMetrics`` is a plain ASGI middleware: it counts each HTTP request by
method, route template (``/api/studies/{study_uid}``, never the concrete
path, so that the number of series stays bounded) and status, and records
its duration in a histogram. ``exposition`` renders those and the archive's
figures in the text format of Prometheus 0.0.4.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vesalius.archive.statistics import Usage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the request-duration histogram."""
UNMATCHED = "unmatched"
"""The route label of requests that matched no route (404s of unknown paths)."""


@dataclass(slots=True)
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        for position, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[position] += 1
        self.total += seconds
        self.count += 1


class HttpMetrics:
    """Request counts and durations of one app, safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = {}
        self._durations: dict[tuple[str, str], _Histogram] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        with self._lock:
            key = (method, route, str(status))
            self._requests[key] = self._requests.get(key, 0) + 1
            self._durations.setdefault((method, route), _Histogram()).observe(seconds)

    def lines(self) -> list[str]:
        """The request counter and duration histogram as exposition lines."""
        with self._lock:
            requests = sorted(self._requests.items())
            durations = sorted(
                (key, (list(h.buckets), h.total, h.count)) for key, h in self._durations.items()
            )
        out = [
            "# HELP vesalius_http_requests_total HTTP requests answered, by route and status.",
            "# TYPE vesalius_http_requests_total counter",
        ]
        for (method, route, status), value in requests:
            labels = _labels(method=method, route=route, status=status)
            out.append(f"vesalius_http_requests_total{labels} {value}")
        out += [
            "# HELP vesalius_http_request_duration_seconds Time to answer an HTTP request.",
            "# TYPE vesalius_http_request_duration_seconds histogram",
        ]
        name = "vesalius_http_request_duration_seconds"
        for (method, route), (buckets, total, count) in durations:
            for bound, value in zip(BUCKETS, buckets, strict=True):
                labels = _labels(method=method, route=route, le=_number(bound))
                out.append(f"{name}_bucket{labels} {value}")
            out.append(f"{name}_bucket{_labels(method=method, route=route, le='+Inf')} {count}")
            out.append(f"{name}_sum{_labels(method=method, route=route)} {_number(total)}")
            out.append(f"{name}_count{_labels(method=method, route=route)} {count}")
        return out


class RequestMetrics:
    """ASGI middleware that reports every HTTP request to an ``HttpMetrics``."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe(scope.get("method", ""), route_template(scope), status, seconds)


def route_template(scope: Scope) -> str:
    """The template of the route a request matched (``/api/studies/{study_uid}``).

    Rebuilt from the path and the path parameters the router found, so that it
    holds the prefixes of included routers and mounts; ``UNMATCHED`` when no
    route matched.
    """
    if scope.get("route") is None:
        return UNMATCHED
    path = str(scope.get("path", ""))
    params = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    for value, name in params.items():
        if "/" in value and path.endswith(value):  # a {name:path} parameter
            path = path[: -len(value)] + f"{{{name}}}"
    return "/".join(f"{{{params[part]}}}" if part in params else part for part in path.split("/"))


def install(app: FastAPI) -> None:
    """Measure every request of ``app``; ``/api/metrics`` reads ``app.state.http_metrics``."""
    app.state.http_metrics = metrics = HttpMetrics()
    app.add_middleware(RequestMetrics, metrics=metrics)


def exposition(usage: Usage, http: HttpMetrics | None) -> str:
    """The archive's figures and the HTTP metrics in the Prometheus text format."""
    lines = [
        "# HELP vesalius_objects Objects stored, by level.",
        "# TYPE vesalius_objects gauge",
    ]
    for level in ("patients", "studies", "series", "instances"):
        lines.append(f"vesalius_objects{_labels(level=level)} {getattr(usage, level)}")
    lines += _gauge("vesalius_storage_bytes", "Bytes of stored files.", usage.stored_bytes)
    lines += _gauge(
        "vesalius_disk_free_bytes", "Free bytes on the data folder's disk.", usage.disk_free_bytes
    )
    lines += _gauge(
        "vesalius_disk_total_bytes", "Size of the data folder's disk.", usage.disk_total_bytes
    )
    if http is not None:
        lines += http.lines()
    return "\n".join(lines) + "\n"


def _gauge(name: str, help_text: str, value: float) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {_number(value)}"]


def _labels(**labels: Any) -> str:
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | int) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)
