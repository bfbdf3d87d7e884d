"""WADO-RS (PS3.18 10.4): instances, metadata, frames, bulk data, rendered images.

Instances leave as multipart/related application/dicom, each file streamed
from the blob store as stored when the client accepts its transfer syntax
(``transfer-syntax=*``, or the stored one), else rewritten uncompressed
(``imaging.transcode``); a syntax we cannot write is 406. Metadata comes from
``Archive.metadata`` (cached DICOM JSON, bulk data as BulkDataURI). Frames,
rendered images and thumbnails go through ``imaging``, as everything that
shows pixels does.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian

from vesalius import imaging
from vesalius.archive.archive import Archive
from vesalius.imaging.transcode import can_transcode, transcode
from vesalius.index.index import StoredInstance
from vesalius.model.errors import NotFound
from vesalius.web.deps import ArchiveDep, public_base
from vesalius.web.dicomweb import multipart
from vesalius.web.dicomweb.negotiation import (
    DICOM,
    DICOM_JSON,
    OCTET_STREAM,
    accepted,
    choose,
    choose_range,
)
from vesalius.web.errors import BadRequest, NotAcceptable

router = APIRouter(tags=["WADO-RS"])

DEFAULT_SYNTAX = ExplicitVRLittleEndian
"""What ``application/dicom`` without a transfer-syntax parameter means (PS3.18 8.7.3.5.2)."""
IMAGE_TYPES = ("image/jpeg", "image/png")
FRAME_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}
"""The media type of a compressed frame, by the transfer syntax it is stored in (8.7.3.3.2)."""


# -- instances ---------------------------------------------------------------


@router.get("/studies/{study}")
def retrieve_study(study: str, request: Request, archive: ArchiveDep) -> Response:
    """Every instance of a study, as multipart/related application/dicom."""
    return _instances_response(request, archive, archive.instances_in(study))


@router.get("/studies/{study}/series/{series}")
def retrieve_series(study: str, series: str, request: Request, archive: ArchiveDep) -> Response:
    """Every instance of a series."""
    return _instances_response(request, archive, archive.instances_in(study, series))


@router.get("/studies/{study}/series/{series}/instances/{instance}")
def retrieve_instance(
    study: str, series: str, instance: str, request: Request, archive: ArchiveDep
) -> Response:
    """One instance."""
    found = archive.instances_in(study, series, instance)
    return _instances_response(request, archive, found)


def _wanted_syntax(request: Request) -> str:
    """The transfer syntax asked for: a UID, or ``*`` for as stored."""
    media_type, media_range = choose_range(request, (DICOM,))
    del media_type
    return media_range.parameters.get("transfer-syntax", "") or str(DEFAULT_SYNTAX)


def _instances_response(
    request: Request, archive: Archive, instances: list[StoredInstance]
) -> Response:
    wanted = _wanted_syntax(request)
    for instance in instances:
        if wanted != "*" and not can_transcode(instance.transfer_syntax_uid, wanted):
            raise NotAcceptable(
                f"instance {instance.sop_instance_uid} is stored in "
                f"{UID(instance.transfer_syntax_uid).name} and cannot be given in {wanted}"
            )
    boundary = multipart.new_boundary()
    parts = (_instance_part(archive, instance, wanted) for instance in instances)
    media_type = multipart.content_type(boundary, DICOM)
    if wanted != "*":
        media_type += f"; transfer-syntax={wanted}"
    headers = {}
    if all(wanted in ("*", i.transfer_syntax_uid) for i in instances):
        headers["Content-Length"] = str(_as_stored_length(instances, boundary))
    body = multipart.stream(parts, boundary)
    return StreamingResponse(body, media_type=media_type, headers=headers)


def _as_stored_length(instances: list[StoredInstance], boundary: str) -> int:
    """The length of the body that sends every instance as stored (known from the index)."""
    total = len(multipart.closing(boundary))
    for instance in instances:
        total += len(multipart.part_head(_stored_headers(instance), boundary))
        total += instance.file_size + 2
    return total


def _stored_headers(instance: StoredInstance) -> dict[str, str]:
    return {
        "Content-Type": f"{DICOM}; transfer-syntax={instance.transfer_syntax_uid}",
        "Content-Length": str(instance.file_size),
    }


def _instance_part(archive: Archive, instance: StoredInstance, wanted: str) -> multipart.Part:
    if wanted in ("*", instance.transfer_syntax_uid):
        body: Iterator[bytes] = multipart.file_chunks(archive.open_stored(instance))
        return multipart.Part(_stored_headers(instance), body)
    rewritten = transcode(archive.read_instance(instance), wanted)
    headers = {"Content-Type": f"{DICOM}; transfer-syntax={wanted}"}
    headers["Content-Length"] = str(len(rewritten))
    return multipart.Part(headers, [rewritten])


# -- metadata ----------------------------------------------------------------


@router.get("/studies/{study}/metadata")
def study_metadata(study: str, request: Request, archive: ArchiveDep) -> Response:
    """The metadata of every instance of a study, as a DICOM JSON array."""
    return _metadata_response(request, archive, archive.instances_in(study))


@router.get("/studies/{study}/series/{series}/metadata")
def series_metadata(study: str, series: str, request: Request, archive: ArchiveDep) -> Response:
    """The metadata of every instance of a series."""
    return _metadata_response(request, archive, archive.instances_in(study, series))


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata")
def instance_metadata(
    study: str, series: str, instance: str, request: Request, archive: ArchiveDep
) -> Response:
    """The metadata of one instance."""
    found = archive.instances_in(study, series, instance)
    return _metadata_response(request, archive, found)


def _metadata_response(
    request: Request, archive: Archive, instances: list[StoredInstance]
) -> Response:
    media_type = choose(request, (DICOM_JSON, "application/json"))
    bodies = archive.metadata(instances, _bulk_uri)
    text = "[" + ",".join(bodies) + "]"
    text = text.replace(BASE_PLACEHOLDER, public_base(request) + "/dicomweb")
    return Response(text, media_type=media_type)


BASE_PLACEHOLDER = "urn:vesalius:dicomweb"
"""Where the base URL goes in kept metadata: it is set per request."""


def _bulk_uri(study: str, series: str, instance: str, path: str) -> str:
    return (
        f"{BASE_PLACEHOLDER}/studies/{study}/series/{series}/instances/{instance}/bulkdata/{path}"
    )


# -- bulk data and frames ----------------------------------------------------


def _dataset(archive: Archive, study: str, series: str, instance: str) -> Dataset:
    (found,) = archive.instances_in(study, series, instance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(archive.read_instance(found)), force=True)


@router.get("/studies/{study}/series/{series}/instances/{instance}/bulkdata/{path:path}")
def retrieve_bulkdata(
    study: str, series: str, instance: str, path: str, request: Request, archive: ArchiveDep
) -> Response:
    """The value of one bulk data attribute (a BulkDataURI of the metadata)."""
    choose(request, (OCTET_STREAM,))
    dataset = _dataset(archive, study, series, instance)
    steps = path.strip("/").split("/")
    try:
        for depth in range(0, len(steps) - 1, 2):
            dataset = dataset[int(steps[depth], 16)].value[int(steps[depth + 1])]
        element = dataset[int(steps[-1], 16)]
    except (KeyError, IndexError, ValueError):
        raise NotFound(f"no bulk data at {path} in instance {instance}") from None
    value = element.value
    if not isinstance(value, bytes | bytearray):
        raise NotFound(f"{path} of instance {instance} is not bulk data")
    boundary = multipart.new_boundary()
    part = multipart.Part({"Content-Type": OCTET_STREAM}, [bytes(value)])
    return StreamingResponse(
        multipart.stream([part], boundary),
        media_type=multipart.content_type(boundary, OCTET_STREAM),
    )


def frame_numbers(text: str, count: int) -> list[int]:
    """The 1-based frame numbers of a ``frames`` path segment; 404 beyond the last frame."""
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadRequest(f"frames {text!r} is not a comma-separated list of numbers") from None
    if not numbers or any(n < 1 for n in numbers):
        raise BadRequest(f"frame numbers start at 1: {text!r}")
    beyond = [n for n in numbers if n > count]
    if beyond:
        raise NotFound(f"frame {beyond[0]} asked for, the instance has {count}")
    return numbers


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}")
def retrieve_frames(
    study: str, series: str, instance: str, frames: str, request: Request, archive: ArchiveDep
) -> Response:
    """Frames as uncompressed bytes, or compressed as stored when the client takes that."""
    dataset = _dataset(archive, study, series, instance)
    numbers = frame_numbers(frames, imaging.frame_count(dataset))
    syntax = str(dataset.file_meta.get("TransferSyntaxUID", DEFAULT_SYNTAX))
    stored_type = FRAME_TYPES.get(syntax)
    offered = (OCTET_STREAM, stored_type) if stored_type else (OCTET_STREAM,)
    for media_range in accepted(request):
        wanted_syntax = media_range.parameters.get("transfer-syntax", "")
        if (
            stored_type
            and media_range.media_type != "*/*"
            and media_range.matches(stored_type)
            and wanted_syntax in ("", "*", syntax)
        ):
            return _frames(numbers, dataset, stored_type, syntax, compressed=True)
    media_type = choose(request, offered)
    if media_type == OCTET_STREAM:
        return _frames(numbers, dataset, OCTET_STREAM, str(DEFAULT_SYNTAX), compressed=False)
    return _frames(numbers, dataset, media_type, syntax, compressed=True)


def _frames(
    numbers: list[int], dataset: Dataset, media_type: str, syntax: str, *, compressed: bool
) -> Response:
    def frame(number: int) -> bytes:
        if compressed:
            return imaging.encapsulated_frame(dataset, number - 1)
        return imaging.native_frame(dataset, number - 1)

    parts = [
        multipart.Part({"Content-Type": f"{media_type}; transfer-syntax={syntax}"}, [frame(n)])
        for n in numbers
    ]
    boundary = multipart.new_boundary()
    return StreamingResponse(
        multipart.stream(parts, boundary),
        media_type=multipart.content_type(boundary, media_type),
    )


# -- rendered and thumbnails -------------------------------------------------


def _rendered(request: Request, dataset: Dataset, index: int) -> Response:
    media_type = choose(request, IMAGE_TYPES)
    params = request.query_params
    window = imaging.parse_window(params["window"]) if params.get("window") else None
    viewport = imaging.parse_viewport(params["viewport"]) if params.get("viewport") else None
    quality = _quality(params.get("quality"))
    image = imaging.render(
        dataset, index, media_type=media_type, window=window, viewport=viewport, quality=quality
    )
    return Response(image, media_type=media_type)


def _quality(text: str | None) -> int:
    if not text:
        return 90
    try:
        quality = int(text)
    except ValueError:
        raise BadRequest(f"quality {text!r} is not a whole number") from None
    if not 1 <= quality <= 100:
        raise BadRequest(f"quality must be 1 to 100, not {quality}")
    return quality


@router.get("/studies/{study}/series/{series}/instances/{instance}/rendered")
def rendered_instance(
    study: str, series: str, instance: str, request: Request, archive: ArchiveDep
) -> Response:
    """The first frame of an instance as a JPEG or PNG image."""
    dataset = _dataset(archive, study, series, instance)
    if imaging.frame_count(dataset) == 0:
        raise NotFound(f"instance {instance} has no pixel data to render")
    return _rendered(request, dataset, 0)


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered")
def rendered_frame(
    study: str, series: str, instance: str, frames: str, request: Request, archive: ArchiveDep
) -> Response:
    """One frame of an instance as a JPEG or PNG image."""
    dataset = _dataset(archive, study, series, instance)
    numbers = frame_numbers(frames, imaging.frame_count(dataset))
    if len(numbers) != 1:
        raise BadRequest("a rendered frame is one frame number")
    return _rendered(request, dataset, numbers[0] - 1)


def _thumbnail(request: Request, archive: Archive, instances: list[StoredInstance]) -> Response:
    media_type = choose(request, IMAGE_TYPES)
    viewport = request.query_params.get("viewport")
    size = max(imaging.parse_viewport(viewport)) if viewport else 128
    for instance in instances[len(instances) // 2 :] + instances[: len(instances) // 2]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = dcmread(io.BytesIO(archive.read_instance(instance)), force=True)
        if imaging.frame_count(dataset):
            image = imaging.thumbnail(dataset, size=size, media_type=media_type)
            return Response(image, media_type=media_type)
    raise NotFound("nothing here has pixel data for a thumbnail")


@router.get("/studies/{study}/thumbnail")
def study_thumbnail(study: str, request: Request, archive: ArchiveDep) -> Response:
    """A small image of the study: the middle image of its middle series."""
    return _thumbnail(request, archive, archive.instances_in(study))


@router.get("/studies/{study}/series/{series}/thumbnail")
def series_thumbnail(study: str, series: str, request: Request, archive: ArchiveDep) -> Response:
    """A small image of the series: its middle image."""
    return _thumbnail(request, archive, archive.instances_in(study, series))


@router.get("/studies/{study}/series/{series}/instances/{instance}/thumbnail")
def instance_thumbnail(
    study: str, series: str, instance: str, request: Request, archive: ArchiveDep
) -> Response:
    """A small image of the instance (its middle frame)."""
    return _thumbnail(request, archive, archive.instances_in(study, series, instance))


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail")
def frame_thumbnail(
    study: str, series: str, instance: str, frames: str, request: Request, archive: ArchiveDep
) -> Response:
    """A small image of one frame."""
    dataset = _dataset(archive, study, series, instance)
    numbers = frame_numbers(frames, imaging.frame_count(dataset))
    media_type = choose(request, IMAGE_TYPES)
    image = imaging.render(dataset, numbers[0] - 1, media_type=media_type, viewport=(128, 128))
    return Response(image, media_type=media_type)
