"""Counting an export as it goes: instances done, failed and skipped, and stopping on cancel.

The CLI draws a progress bar from these counts and the export job writes them
to its row; both ask ``cancelled`` through ``check()`` between instances.

Errors::

    ArchiveError
    +-- ExportError         422: the export cannot be made as asked (bad option)
    +-- ExportCancelled     the job was cancelled; the partial output is removed
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vesalius.model.errors import ArchiveError

MAX_REASONS = 50
"""Reasons kept for failed and skipped instances (the counts go on)."""


class ExportError(ArchiveError):
    """The export cannot be made as asked."""

    http_status = 422


class ExportCancelled(ArchiveError):
    """The export was cancelled before it ended."""


@dataclass
class Tracker:
    """Counts of one export; ``on_change(tracker)`` hears every change."""

    total: int = 0
    on_change: Callable[[Tracker], None] | None = None
    cancelled: Callable[[], bool] | None = None
    done: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)

    def check(self) -> None:
        """Raise ``ExportCancelled`` when someone cancelled the export."""
        if self.cancelled is not None and self.cancelled():
            raise ExportCancelled("cancelled")

    def begin(self, total: int) -> None:
        """The work is known: ``total`` instances."""
        self.total = total
        self._changed()

    def ok(self) -> None:
        """One more instance exported."""
        self.done += 1
        self._changed()

    def fail(self, label: str, reason: str) -> None:
        """One instance could not be exported, and why."""
        self.failed += 1
        if len(self.failures) < MAX_REASONS:
            self.failures.append(f"{label}: {reason}")
        self._changed()

    def skip(self, label: str, reason: str) -> None:
        """One instance has nothing this format can show (no pixel data): left out."""
        self.skipped += 1
        self.done += 1
        if len(self.skips) < MAX_REASONS:
            self.skips.append(f"{label}: {reason}")
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self)
