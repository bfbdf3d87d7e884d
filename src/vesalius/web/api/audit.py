"""The audit trail, newest first (``/api/audit``, admins only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query

from vesalius.audit.trail import log_path, read_log
from vesalius.web.deps import SettingsDep
from vesalius.web.errors import HttpError

router = APIRouter(tags=["audit"])


class BadSince(HttpError):
    """A ``since`` that is not an ISO 8601 date and time (400)."""

    status = 400


@router.get("/audit")
def read_audit(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    event: Annotated[
        str | None, Query(description="query, instances-transferred, ... or an EventID code")
    ] = None,
    since: Annotated[str | None, Query(description="ISO 8601; UTC when no offset")] = None,
) -> list[dict[str, Any]]:
    """Audit messages (PS3.15 A.5), newest first: a summary of each and its XML."""
    after = None
    if since:
        try:
            after = dt.datetime.fromisoformat(since)
        except ValueError:
            raise BadSince(f"since {since!r} is not an ISO 8601 date and time") from None
        if after.tzinfo is None:
            after = after.replace(tzinfo=dt.UTC)
    entries = read_log(log_path(settings), limit=limit, offset=offset, event=event, since=after)
    return [entry.as_json() for entry in entries]
