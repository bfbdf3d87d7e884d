"""What the reporting tests share: a stored MR study, and the Debian checkers of SR files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from conftest import corpus_file, require_tool
from vesalius.archive.archive import Archive

MR_STUDY = "1.113654.3.13.1026"
MR_SERIES = "1.113654.5.14.1035"
MR_FILES = tuple(f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 5))
MR_PATIENT = ("583295", "DOE^J1")
CT_SMALL = "pydicom/test_files/CT_small.dcm"


def mr_paths() -> list[Path]:
    """Four images of the MR study (skips when the corpus is missing)."""
    return [corpus_file(name) for name in MR_FILES]


def store_mr_study(archive: Archive) -> list[str]:
    """Store four MR images of one study; their SOP Instance UIDs in file order."""
    uids = []
    for path in mr_paths():
        result = archive.store_file(path.read_bytes())
        uids.append(result.sop_instance_uid)
    return uids


@dataclass(frozen=True)
class Verdict:
    """What dciodvfy said of a file: its error and warning lines."""

    errors: list[str]
    warnings: list[str]
    output: str


def dciodvfy(path: Path) -> Verdict:
    """Run dicom3tools' IOD verifier; print its warnings so that they show in the test log."""
    tool = require_tool("dciodvfy")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    lines = output.splitlines()
    errors = [line for line in lines if line.startswith("Error")]
    warnings = [line for line in lines if line.startswith("Warning")]
    print(f"dciodvfy {path.name}: {len(errors)} errors, {len(warnings)} warnings")
    for line in warnings:
        print("  " + line)
    return Verdict(errors, warnings, output)


def dcmtk_sr(tool: str, path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """dsrdump or dsr2xml on a file."""
    command = [require_tool(tool), *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def content_items(dataset: object) -> list[object]:
    """Every content item of an SR data set, depth first."""
    found = []
    for item in getattr(dataset, "ContentSequence", []) or []:
        found.append(item)
        found.extend(content_items(item))
    return found


def referenced_uids(dataset: object) -> list[str]:
    """The SOP Instance UIDs the IMAGE / COMPOSITE items of a document point at."""
    return [
        str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        for item in content_items(dataset)
        if getattr(item, "ValueType", "") in ("IMAGE", "COMPOSITE")
    ]


def evidence_uids(dataset: object) -> list[str]:
    """The SOP Instance UIDs of the Current Requested Procedure Evidence Sequence."""
    return [
        str(instance.ReferencedSOPInstanceUID)
        for study in getattr(dataset, "CurrentRequestedProcedureEvidenceSequence", [])
        for series in study.ReferencedSeriesSequence
        for instance in series.ReferencedSOPSequence
    ]
