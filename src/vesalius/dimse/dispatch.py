"""One handler per N-* event, routed by SOP class (PS3.7 10).

pynetdicom binds one handler per event type, but N-CREATE serves MPPS and
print, N-ACTION storage commitment and print, and so on. ``NRoutes`` is that
one handler: it looks at the SOP class a request names (Affected or Requested
SOP Class UID) and calls the handler registered for it, or answers 0118 (no
such SOP class) when none is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pynetdicom.events import Event

NO_SUCH_SOP_CLASS = 0x0118

Handler = Callable[[Event], Any]


class NRoutes:
    """The handler of one N-* event type, dispatching on the request's SOP class."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: dict[str, Handler] = {}

    def route(self, sop_class_uid: str, handler: Callable[..., Any], *args: Any) -> NRoutes:
        """Send requests naming ``sop_class_uid`` to ``handler(event, *args)``."""
        self.routes[sop_class_uid] = partial(_with_args, handler, args)
        return self

    def __call__(self, event: Event) -> Any:
        request = event.request
        sop_class = str(
            getattr(request, "AffectedSOPClassUID", None)
            or getattr(request, "RequestedSOPClassUID", None)
            or ""
        )
        handler = self.routes.get(sop_class)
        if handler is None:
            return NO_SUCH_SOP_CLASS, None
        return handler(event)


def _with_args(handler: Callable[..., Any], args: tuple[Any, ...], event: Event) -> Any:
    return handler(event, *args)
