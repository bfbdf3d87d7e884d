"""QIDO-RS (PS3.18 10.6): search studies, series and instances.

The query parameters become a C-FIND identifier, parsed by the same
``parse_identifier`` as C-FIND (relational: a series or instance search needs
no study UID), and answered by the same ``Archive.find``. Answers are DICOM
JSON (default) or DICOM XML, each with its RetrieveURL.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset

from vesalius.model.dicomjson import add_text, elements_to_json
from vesalius.model.matching import (
    ALWAYS_RETURNED,
    KEY_LEVELS,
    LEVELS,
    Level,
    dataset_from_keys,
    parse_identifier,
)
from vesalius.web.deps import ArchiveDep, SettingsDep, public_base
from vesalius.web.dicomweb import dicomxml
from vesalius.web.dicomweb.negotiation import DICOM_JSON, DICOM_XML, choose
from vesalius.web.errors import BadRequest

router = APIRouter(tags=["QIDO-RS"])

RETRIEVE_URL = 0x00081190
MAX_LIMIT = 10_000
RESERVED = frozenset(("includefield", "fuzzymatching", "limit", "offset", "accept", "charset"))

STUDY_DEFAULTS = (
    "StudyDate", "StudyTime", "AccessionNumber", "InstanceAvailability",
    "ReferringPhysicianName", "TimezoneOffsetFromUTC", "PatientName", "PatientID",
    "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID", "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
)  # fmt: skip
"""PS3.18 Table 10.6.3-3."""
SERIES_DEFAULTS = (
    "Modality", "TimezoneOffsetFromUTC", "SeriesDescription", "SeriesInstanceUID",
    "SeriesNumber", "NumberOfSeriesRelatedInstances", "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
)  # fmt: skip
"""PS3.18 Table 10.6.3-4."""
INSTANCE_DEFAULTS = (
    "SOPClassUID", "SOPInstanceUID", "InstanceAvailability", "TimezoneOffsetFromUTC",
    "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames",
)  # fmt: skip
"""PS3.18 Table 10.6.3-5."""
DEFAULTS: dict[str, tuple[str, ...]] = {
    "STUDY": STUDY_DEFAULTS,
    "SERIES": SERIES_DEFAULTS,
    "IMAGE": INSTANCE_DEFAULTS,
}


@router.get("/studies")
def search_studies(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Studies matching the query parameters."""
    return _search(request, archive, settings, "STUDY", {})


