"""N-* requests reach the handler of the SOP class they name, or get 0118."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from vesalius.dimse.dispatch import NO_SUCH_SOP_CLASS, NRoutes


def event(**request: str) -> Any:
    return SimpleNamespace(request=SimpleNamespace(**request))


def test_routes_by_affected_or_requested_sop_class() -> None:
    seen: list[tuple[str, object]] = []
    routes = NRoutes("N-SET")
    routes.route("1.2.3", lambda e, tag: seen.append((tag, e)) or (0, None), "first")
    routes.route("4.5.6", lambda e: seen.append(("second", e)) or (0x0106, None))
    by_affected = event(AffectedSOPClassUID="1.2.3")
    by_requested = event(AffectedSOPClassUID=None, RequestedSOPClassUID="4.5.6")
    assert routes(by_affected) == (0, None)
    assert routes(by_requested) == (0x0106, None)
    assert seen == [("first", by_affected), ("second", by_requested)]


def test_unknown_sop_class_is_0118() -> None:
    assert NRoutes("N-CREATE")(event(AffectedSOPClassUID="9.9")) == (NO_SUCH_SOP_CLASS, None)
