"""Check that index and blob store agree, and repair what does not (``vesalius check``).

Findings, each about one instance or file:

- ``missing``: an index row whose file is gone (repair: drop the row);
- ``unreadable``: a file that does not parse as DICOM (repair: drop the row;
  the file is kept aside under ``data_dir/damaged`` for a person to look at);
- ``mismatch``: a row whose UIDs or Patient ID differ from its file's (repair:
  index the files of its whole study again, as they say: the disagreement may
  sit in the study's or patient's row, shared by the study's instances);
- ``orphan``: a file no row points at, older than ``ORPHAN_AGE_S`` so that a
  store in flight is not taken for one (repair: index it; the file is the
  truth).

Reading takes no lock, so ingest goes on while it runs; each repair is one
ordinary archive operation.
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread

from vesalius.archive.archive import Archive
from vesalius.index.inventory import IndexedInstance, indexed_instances
from vesalius.model.errors import ArchiveError

LOG = logging.getLogger("vesalius.check")
ORPHAN_AGE_S = 60.0
COMPARED = (
    ("SOPClassUID", "sop_class_uid"),
    ("SeriesInstanceUID", "series_instance_uid"),
    ("StudyInstanceUID", "study_instance_uid"),
    ("PatientID", "patient_id"),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the check found, and what was done about it."""

    kind: str
    blob_name: str
    sop_instance_uid: str
    detail: str
    repaired: bool = False


@dataclass(slots=True)
class CheckReport:
    """What a check looked at and found."""

    instances: int = 0
    files: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def unrepaired(self) -> list[Finding]:
        """Findings still standing."""
        return [f for f in self.findings if not f.repaired]


def check_archive(
    archive: Archive, *, repair: bool = False, now: float | None = None
) -> CheckReport:
    """Compare every row with its file and every file with the index; repair if asked."""
    report = CheckReport()
    referenced: set[str] = set()
    present = set(archive.blobs.names())
    report.files = len(present)
    mismatched: dict[str, list[Finding]] = {}
    for row in indexed_instances(archive.index):
        report.instances += 1
        referenced.add(row.blob_name)
        finding = _check_row(archive, row, row.blob_name in present)
        if finding is None:
            continue
        if repair and finding.kind == "mismatch":
            mismatched.setdefault(row.study_instance_uid, []).append(finding)
        else:
            report.findings.append(_repaired(archive, finding, row) if repair else finding)
    for study, findings in mismatched.items():
        report.findings += _reindex_study(archive, study, findings)
    cutoff = (time.time() if now is None else now) - ORPHAN_AGE_S
    for name in sorted(present - referenced):
        if _modified(archive, name) > cutoff:
            continue  # perhaps a store in flight
        finding = Finding("orphan", name, "", "a file no index row points at")
        report.findings.append(_adopt(archive, finding) if repair else finding)
    return report


def _check_row(archive: Archive, row: IndexedInstance, present: bool) -> Finding | None:
    if not present:
        return Finding("missing", row.blob_name, row.sop_instance_uid, "the file is gone")
    try:
        data = archive.blobs.read(row.blob_name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = dcmread(io.BytesIO(data), stop_before_pixels=True)
        if str(header.SOPInstanceUID) != row.sop_instance_uid:
            raise ValueError(f"the file holds {header.SOPInstanceUID}")
    except Exception as exc:
        return Finding("unreadable", row.blob_name, row.sop_instance_uid, _one_line(exc))
    differences = []
    for keyword, column in COMPARED:
        in_file, indexed = str(header.get(keyword, "") or ""), getattr(row, column)
        if in_file != indexed:
            differences.append(f"{keyword} {in_file!r} in the file, {indexed!r} indexed")
    if differences:
        return Finding("mismatch", row.blob_name, row.sop_instance_uid, "; ".join(differences))
    return None


def _reindex_study(archive: Archive, study: str, findings: list[Finding]) -> list[Finding]:
    """Index a study's files again: copied aside, the study deleted, the copies stored."""
    aside = Path(tempfile.mkdtemp(prefix="reindex-", dir=archive.settings.data_dir))
    try:
        copies = []
        for number, instance in enumerate(archive.instances_in(study)):
            copy = aside / f"{number:06d}.dcm"
            with archive.open_stored(instance) as stored, copy.open("wb") as target:
                shutil.copyfileobj(stored, target)
            copies.append(copy)
        archive.delete("STUDY", study)
        for copy in copies:
            archive.store_file(copy.read_bytes())
    except (ArchiveError, OSError) as exc:
        LOG.warning("check: could not index study %s again: %s", study, exc)
        return findings
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    LOG.warning("check: indexed study %s again from its %d file(s)", study, len(copies))
    return [Finding(f.kind, f.blob_name, f.sop_instance_uid, f.detail, True) for f in findings]


def _repaired(archive: Archive, finding: Finding, row: IndexedInstance) -> Finding:
    try:
        if finding.kind == "unreadable":
            _keep_aside(archive, row.blob_name)
            archive.delete("IMAGE", row.sop_instance_uid)
        else:
            archive.delete("IMAGE", row.sop_instance_uid)
    except (ArchiveError, OSError) as exc:
        LOG.warning("check: could not repair %s: %s", row.sop_instance_uid, exc)
        return finding
    LOG.warning("check: repaired %s %s (%s)", finding.kind, row.sop_instance_uid, finding.detail)
    return Finding(finding.kind, finding.blob_name, finding.sop_instance_uid, finding.detail, True)


def _adopt(archive: Archive, finding: Finding) -> Finding:
    try:
        data = archive.blobs.read(finding.blob_name)
        result = archive.store_file(data)
    except (ArchiveError, OSError) as exc:
        detail = f"{finding.detail}; cannot be indexed: {exc}"
        return Finding(finding.kind, finding.blob_name, "", detail)
    # Stored: indexed under a new copy. Duplicate: the instance is indexed from another file.
    archive.blobs.delete(finding.blob_name)
    LOG.warning("check: indexed orphan file %s as %s", finding.blob_name, result.sop_instance_uid)
    return Finding(finding.kind, finding.blob_name, result.sop_instance_uid, finding.detail, True)


def _keep_aside(archive: Archive, blob_name: str) -> None:
    source = getattr(archive.blobs, "path", None)
    if source is None:
        return
    damaged = Path(archive.settings.data_dir) / "damaged"
    damaged.mkdir(exist_ok=True)
    shutil.copy2(source(blob_name), damaged / blob_name.replace("/", "_"))


def _modified(archive: Archive, name: str) -> float:
    path_of = getattr(archive.blobs, "path", None)
    if path_of is None:
        return 0.0
    try:
        return Path(path_of(name)).stat().st_mtime
    except OSError:
        return 0.0


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__
