"""De-identified copies: of files into a folder, or of a stored study into a new study.

One run is one ``Deidentifier`` (``model.deidentify``), so UIDs and patient IDs
map the same way across every file of the run. Objects that say their pixels
carry burned-in identifying text are skipped unless asked for. Every run keeps
its mapping (new UID and pseudonym -> original) as JSON under
``data_dir/deidentification/``, for an admin to re-identify, never in the
output folder.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from vesalius.archive.archive import Archive
from vesalius.model.deidentify import Deidentifier, Options, burned_in
from vesalius.model.errors import NotFound
from vesalius.model.origin import LOCAL


@dataclass(slots=True)
class Outcome:
    """What a run made: written (or stored) SOP Instance UIDs, skipped and failed inputs,
    the new Study Instance UIDs, and where its mapping is kept."""

    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    studies: dict[str, str] = field(default_factory=dict)
    mapping: Path | None = None


def _read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data), force=False)


def _encoded(dataset: Dataset) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _one(
    run: Deidentifier, dataset: Dataset, name: str, outcome: Outcome, include_burned_in: bool
) -> Dataset | None:
    if burned_in(dataset) and not include_burned_in:
        outcome.skipped.append((name, "Burned In Annotation is YES"))
        return None
    original_study = str(dataset.get("StudyInstanceUID", ""))
    result = run(dataset)
    outcome.studies[original_study] = str(result.get("StudyInstanceUID", ""))
    return result


def write_mapping(run: Deidentifier, data_dir: Path) -> Path:
    """Keep the run's mapping (new -> original) for re-identification; its path."""
    folder = Path(data_dir) / "deidentification"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}.json"
    body = {
        "uids": {new: old for old, new in run.uids.items()},
        "patients": {new: old for old, new in run.patients.items()},
        "options": {
            "retain_longitudinal_temporal": run.options.retain_longitudinal_temporal,
            "clean_descriptors": run.options.clean_descriptors,
            "retain_uids": run.options.retain_uids,
        },
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=1)
    return path


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            found.append(path)
    return found


def anonymize_files(
    paths: Iterable[Path],
    out_dir: Path,
    data_dir: Path,
    options: Options | None = None,
    *,
    include_burned_in: bool = False,
) -> Outcome:
    """De-identify DICOM files (folders recursively) into ``out_dir``, one file per
    instance named by its new SOP Instance UID."""
    run = Deidentifier(options or Options())
    outcome = Outcome()
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in _files(paths):
        try:
            dataset = _read(path.read_bytes())
        except (InvalidDicomError, OSError, ValueError) as exc:
            outcome.failed.append((str(path), f"not a DICOM file: {exc}"))
            continue
        result = _one(run, dataset, str(path), outcome, include_burned_in)
        if result is None:
            continue
        uid = str(result.get("SOPInstanceUID", "")) or f"instance{len(outcome.written)}"
        (out_dir / f"{uid}.dcm").write_bytes(_encoded(result))
        outcome.written.append(uid)
    outcome.mapping = write_mapping(run, data_dir)
    return outcome


def anonymize_study(
    archive: Archive,
    study_uid: str,
    options: Options | None = None,
    *,
    include_burned_in: bool = False,
    out_dir: Path | None = None,
) -> Outcome:
    """De-identify a stored study: into ``out_dir`` as files, or (None) into the
    archive as a new study."""
    stored = archive.instances(study_uids=[study_uid])
    if not stored:
        raise NotFound(f"no study {study_uid} stored")
    run = Deidentifier(options or Options())
    outcome = Outcome()
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for instance in stored:
        dataset = _read(archive.read_instance(instance))
        result = _one(run, dataset, instance.sop_instance_uid, outcome, include_burned_in)
        if result is None:
            continue
        body = _encoded(result)
        if out_dir is not None:
            (out_dir / f"{result.SOPInstanceUID}.dcm").write_bytes(body)
        else:
            archive.store_file(body, LOCAL)
        outcome.written.append(str(result.SOPInstanceUID))
    outcome.mapping = write_mapping(run, archive.settings.data_dir)
    return outcome
