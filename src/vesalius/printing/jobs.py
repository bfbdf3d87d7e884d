"""Print jobs on disk: one folder per job, in ``[print] output_dir`` (else ``data_dir/print``).

::

    print/20261126-091659-4073f2a/
        job.json     the job: id, SOP Instance UID, ExecutionStatus, films, ...
        job.pdf      every film of the job, a page each, at its film size
        film-1.png   a preview of each film

A job is PENDING from the N-ACTION that asks for it, PRINTING while its films
are drawn (and piped to ``[print] command``, once per copy), then DONE or
FAILURE (PS3.3 C.13.8, Execution Status). Files are written under a temporary
name and renamed, so a reader sees a whole file or none. Jobs are printed one
at a time per process, as a printer would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydicom.uid import generate_uid

from vesalius import IMPLEMENTATION_CLASS_UID
from vesalius.printing.compose import Film, render_pdf, render_png
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.printing")

PENDING, PRINTING, DONE, FAILURE = "PENDING", "PRINTING", "DONE", "FAILURE"
COMMAND_TIMEOUT = 120
_JOB_ID = re.compile(r"^\d{8}-\d{6}-\d{3}[0-9a-f]{4}$")
"""Job ids sort by time: date, time, milliseconds, then a random part."""


def print_folder(settings: Settings) -> Path:
    """The folder print jobs go to."""
    configured = settings.print.output_dir
    return Path(configured) if configured else settings.data_dir / "print"


@dataclass
class PrintJob:
    """One print job: what was asked, where it stands, and its files."""

    id: str
    uid: str
    state: str
    info: str
    created: str
    updated: str
    originator: str
    priority: str
    copies: int
    label: str
    color: bool
    films: list[dict[str, Any]] = field(default_factory=list)
    pdf: str | None = None

    @property
    def finished(self) -> bool:
        """True once DONE or FAILURE."""
        return self.state in (DONE, FAILURE)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PrintJobs:
    """The print jobs of one folder, and the one printer that prints them."""

    def __init__(self, folder: Path, *, command: str = "") -> None:
        self.folder = folder
        self.command = command
        self._printing = threading.Lock()

    def status(self) -> tuple[str, str]:
        """(Printer Status, Printer Status Info): FAILURE when jobs cannot be written."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / f".probe-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return "FAILURE", "PRINTER DOWN"
        return "NORMAL", "NORMAL"

    # -- records -----------------------------------------------------------------
    def create(
        self, *, originator: str, session: dict[str, Any], films: list[Film], color: bool
    ) -> PrintJob:
        """A new PENDING job for these films (its folder and job.json written)."""
        clock = time.time()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(clock))
        millis = int(clock * 1000) % 1000
        now = _now()
        job = PrintJob(
            id=f"{stamp}-{millis:03d}{secrets.token_hex(2)}",
            uid=generate_uid(prefix=IMPLEMENTATION_CLASS_UID + "."),
            state=PENDING,
            info="",
            created=now,
            updated=now,
            originator=originator,
            priority=str(session.get("PrintPriority", "MED")),
            copies=int(session.get("NumberOfCopies", 1)),
            label=str(session.get("FilmSessionLabel", "")),
            color=color,
            films=[
                {"number": n, **film.description, "png": f"film-{n}.png"}
                for n, film in enumerate(films, start=1)
            ],
        )
        (self.folder / job.id).mkdir(parents=True)
        self.save(job)
        return job

    def save(self, job: PrintJob) -> None:
        """Write job.json (atomically)."""
        job.updated = _now()
        self._write(job, "job.json", json.dumps(asdict(job), indent=1).encode())

    def _write(self, job: PrintJob, name: str, data: bytes) -> None:
        target = self.folder / job.id / name
        temporary = target.with_name(f".{name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def get(self, job_id: str) -> PrintJob | None:
        """The job with this id, or None."""
        if not _JOB_ID.match(job_id):
            return None
        try:
            record = json.loads((self.folder / job_id / "job.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return PrintJob(**record)

    def by_uid(self, uid: str) -> PrintJob | None:
        """The job whose Print Job SOP Instance UID is ``uid``, or None."""
        for job_id in self._ids():
            job = self.get(job_id)
            if job is not None and job.uid == uid:
                return job
        return None

    def _ids(self) -> list[str]:
        try:
            names = [entry.name for entry in os.scandir(self.folder) if _JOB_ID.match(entry.name)]
        except OSError:
            return []
        return sorted(names, reverse=True)

    def list(self, *, limit: int, offset: int) -> tuple[list[PrintJob], int]:
        """Jobs newest first, and how many there are."""
        ids = self._ids()
        jobs = [job for job in (self.get(i) for i in ids[offset : offset + limit]) if job]
        return jobs, len(ids)

    def file(self, job: PrintJob, name: str) -> Path | None:
        """The path of one of the job's files when it exists (job.pdf, film-N.png)."""
        allowed = {job.pdf, *(film["png"] for film in job.films)} - {None}
        path = self.folder / job.id / name
        return path if name in allowed and path.is_file() else None

    # -- printing ----------------------------------------------------------------
    def run(self, job: PrintJob, films: list[Film], report: Callable[[PrintJob], None]) -> PrintJob:
        """Print a PENDING job: PRINTING, then DONE or FAILURE; ``report`` hears each state."""
        with self._printing:
            self._enter(job, PRINTING, "", report)
            try:
                self._write(job, "job.pdf", render_pdf(films, title=job.label or job.id))
                job.pdf = "job.pdf"
                for number, film in enumerate(films, start=1):
                    self._write(job, f"film-{number}.png", render_png(film))
                self.save(job)
                if self.command:
                    self._pipe(job)
            except Exception as exc:
                LOG.warning("print job %s failed: %s", job.id, exc)
                self._enter(job, FAILURE, str(exc)[:64], report)
                return job
            self._enter(job, DONE, "", report)
            LOG.info("print job %s: %d film(s) printed", job.id, len(films))
            return job

    def _enter(
        self, job: PrintJob, state: str, info: str, report: Callable[[PrintJob], None]
    ) -> None:
        job.state, job.info = state, info
        with contextlib.suppress(OSError):
            self.save(job)
        report(job)

    def _pipe(self, job: PrintJob) -> None:
        """Pipe the PDF to the configured command, once per copy."""
        data = (self.folder / job.id / "job.pdf").read_bytes()
        for _copy in range(max(1, job.copies)):
            done = subprocess.run(
                shlex.split(self.command),
                input=data,
                capture_output=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
                raise RuntimeError(
                    f"print command exited {done.returncode}: {reason[-1] if reason else ''}"
                )
