"""``POST /api/studies/{uid}/anonymize``: a de-identified copy of a study, as a new study."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from vesalius.archive.deidentification import anonymize_study
from vesalius.model.deidentify import Options
from vesalius.web.deps import ArchiveDep

router = APIRouter(tags=["database"])


class AnonymizeRequest(BaseModel):
    """Profile options (PS3.15 E.3) and whether to copy objects with burned-in text."""

    retain_longitudinal_temporal: bool = False
    clean_descriptors: bool = False
    include_burned_in: bool = False


@router.post("/studies/{study_uid}/anonymize", status_code=201)
def anonymize_stored_study(
    study_uid: str, archive: ArchiveDep, body: AnonymizeRequest | None = None
) -> dict[str, Any]:
    """Store a de-identified copy of the study (new UIDs) and answer its Study Instance UID,
    the instances made and those skipped."""
    wanted = body or AnonymizeRequest()
    options = Options(
        retain_longitudinal_temporal=wanted.retain_longitudinal_temporal,
        clean_descriptors=wanted.clean_descriptors,
    )
    outcome = anonymize_study(
        archive, study_uid, options, include_burned_in=wanted.include_burned_in
    )
    return {
        "StudyInstanceUID": outcome.studies.get(study_uid, ""),
        "instances": len(outcome.written),
        "skipped": [{"instance": name, "reason": reason} for name, reason in outcome.skipped],
    }
