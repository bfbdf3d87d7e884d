"""What a person asks for when writing a report, before any DICOM is made.

A ``ReportSpec`` is filled by the CLI, the REST API or the viewer's editor
from plain words and numbers; ``parse_*`` read the short forms the CLI takes
(``--measure 'Diameter=12.5 mm@UID'``), and ``check`` refuses, with a reason,
what cannot become a valid object (a title longer than a code meaning, a unit
that is not UCUM, a verified report without its verifier).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydicom.sr.coding import Code

from vesalius.model.errors import ArchiveError
from vesalius.reporting import codes

Kind = Literal["auto", "basic", "enhanced", "comprehensive"]
KINDS: tuple[str, ...] = ("auto", "basic", "enhanced", "comprehensive")
MEANING_MAX = 64
"""Code Meaning is LO: a title, heading or measurement name is at most this long."""
PNAME_MAX = 64


class InvalidReport(ArchiveError):
    """A report that cannot be made as asked: the message says what to change."""

    dimse_status = 0xC000
    http_status = 422


@dataclass(frozen=True, slots=True)
class Section:
    """A heading ("Findings", "Impression", ...) and its text."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Finding:
    """An observation: a code (``SCT:4147007:Mass``) or, lacking one, free text."""

    text: str
    code: Code | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """A number with its UCUM unit, optionally made on an image (and a frame of it),
    optionally along points (column, row) in that image's pixels: a length tool's
    two ends, or an outline."""

    name: str
    value: float
    unit: str
    image: str | None = None
    frame: int | None = None
    points: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """Everything a report is made from; ``kind`` ``auto`` picks the simplest SR class
    that holds the content natively (Basic Text, or Enhanced once there are numbers).

    ``key_images`` (SOP Instance UIDs of the study) also make a Key Object Selection
    titled ``key_title`` (CID 7010). A spec with key images and nothing else makes
    only that selection.
    """

    title: str = "Diagnostic Imaging Report"
    kind: Kind = "auto"
    sections: tuple[Section, ...] = ()
    findings: tuple[Finding, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    key_images: tuple[str, ...] = ()
    key_title: str = "Of Interest"
    key_description: str = ""
    observer: str = ""
    complete: bool = True
    final: bool = False
    verified_by: str = ""
    organization: str = ""
    series_description: str = ""

    @property
    def has_report(self) -> bool:
        """True when there is something besides key images: an SR is to be made."""
        return bool(self.sections or self.findings or self.measurements)

    def resolved_kind(self) -> str:
        """The SR class this spec makes: ``auto`` becomes basic or enhanced."""
        if self.kind != "auto":
            return self.kind
        return "enhanced" if self.measurements else "basic"

    def referenced_images(self) -> list[str]:
        """Every SOP Instance UID the report or the selection points at, once each."""
        seen: dict[str, None] = {}
        for measurement in self.measurements:
            if measurement.image:
                seen[measurement.image] = None
        for uid in self.key_images:
            seen[uid] = None
        return list(seen)


_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
_MEASURE = re.compile(
    r"^\s*(?P<name>[^=]+?)\s*=\s*(?P<value>[-+0-9.eE]+)\s*(?P<unit>[^@]*?)\s*"
    r"(?:@\s*(?P<image>[0-9.]+)(?::(?P<frame>[0-9]+))?(?:#(?P<points>[-0-9.,\s]+))?)?\s*$"
)


def parse_measure(text: str) -> Measurement:
    """``NAME=VALUE UNIT[@SOPUID[:FRAME][#c1,r1,c2,r2...]]`` as a measurement
    (``Diameter=12.5 mm@1.2.3#10,20,40,60``); ``InvalidReport`` when it is not so."""
    match = _MEASURE.match(text)
    if match is None:
        raise InvalidReport(
            f"measurement {text!r} is not NAME=VALUE UNIT[@SOPUID[:FRAME][#c1,r1,c2,r2...]]"
        )
    try:
        value = float(match["value"])
    except ValueError:
        raise InvalidReport(f"measurement {text!r}: {match['value']!r} is not a number") from None
    numbers = [p for p in re.split(r"[,\s]+", match["points"] or "") if p]
    if len(numbers) % 2:
        raise InvalidReport(f"measurement {text!r}: points come in column,row pairs")
    try:
        coordinates = [float(number) for number in numbers]
    except ValueError:
        raise InvalidReport(f"measurement {text!r}: the points are not numbers") from None
    points = tuple(zip(coordinates[::2], coordinates[1::2], strict=True))
    return Measurement(
        name=match["name"],
        value=value,
        unit=match["unit"] or "1",
        image=match["image"],
        frame=int(match["frame"]) if match["frame"] else None,
        points=points,
    )


def parse_finding(text: str) -> Finding:
    """``SCHEME:VALUE:Meaning`` as a coded finding, anything else as free text."""
    code = codes.parse_code(text)
    return Finding(code.meaning if code else text.strip(), code)


def parse_section(text: str) -> Section:
    """``HEADING=TEXT`` (``Impression=No fracture.``) as a section."""
    heading, sep, body = text.partition("=")
    if not sep or not heading.strip() or not body.strip():
        raise InvalidReport(f"section {text!r} is not HEADING=TEXT")
    return Section(heading.strip(), body.strip())


def check(spec: ReportSpec) -> None:
    """Refuse what would not make a valid object; ``InvalidReport`` says why."""
    if spec.kind not in KINDS:
        raise InvalidReport(f"kind {spec.kind!r} is not one of {', '.join(KINDS)}")
    if not spec.has_report and not spec.key_images:
        raise InvalidReport("a report needs text, findings, measurements or key images")
    if spec.has_report and not spec.title.strip():
        raise InvalidReport("a report needs a title")
    _meaning("title", spec.title)
    for section in spec.sections:
        _meaning("heading", section.heading)
        if not section.text.strip():
            raise InvalidReport(f"section {section.heading!r} has no text")
    for finding in spec.findings:
        if not finding.text.strip():
            raise InvalidReport("a finding has no text")
        if finding.code is not None:
            _meaning("finding", finding.code.meaning)
    for measurement in spec.measurements:
        _check_measurement(measurement, spec.resolved_kind())
    for uid in spec.referenced_images():
        if not _UID.match(uid) or len(uid) > 64:
            raise InvalidReport(f"{uid!r} is not a SOP Instance UID")
    if spec.key_images and codes.key_object_title(spec.key_title) is None:
        raise InvalidReport(
            f"key image title {spec.key_title!r} is not one of CID 7010 "
            f"(such as {', '.join(codes.key_object_titles()[:4])}, ...)"
        )
    for label, name in (("observer", spec.observer), ("verifier", spec.verified_by)):
        if len(name) > PNAME_MAX:
            raise InvalidReport(f"the {label} name is longer than {PNAME_MAX} characters")
    if spec.verified_by and not spec.organization.strip():
        raise InvalidReport("a verified report names the verifying organization")
    if spec.verified_by and not spec.complete:
        raise InvalidReport("only a complete report can be verified")


def _meaning(label: str, text: str) -> None:
    if len(text.strip()) > MEANING_MAX:
        raise InvalidReport(f"the {label} {text[:20]!r}... is longer than {MEANING_MAX} characters")


def _check_measurement(measurement: Measurement, kind: str) -> None:
    _meaning("measurement name", measurement.name)
    if not measurement.name.strip():
        raise InvalidReport("a measurement has no name")
    if not math.isfinite(measurement.value):
        raise InvalidReport(f"measurement {measurement.name!r} is not a finite number")
    try:
        codes.unit(measurement.unit)
    except ValueError as exc:
        raise InvalidReport(f"measurement {measurement.name!r}: {exc}") from None
    if measurement.points and not measurement.image:
        raise InvalidReport(f"measurement {measurement.name!r}: points need the image they lie on")
    if measurement.points and kind == "basic":
        raise InvalidReport(
            f"measurement {measurement.name!r}: a Basic Text SR cannot hold image regions "
            "(use kind enhanced or comprehensive)"
        )
    if measurement.frame is not None and measurement.frame < 1:
        raise InvalidReport(f"measurement {measurement.name!r}: frames count from 1")
