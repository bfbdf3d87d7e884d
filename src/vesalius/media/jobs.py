"""Export jobs: an export made in the background, with progress, and its file kept to fetch.

``ExportJobs.submit`` records a job of kind ``export`` (its params are the
request) and starts a thread for it; at most ``RUNNING_AT_ONCE`` exports run at
a time, the others wait ``pending``. The job's progress counts instances
(``warning``: those skipped, having no pixel data for a picture or movie);
cancelling it stops the export at its next instance and removes the partial
file. A done job's ``result`` holds ``{"download": URL, "file", "size"}``.

Each export's file lives in ``<data_dir>/exports/<job id>/``: folder formats
(DICOMDIR, pictures, movies) as one ZIP, ``iso`` and ``zip`` as themselves.
Files older than ``KEEP_SECONDS`` are removed when the next export is submitted.
An export left unfinished by a process that ended is failed once its lease runs
out (or when that process's node restarts), like any job that is not resumable.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from vesalius.archive.archive import Archive
from vesalius.archive.jobs import Job
from vesalius.archive.runner import CancelWatch
from vesalius.media.export import FILE_FORMATS, ExportRequest, export
from vesalius.media.tracking import ExportCancelled, Tracker
from vesalius.model.errors import ArchiveError

LOG = logging.getLogger("vesalius.export")

KIND = "export"
RUNNING_AT_ONCE = 1
"""Exports read and encode every file; one at a time leaves the machine to the others."""
KEEP_SECONDS = 24 * 3600
FOLDER = "exports"


def exports_folder(archive: Archive) -> Path:
    """Where export files are kept."""
    return Path(archive.settings.data_dir) / FOLDER


def file_name(request: ExportRequest, job_id: int) -> str:
    """The name of an export's file: ``export-12.iso``, ``export-12-png.zip``..."""
    if request.format in FILE_FORMATS:
        return f"export-{job_id}.{request.format}"
    return f"export-{job_id}-{request.format}.zip"


def export_file(archive: Archive, job_id: int) -> Path | None:
    """The finished file of an export job, or None (not done, removed, or no such job)."""
    folder = exports_folder(archive) / str(job_id)
    if not folder.is_dir():
        return None
    found = [path for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")]
    return found[0] if len(found) == 1 else None


def prune(archive: Archive, keep_seconds: float = KEEP_SECONDS) -> int:
    """Remove export folders older than ``keep_seconds``; how many went."""
    root = exports_folder(archive)
    if not root.is_dir():
        return 0
    limit = time.time() - keep_seconds
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def describe(request: ExportRequest) -> str:
    """A job description: ``png of 2 studies, 1 series``."""
    chosen = request.selection
    parts = [
        f"{count} {one if count == 1 else many}"
        for count, one, many in (
            (len(chosen.patients), "patient", "patients"),
            (len(chosen.studies), "study", "studies"),
            (len(chosen.series), "series", "series"),
        )
        if count
    ]
    return f"{request.format} of {', '.join(parts)}"


class ExportJobs:
    """Runs an archive's export jobs in threads of their own."""

    def __init__(self, archive: Archive, running_at_once: int = RUNNING_AT_ONCE) -> None:
        self.archive = archive
        self._slots = threading.Semaphore(running_at_once)

    def submit(
        self, request: ExportRequest, download_url: Callable[[int], str], owner: str = ""
    ) -> Job:
        """Queue an export (already checked) and start it as soon as a slot is free."""
        prune(self.archive)
        job = self.archive.jobs.create(KIND, describe(request), owner, params=request.params())
        thread = threading.Thread(
            target=self._run,
            args=(job, request, download_url),
            name=f"export-{job.id}",
            daemon=True,
        )
        thread.start()
        return job

    def _run(self, job: Job, request: ExportRequest, download_url: Callable[[int], str]) -> None:
        with self._slots:
            self.run(job, request, download_url)

    def run(self, job: Job, request: ExportRequest, download_url: Callable[[int], str]) -> None:
        """Make one export and finish its job; never raises."""
        watch = CancelWatch(self.archive, job.id)
        if watch.read():
            job.finish("cancelled", error="cancelled")
            return

        def changed(tracker: Tracker) -> None:
            if job.state == "pending":
                job.start(tracker.total)
            else:
                job.progress(done=tracker.done, failed=tracker.failed, warning=tracker.skipped,
                             total=tracker.total)  # fmt: skip

        tracker = Tracker(on_change=changed, cancelled=watch)
        folder = exports_folder(self.archive) / str(job.id)
        target = folder / file_name(request, job.id)
        try:
            result = export(
                self.archive, request, target, tracker, as_zip=True,
                case_insensitive=self.archive.settings.query.case_insensitive_names,
            )  # fmt: skip
        except ExportCancelled:
            shutil.rmtree(folder, ignore_errors=True)
            job.finish("cancelled", error="cancelled")
            return
        except ArchiveError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            job.finish("failed", error=str(exc))
            return
        except Exception as exc:
            LOG.exception("export job %d failed", job.id)
            shutil.rmtree(folder, ignore_errors=True)
            job.finish("failed", error=f"internal error: {exc}")
            return
        outcome = {
            "download": download_url(job.id),
            "file": target.name,
            "size": result.size,
            **result.counts,
            "failures": tracker.failures,
            "skips": tracker.skips,
        }
        job.progress(done=tracker.done, failed=tracker.failed, warning=tracker.skipped,
                     total=tracker.total)  # fmt: skip
        if tracker.failed:
            error = f"{tracker.failed} of {tracker.total} instance(s) failed: " + "; ".join(
                tracker.failures[:3]
            )
            job.finish("failed", error=error, result=outcome)
        else:
            job.finish("done", result=outcome)
