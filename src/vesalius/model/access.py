"""Who may do what over HTTP: roles and the kinds of request they allow.

``viewer`` reads; ``operator`` also writes (import, send, retrieve, print,
worklist, anonymize); ``admin`` also deletes and manages users, configuration
and the audit trail.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "operator", "admin"]
Kind = Literal["read", "write", "delete", "admin"]

ROLES: tuple[str, ...] = get_args(Role)
"""Every role, weakest first."""

ALLOWED: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "delete", "admin"}),
}


def allows(role: str, kind: str) -> bool:
    """True when ``role`` may make a request of ``kind``."""
    return kind in ALLOWED.get(role, frozenset())
