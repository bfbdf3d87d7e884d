"""The Archive: the one object the front doors talk to.

Ingest follows one path whatever the door: read the header (never the
pixels), check the UIDs, write the blob durably, index it, and only then
report success; if the index refuses, the blob is revoked. Listeners hear of
each stored instance after the fact.
"""

from __future__ import annotations

import errno
import io
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import Dataset

from vesalius import sopclasses
from vesalius.archive.deletion import delete as delete_stored
from vesalius.archive.filemeta import file_meta_bytes
from vesalius.archive.inspection import Header, read_header
from vesalius.archive.jobs import Jobs
from vesalius.archive.listing import Listed, browse
from vesalius.archive.metadata import BulkUri, metadata_bodies
from vesalius.archive.parse import ParsedObject, parse_dataset, parse_file
from vesalius.archive.query import Answer
from vesalius.archive.query import find as find_matches
from vesalius.archive.retrieve import resolve
from vesalius.archive.statistics import Usage, usage
from vesalius.index import listing, statistics
from vesalius.index.deletion import Removed
from vesalius.index.index import Index, StoredInstance
from vesalius.model.errors import (
    ArchiveError,
    NotFound,
    OutOfResources,
    UidMismatch,
    UnsupportedSopClass,
)
from vesalius.model.events import InstanceStored
from vesalius.model.matching import Level, Query
from vesalius.model.origin import LOCAL, Origin
from vesalius.model.record import record_from_values
from vesalius.settings import Settings
from vesalius.storage.base import BlobStore, blob_name_for
from vesalius.storage.filesystem import FilesystemBlobStore

LOG = logging.getLogger("vesalius.archive")
MB = 1024 * 1024
NO_SPACE = {errno.ENOSPC, errno.EDQUOT}

Listener = Callable[[InstanceStored], None]


def _disk_full(error: BaseException) -> bool:
    """True for ENOSPC from the OS and SQLite's 'database or disk is full'."""
    if isinstance(error, OSError):
        return error.errno in NO_SPACE
    return "disk is full" in str(error)


@dataclass(frozen=True, slots=True)
class StoreResult:
    """The outcome of one ingest: ``stored``, ``duplicate`` or ``replaced``."""

    outcome: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    size: int
    mended: tuple[str, ...] = field(default_factory=tuple)


