"""WADO-URI (PS3.18 chapter 9) at ``/wado``: one object, as a file or as an image.

``requestType=WADO&studyUID=&seriesUID=&objectUID=`` with ``contentType``
``application/dicom`` (``transferSyntax``, ``anonymize=yes``) or an image type
(``image/jpeg`` by default, ``image/png``) with ``frameNumber``,
``windowCenter``/``windowWidth``, ``rows``/``columns`` and ``imageQuality``.
Files go through ``imaging.transcode`` and images through ``imaging.render``,
as for WADO-RS.
"""

from __future__ import annotations

import io
import warnings

from fastapi import APIRouter, Request, Response
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from starlette.datastructures import QueryParams

from vesalius import imaging
from vesalius.imaging.transcode import UNCOMPRESSED_LITTLE_ENDIAN, transcode
from vesalius.model.deidentify import Options, deidentify
from vesalius.model.errors import NotFound
from vesalius.web.deps import ArchiveDep
from vesalius.web.errors import BadRequest, NotAcceptable

router = APIRouter(tags=["WADO-URI"])

DICOM = "application/dicom"
IMAGE_TYPES = ("image/jpeg", "image/png")


@router.get("/wado")
def wado(request: Request, archive: ArchiveDep) -> Response:
    """One stored object: the DICOM file, or a rendered image of one of its frames."""
    params = request.query_params
    if params.get("requestType") != "WADO":
        raise BadRequest("requestType must be WADO")
    uids = [params.get(name, "").strip() for name in ("studyUID", "seriesUID", "objectUID")]
    missing = [
        name
        for name, uid in zip(("studyUID", "seriesUID", "objectUID"), uids, strict=True)
        if not uid
    ]
    if missing:
        raise BadRequest(f"{', '.join(missing)} missing")
    (instance,) = archive.instances_in(*uids)
    part10 = archive.read_instance(instance)
    content_types = [
        c.strip().split(";")[0] for c in params.get("contentType", "").split(",") if c.strip()
    ]
    wanted = next((c for c in content_types if c in (DICOM, *IMAGE_TYPES)), None)
    if content_types and wanted is None:
        raise NotAcceptable(
            f"contentType {params['contentType']!r}: only {DICOM}, {', '.join(IMAGE_TYPES)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(io.BytesIO(part10), force=True)
    if wanted is None:  # PS3.18 9.1.2.2.1: images as JPEG, anything else as DICOM
        wanted = IMAGE_TYPES[0] if imaging.frame_count(dataset) else DICOM
    if wanted == DICOM:
        stored = str(dataset.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian))
        anonymize = params.get("anonymize") == "yes"
        return _file(part10, stored, params.get("transferSyntax", ""), anonymize)
    return _image(dataset, wanted, params)


def _file(part10: bytes, stored: str, syntax: str, anonymize: bool) -> Response:
    wanted = syntax or str(ExplicitVRLittleEndian)
    if wanted != stored and wanted not in UNCOMPRESSED_LITTLE_ENDIAN:
        raise NotAcceptable(f"transferSyntax {wanted}: the object is stored in {stored}")
    body = transcode(part10, wanted) if wanted != stored else part10
    if anonymize:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = deidentify(dcmread(io.BytesIO(body)), Options(retain_uids=True))
            buffer = io.BytesIO()
            dataset.save_as(buffer, enforce_file_format=True)
        body = buffer.getvalue()
    return Response(body, media_type=DICOM)


def _image(dataset: Dataset, media_type: str, params: QueryParams) -> Response:
    get = params.get
    count = imaging.frame_count(dataset)
    if count == 0:
        raise NotAcceptable("the object has no pixel data: ask for contentType=application/dicom")
    frame = _number(get("frameNumber"), "frameNumber", 1)
    if not 1 <= frame <= count:
        raise NotFound(f"frame {frame} asked for, the object has {count}")
    window = None
    if get("windowCenter") or get("windowWidth"):
        if not (get("windowCenter") and get("windowWidth")):
            raise BadRequest("windowCenter and windowWidth go together")
        window = imaging.parse_window(f"{get('windowCenter')},{get('windowWidth')}")
    rows, columns = _number(get("rows"), "rows", 0), _number(get("columns"), "columns", 0)
    viewport = None
    if rows or columns:
        viewport = (columns or int(dataset.Columns), rows or int(dataset.Rows))
    quality = _number(get("imageQuality"), "imageQuality", 90)
    image = imaging.render(
        dataset, frame - 1, media_type=media_type, window=window, viewport=viewport,
        quality=min(max(quality, 1), 100),
    )  # fmt: skip
    return Response(image, media_type=media_type)


def _number(text: str | None, name: str, default: int) -> int:
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not a whole number") from None
    if value < 0:
        raise BadRequest(f"{name} must not be negative")
    return value
