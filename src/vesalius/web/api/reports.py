"""Structured reports through the management API.

``GET /api/studies/{uid}/reports`` lists a study's SR and Key Object Selection
documents; ``POST`` writes a new report (and, with key images, a key object
selection) into the study through the same ingest as C-STORE, answering 201
with it. ``GET /api/reports/{SOPInstanceUID}`` renders any stored SR or KOS as
JSON (the tree), HTML (a page with no script, served with a policy that allows
none) or text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from vesalius.model.origin import Origin
from vesalius.reporting import codes
from vesalius.reporting.create import KIND_NAMES, Created, create_report
from vesalius.reporting.html_document import render_html
from vesalius.reporting.read import as_json
from vesalius.reporting.spec import (
    Measurement,
    ReportSpec,
    Section,
    parse_finding,
)
from vesalius.reporting.stored import stored_document, study_reports
from vesalius.reporting.text import render_text
from vesalius.web.deps import ArchiveDep

router = APIRouter(tags=["reports"])

HTML_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
"""The rendered page runs no script and loads nothing but our own thumbnails."""


class SectionBody(BaseModel):
    """A heading and its text."""

    heading: str = Field("Findings", max_length=64, description="CID 7001 heading, or any.")
    text: str = Field(min_length=1)


class MeasurementBody(BaseModel):
    """A number with its UCUM unit, optionally on an image and along points on it."""

    name: str = Field(min_length=1, max_length=64, examples=["Diameter"])
    value: float
    unit: str = Field("1", examples=["mm"], description="UCUM unit (mm, cm2, mL, HU, %).")
    image: str | None = Field(None, description="SOP Instance UID of the image measured.")
    frame: int | None = Field(None, ge=1)
    points: list[tuple[float, float]] = Field(
        default_factory=list, description="(column, row) pixels: a length's two ends."
    )


class ReportBody(BaseModel):
    """Body of ``POST /api/studies/{uid}/reports``."""

    title: str = Field("Diagnostic Imaging Report", max_length=64)
    kind: Literal["auto", "basic", "enhanced", "comprehensive"] = "auto"
    sections: list[SectionBody] = Field(default_factory=list)
    findings: list[str] = Field(
        default_factory=list, description="SCHEME:VALUE:Meaning (SCT:4147007:Mass), or text."
    )
    measurements: list[MeasurementBody] = Field(default_factory=list)
    key_images: list[str] = Field(default_factory=list, description="SOP Instance UIDs.")
    key_title: str = Field("Of Interest", description="CID 7010 title of the key images.")
    key_description: str = ""
    observer: str = Field("", max_length=64, description="Author, FAMILY^GIVEN.")
    complete: bool = True
    final: bool = False
    verified_by: str = Field("", max_length=64)
    organization: str = Field("", max_length=64)

    def spec(self) -> ReportSpec:
        """The report this body asks for."""
        return ReportSpec(
            title=self.title,
            kind=self.kind,
            sections=tuple(Section(s.heading, s.text) for s in self.sections),
            findings=tuple(parse_finding(f) for f in self.findings),
            measurements=tuple(
                Measurement(
                    m.name, m.value, m.unit, m.image, m.frame, tuple(tuple(p) for p in m.points)
                )
                for m in self.measurements
            ),
            key_images=tuple(self.key_images),
            key_title=self.key_title,
            key_description=self.key_description,
            observer=self.observer,
            complete=self.complete,
            final=self.final,
            verified_by=self.verified_by,
            organization=self.organization,
        )


def _created_json(created: Created) -> dict[str, str]:
    return {
        "id": created.sop_instance_uid,
        "SOPInstanceUID": created.sop_instance_uid,
        "SOPClassUID": created.sop_class_uid,
        "SeriesInstanceUID": created.series_instance_uid,
        "StudyInstanceUID": created.study_instance_uid,
        "DocumentTitle": created.title,
        "kind": created.kind,
        "kindName": KIND_NAMES[created.kind],
    }


@router.get("/studies/{study_uid}/reports")
def list_reports(study_uid: str, archive: ArchiveDep) -> list[dict[str, str]]:
    """The SR and Key Object Selection documents of a study, newest first."""
    return [{"id": s.sop_instance_uid, **s.as_json()} for s in study_reports(archive, study_uid)]


@router.post("/studies/{study_uid}/reports", status_code=201)
def write_report(
    study_uid: str, body: ReportBody, request: Request, archive: ArchiveDep
) -> dict[str, Any]:
    """Write a report into a stored study: an SR, and a Key Object Selection when key images
    are given (only that when nothing else is). Answers the first object made, with
    every object made under ``objects``."""
    origin = Origin("http", address=request.client.host if request.client else "")
    created = create_report(archive, study_uid, body.spec(), origin)
    return {**_created_json(created[0]), "objects": [_created_json(c) for c in created]}


@router.get("/reports/vocabulary")
def vocabulary() -> dict[str, list[str]]:
    """The words the editor offers: titles (CID 7000), key image titles (CID 7010),
    section headings (CID 7001) and UCUM units."""
    return {
        "titles": codes.report_titles(),
        "keyTitles": codes.key_object_titles(),
        "headings": codes.heading_names(),
        "units": sorted(codes.UNITS),
    }


@router.get("/reports/{sop_instance_uid}", response_model=None)
def read_report(
    sop_instance_uid: str,
    archive: ArchiveDep,
    fmt: Annotated[
        Literal["json", "html", "text"], Query(alias="format", description="json, html or text.")
    ] = "json",
) -> Response | dict[str, Any]:
    """A stored SR or KOS as a readable document."""
    document = stored_document(archive, sop_instance_uid)
    if fmt == "html":
        return HTMLResponse(
            render_html(document),
            headers={"Content-Security-Policy": HTML_POLICY, "X-Content-Type-Options": "nosniff"},
        )
    if fmt == "text":
        return PlainTextResponse(render_text(document))
    return as_json(document)
