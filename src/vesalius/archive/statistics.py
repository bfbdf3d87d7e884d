"""What the archive holds and how much room is left: for the system page and metrics."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from vesalius.index import statistics
from vesalius.index.index import Index


@dataclass(frozen=True, slots=True)
class Usage:
    """Objects per level, bytes of stored files, and the data folder's disk."""

    patients: int
    studies: int
    series: int
    instances: int
    stored_bytes: int
    disk_total_bytes: int
    disk_used_bytes: int
    disk_free_bytes: int


def usage(index: Index, data_dir: Path) -> Usage:
    """Count the index and measure the disk that holds ``data_dir``."""
    counts = index.counts()
    disk = shutil.disk_usage(data_dir)
    return Usage(
        counts["patients"],
        counts["studies"],
        counts["series"],
        counts["instances"],
        statistics.stored_bytes(index.reader),
        disk.total,
        disk.used,
        disk.free,
    )