class Archive:
    """Index plus blob store, with the policies that bind them."""

    def __init__(self, settings: Settings, index: Index, blobs: BlobStore) -> None:
        self.settings = settings
        self.index = index
        self.blobs = blobs
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()
        self.jobs = Jobs(index, lease_s=settings.jobs.lease_s)

    @classmethod
    def open(cls, settings: Settings) -> Archive:
        """The archive of ``settings.data_dir`` (SQLite index and files unless configured)."""
        data_dir = Path(settings.data_dir)
        index = Index.open(settings.database.url, data_dir)
        blobs = FilesystemBlobStore(data_dir / "storage")
        return cls(settings, index, blobs)

    def close(self) -> None:
        """Stop renewing job leases and release the index connections."""
        self.jobs.close()
        self.index.close()

    def recover(self) -> tuple[int, int]:
        """Settle writes that a crashed process left half done; (kept, removed) blobs."""
        kept, removed = self.blobs.recover(self.index.referenced_blobs)
        if kept or removed:
            LOG.warning("recovery: kept %d journaled blobs, removed %d orphans", kept, removed)
        return kept, removed

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` after every instance stored (not after duplicates)."""
        with self._listeners_lock:
            self._listeners.append(listener)

    # -- ingest ------------------------------------------------------------
    def store_dataset(
        self,
        body: bytes | memoryview | io.BytesIO,
        transfer_syntax_uid: str,
        origin: Origin,
        *,
        sop_class_uid: str | None = None,
        sop_instance_uid: str | None = None,
    ) -> StoreResult:
        """Ingest a data set as a DIMSE peer sent it (C-STORE).

        ``sop_class_uid`` and ``sop_instance_uid`` are the ones the command
        announced; a data set that says otherwise is refused (``UidMismatch``).
        """
        parsed = parse_dataset(body, transfer_syntax_uid)
        return self._ingest(parsed, origin, sop_class_uid, sop_instance_uid)

    def store_file(self, data: bytes, origin: Origin = LOCAL) -> StoreResult:
        """Ingest a file (Part 10, or a bare data set): import, STOW-RS, uploads."""
        return self._ingest(parse_file(data), origin, None, None)

    def _ingest(
        self,
        parsed: ParsedObject,
        origin: Origin,
        expected_class: str | None,
        expected_instance: str | None,
    ) -> StoreResult:
        record = record_from_values(parsed.values)
        if not sopclasses.is_storage_sop_class(record.sop_class_uid):
            raise UnsupportedSopClass(
                f"SOP class {sopclasses.sop_class_name(record.sop_class_uid)} is not one this "
                "archive stores"
            )
        if expected_class is not None and record.sop_class_uid != expected_class:
            raise UidMismatch(
                f"data set SOP Class UID {record.sop_class_uid} differs from the "
                f"command's {expected_class}"
            )
        if expected_instance is not None and record.sop_instance_uid != expected_instance:
            raise UidMismatch(
                f"data set SOP Instance UID {record.sop_instance_uid} differs from the "
                f"command's {expected_instance}"
            )
        meta = file_meta_bytes(
            record.sop_class_uid,
            record.sop_instance_uid,
            parsed.transfer_syntax_uid,
            origin.calling_aet,
        )
        size = len(meta) + len(parsed.body)
        self._check_free_space(size)
        name = blob_name_for(record.sop_instance_uid)
        try:
            blob = self.blobs.write(name, (meta, parsed.body))
        except OSError as exc:
            if exc.errno in NO_SPACE:
                raise OutOfResources(f"disk full while writing the instance: {exc}") from None
            raise ArchiveError(f"the instance could not be written: {exc}") from None
        overwrite = self.settings.dicom.duplicate_policy == "overwrite"
        previous = self.index.instance(record.sop_instance_uid) if overwrite else None
        if previous is not None:
            # Journal the copy about to be replaced, so that a crash between the index
            # switching over and its deletion leaves it for recover() to remove.
            self.blobs.retire(previous.blob_name)
        try:
            added = self.index.add_instance(
                record,
                blob_name=blob.name,
                file_size=blob.size,
                transfer_syntax_uid=parsed.transfer_syntax_uid,
                source_aet=origin.calling_aet,
                overwrite=overwrite,
            )
        except BaseException as exc:
            self.blobs.revoke(blob.name)
            if previous is not None:
                self.blobs.commit([previous.blob_name])  # still referenced: un-retire
            if _disk_full(exc):
                raise OutOfResources(f"disk full while indexing the instance: {exc}") from None
            if isinstance(exc, Exception):
                raise ArchiveError(f"the instance could not be indexed: {exc}") from exc
            raise
        if added.outcome == "duplicate":
            self.blobs.revoke(blob.name)
        else:
            self.blobs.commit([blob.name])
            if added.old_blob:
                self.blobs.delete(added.old_blob)
        if previous is not None and previous.blob_name != added.old_blob:
            self.blobs.commit([previous.blob_name])
        result = StoreResult(
            added.outcome,
            record.sop_class_uid,
            record.sop_instance_uid,
            parsed.transfer_syntax_uid,
            blob.size,
            tuple(parsed.mended),
        )
        if added.outcome != "duplicate":
            self._announce(
                InstanceStored(
                    record.sop_class_uid,
                    record.sop_instance_uid,
                    str(record.study["StudyInstanceUID"]),
                    str(record.series["SeriesInstanceUID"]),
                    parsed.transfer_syntax_uid,
                    blob.size,
                    added.outcome,
                    origin,
                )
            )
        return result

    def _check_free_space(self, size: int) -> None:
        floor = self.settings.dicom.free_space_floor_mb * MB
        free = self.blobs.free_bytes()
        if free - size < floor:
            raise OutOfResources(
                f"free disk space {free // MB} MB is below the floor of "
                f"{self.settings.dicom.free_space_floor_mb} MB"
            )

    def _announce(self, event: InstanceStored) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                LOG.exception("listener %r failed on %s", listener, event.sop_instance_uid)

    # -- retrieve ----------------------------------------------------------
    def instances(
        self,
        *,
        study_uids: list[str] | tuple[str, ...] = (),
        series_uids: list[str] | tuple[str, ...] = (),
        sop_instance_uids: list[str] | tuple[str, ...] = (),
    ) -> list[StoredInstance]:
        """The stored instances of these studies, series and instances."""
        return self.index.instances_of(
            study_uids=study_uids, series_uids=series_uids, sop_instance_uids=sop_instance_uids
        )

    def instances_in(
        self, study_uid: str, series_uid: str | None = None, sop_instance_uid: str | None = None
    ) -> list[StoredInstance]:
        """The stored instances of a study, or of a series of it, or one instance of that
        series: each UID must lie inside the one before. ``NotFound`` when none is."""
        found = self.index.instances_matching(
            study_uids=[study_uid],
            series_uids=[series_uid] if series_uid else (),
            sop_instance_uids=[sop_instance_uid] if sop_instance_uid else (),
        )
        if not found:
            names = [f"study {study_uid}"]
            if series_uid:
                names.append(f"series {series_uid}")
            if sop_instance_uid:
                names.append(f"instance {sop_instance_uid}")
            raise NotFound(f"no {' of '.join(reversed(names))} stored")
        return found

    def metadata(self, instances: list[StoredInstance], bulk_uri: BulkUri) -> list[str]:
        """The DICOM JSON of each instance as text (bulk values by ``bulk_uri``), kept
        in the index once made so that later requests do not read the files."""
        return metadata_bodies(self.index, self.blobs, instances, bulk_uri)

    def open_stored(self, instance: StoredInstance) -> BinaryIO:
        """The stored Part 10 file of an instance already looked up in the index."""
        return self.blobs.open(instance.blob_name)

    def open_instance(self, sop_instance_uid: str) -> BinaryIO:
        """The stored Part 10 file of an instance; ``NotFound`` when there is none."""
        found = self.index.instance(sop_instance_uid)
        if found is None:
            raise NotFound(f"no instance {sop_instance_uid}")
        return self.blobs.open(found.blob_name)

    def read_instance(self, instance: StoredInstance) -> bytes:
        """The stored Part 10 bytes of an indexed instance."""
        return self.blobs.read(instance.blob_name)

    def resolve_retrieve(self, identifier: Dataset, sop_class_uid: str) -> list[StoredInstance]:
        """The instances a C-MOVE / C-GET identifier names, by unique keys.

        ``IdentifierMismatch`` (A900) or ``InvalidObject`` (C000) when the
        identifier does not fit the SOP class's information model.
        """
        return resolve(self.index, identifier, sop_class_uid)

    def instance_path(self, instance: StoredInstance) -> Path | None:
        """The file behind an instance, when the blob store keeps files (else None)."""
        path_of = getattr(self.blobs, "path", None)
        return Path(path_of(instance.blob_name)) if path_of is not None else None

    def find(
        self,
        query: Query,
        *,
        max_results: int | None = None,
        offset: int = 0,
        ordered: bool = False,
    ) -> Iterator[Answer]:
        """Stream the answers of a C-FIND / QIDO-RS query, from the index only.

        At most ``max_results`` matches (default: ``[query] max_results``; 0: no
        limit), after skipping ``offset`` of them; ``ordered`` answers in the
        order the matches were first stored, so that pages follow each other.
        """
        limit = self.settings.query.max_results if max_results is None else max_results
        return find_matches(
            self.index,
            query,
            retrieve_ae_title=self.settings.dicom.ae_title,
            max_results=limit,
            offset=offset,
            ordered=ordered,
        )

    # -- browse, delete, inspect: the management API -----------------------
    def browse(
        self,
        query: Query,
        *,
        sort: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
        row_key: int | None = None,
    ) -> list[Listed]:
        """A page of the matches of ``query`` sorted by ``sort`` (``-StudyDate``...), each
        with its index key; ``row_key`` narrows to one row of the level (a patient's id)."""
        return browse(
            self.index,
            query,
            retrieve_ae_title=self.settings.dicom.ae_title,
            sort=sort,
            limit=limit,
            offset=offset,
            row_key=row_key,
        )

    def count(self, query: Query, *, row_key: int | None = None) -> int:
        """How many matches ``query`` has in all (the total beside a page)."""
        return listing.count(self.index.reader, query, row_key=row_key)

    def lineage(self, level: Level, uid: str) -> dict[str, str]:
        """The unique keys of a stored study, series or instance and of its parents
        (PatientID, StudyInstanceUID, ...); ``NotFound`` when it is not stored."""
        return listing.lineage(self.index.reader, level, uid)

    def delete(self, level: Level, uid: str) -> Removed:
        """Delete a study, series or instance (``STUDY``, ``SERIES``, ``IMAGE``) by UID,
        with the series, study and patient it leaves empty: rows first, then files."""
        return delete_stored(self.index, self.blobs, level, uid)

    def delete_patient(self, patient_key: int) -> Removed:
        """Delete a patient by its index key (the ``id`` of listings) and all it holds."""
        return delete_stored(self.index, self.blobs, "PATIENT", patient_key)

    def read_header(self, sop_instance_uid: str) -> Header:
        """A stored instance's data set up to its pixel data (for display)."""
        with self.open_instance(sop_instance_uid) as handle:
            return read_header(handle)

    def usage(self) -> Usage:
        """Objects per level, bytes stored, and the disk of the data folder."""
        return usage(self.index, Path(self.settings.data_dir))

    def check_health(self) -> None:
        """Raise unless the index answers a read."""
        statistics.ping(self.index.reader)

    def count_jobs(self, *, kind: str | None = None, state: str | None = None) -> int:
        """How many jobs there are, optionally of one kind and state."""
        return self.jobs.table.count(kind=kind, state=state)

    def cancel_job(self, job_id: int) -> bool:
        """Cancel a pending or running job; False when it had already ended.
        ``NotFound`` when there is no such job."""
        if self.jobs.get(job_id) is None:
            raise NotFound(f"no job {job_id}")
        return self.jobs.table.cancel(job_id)
