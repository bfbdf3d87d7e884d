"""The Export message (PS3.15 A.5.3.7) of instances written out of the archive to files."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vesalius.audit import messages
from vesalius.audit.messages import Participant, Study
from vesalius.audit.trail import AuditTrail, with_patients


def record_export(
    settings: Any,
    archive: Any,
    target: Path,
    *,
    studies: Iterable[str] = (),
    series: Iterable[str] = (),
    patients: Iterable[str] = (),
    failed: bool = False,
    user: str = "",
) -> None:
    """Audit an export to ``target`` of the given studies, series and patients,
    by ``user`` (the OS user when empty), in the trail of ``settings``."""
    found = {uid: Study(uid) for uid in studies}
    for uid in series:
        try:
            study = archive.lineage("SERIES", uid).get("StudyInstanceUID", "")
        except Exception:  # not stored: nothing of it was exported
            continue
        found.setdefault(study, Study(study))
    listed = with_patients(archive, list(found.values()))
    known = {s.patient_id for s in listed}
    listed += [Study("", patient_id=p) for p in patients if p not in known]
    if not user:
        try:
            user = getpass.getuser()
        except Exception:
            user = "unknown"
    trail = AuditTrail.open(settings)
    try:
        trail.record(
            messages.export(
                trail.source,
                Participant(user, True),
                Path(target).resolve().as_uri(),
                listed,
                outcome=messages.MINOR_FAILURE if failed else messages.SUCCESS,
            )
        )
    finally:
        trail.close()
