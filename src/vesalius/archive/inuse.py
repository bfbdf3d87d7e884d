"""Who uses a data dir: ``vesalius serve`` holds a shared lock, offline tools an exclusive one.

The lock is ``flock`` on ``<data_dir>/.serve.lock``. Every serving process
(and the receiving processes it forks) shares it, so several servers on one
data dir do not exclude each other; ``vesalius reindex`` asks for it
exclusively without waiting and refuses to run while any server holds it.
The lock is seen by processes of one host (and on network file systems whose
``flock`` reaches across hosts); the operator stops servers on other hosts.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".serve.lock"


class DataDirInUse(Exception):
    """A server uses the data dir (message: one line)."""


def _open(data_dir: Path) -> int:
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return os.open(Path(data_dir) / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def serving(data_dir: Path) -> Iterator[None]:
    """Mark the data dir as served for as long as the block runs (a shared lock)."""
    fd = _open(data_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextmanager
def exclusive(data_dir: Path) -> Iterator[None]:
    """Hold the data dir alone; ``DataDirInUse`` at once when a server holds it."""
    fd = _open(data_dir)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataDirInUse(
                f"a vesalius serve uses {data_dir} (it holds {LOCK_NAME}): stop it first"
            ) from None
        yield
    finally:
        os.close(fd)