@router.get("/series")
def search_series(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Series of any study matching the query parameters."""
    return _search(request, archive, settings, "SERIES", {})


@router.get("/instances")
def search_instances(request: Request, archive: ArchiveDep, settings: SettingsDep) -> Response:
    """Instances of any series matching the query parameters."""
    return _search(request, archive, settings, "IMAGE", {})


@router.get("/studies/{study}/series")
def search_study_series(
    study: str, request: Request, archive: ArchiveDep, settings: SettingsDep
) -> Response:
    """Series of one study matching the query parameters."""
    return _search(request, archive, settings, "SERIES", {"StudyInstanceUID": study})


@router.get("/studies/{study}/instances")
def search_study_instances(
    study: str, request: Request, archive: ArchiveDep, settings: SettingsDep
) -> Response:
    """Instances of one study matching the query parameters."""
    return _search(request, archive, settings, "IMAGE", {"StudyInstanceUID": study})


@router.get("/studies/{study}/series/{series}/instances")
def search_series_instances(
    study: str, series: str, request: Request, archive: ArchiveDep, settings: SettingsDep
) -> Response:
    """Instances of one series matching the query parameters."""
    fixed = {"StudyInstanceUID": study, "SeriesInstanceUID": series}
    return _search(request, archive, settings, "IMAGE", fixed)


def _search(
    request: Request, archive: Any, settings: Any, level: Level, fixed: dict[str, str]
) -> Response:
    media_type = choose(request, (DICOM_JSON, "application/json", DICOM_XML))
    params = request.query_params
    limit = _count(params.get("limit"), "limit", default=0, maximum=MAX_LIMIT)
    offset = _count(params.get("offset"), "offset", default=0, maximum=None)
    keys = _matching_keys(params.multi_items())
    keys.update(fixed)
    included = _included(params.getlist("includefield"), level, keys)
    for keyword in included:
        keys.setdefault(keyword, "")
    identifier = _identifier(level, keys)
    query = parse_identifier(
        identifier,
        "study",
        case_insensitive_names=settings.query.case_insensitive_names,
        relational=True,
    )
    cap = settings.query.max_results
    wanted = min(limit, cap) if limit and cap else (limit or cap)
    base = public_base(request) + "/dicomweb"
    answers = [
        _with_retrieve_url(answer, level, base)
        for answer in archive.find(query, max_results=wanted, offset=offset, ordered=True)
    ]
    headers = {}
    if params.get("fuzzymatching", "").lower() == "true":
        headers["Warning"] = '299 Vesalius: "fuzzymatching is not supported"'
    if media_type == DICOM_XML:
        return dicomxml.multipart_response(answers, headers)
    return JSONResponse(answers, media_type=media_type, headers=headers)


def _count(text: str | None, name: str, *, default: int, maximum: int | None) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {text!r}") from None
    if value < 0 or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        raise BadRequest(f"{name} must be at least 0{bound}, not {value}")
    return value


def attribute_keyword(name: str) -> str:
    """The keyword of a QIDO attribute given by keyword or by tag (``00100020``)."""
    if len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
        keyword = keyword_for_tag(int(name, 16))
        if keyword:
            return str(keyword)
        raise BadRequest(f"unknown attribute tag {name}")
    if tag_for_keyword(name) is None:
        raise BadRequest(f"unknown attribute {name!r}")
    return name


def _matching_keys(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for name, value in items:
        if name in RESERVED:
            continue
        path = [attribute_keyword(part) for part in name.split(".")]
        joined = ".".join(path)
        if joined in keys and keys[joined] != value:
            raise BadRequest(f"{joined} is given twice")
        keys[joined] = value
    return keys


def _included(fields: list[str], level: Level, keys: dict[str, str]) -> list[str]:
    depth = LEVELS.index(level)
    if any(part.strip() == "all" for text in fields for part in text.split(",")):
        return [k for k, held_at in KEY_LEVELS.items() if LEVELS.index(held_at) <= depth]
    wanted = list(DEFAULTS[level])
    if level != "STUDY" and "StudyInstanceUID" not in keys:
        wanted += STUDY_DEFAULTS
    if level == "IMAGE" and "SeriesInstanceUID" not in keys:
        wanted += SERIES_DEFAULTS
    for text in fields:
        wanted += [attribute_keyword(part.strip()) for part in text.split(",") if part.strip()]
    return [k for k in dict.fromkeys(wanted) if k not in ALWAYS_RETURNED]


def _identifier(level: Level, keys: dict[str, str]) -> Dataset:
    plain = {k: v for k, v in keys.items() if "." not in k}
    try:
        identifier = dataset_from_keys(level, plain)
    except (ValueError, TypeError, OverflowError) as error:
        raise BadRequest(f"a query value cannot be used: {error}") from None
    for path, value in keys.items():
        if "." in path:
            sequence, _, attribute = path.partition(".")
            if "." in attribute or dictionary_VR(sequence) != "SQ":
                raise BadRequest(f"{path}: only one item attribute of a sequence can be matched")
            item = Dataset()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                setattr(item, attribute, value or None)
            setattr(identifier, sequence, [item])
    return identifier


def _with_retrieve_url(answer: Any, level: Level, base: str) -> dict[str, Any]:
    body = elements_to_json(answer.elements)
    body.pop("00080052", None)  # Query/Retrieve Level is a C-FIND notion
    uids = [
        _uid(body, "0020000D"),
        _uid(body, "0020000E") if level != "STUDY" else "",
        _uid(body, "00080018") if level == "IMAGE" else "",
    ]
    url = f"{base}/studies/{uids[0]}"
    if uids[1]:
        url += f"/series/{uids[1]}"
    if uids[2]:
        url += f"/instances/{uids[2]}"
    add_text(body, RETRIEVE_URL, "UR", url)
    return dict(sorted(body.items()))


def _uid(body: dict[str, Any], key: str) -> str:
    values = body.get(key, {}).get("Value") or [""]
    return str(values[0])
