"""The content tree of a Basic Text or Enhanced SR report (PS3.3 A.35.1, A.35.2).

Laid out as a diagnostic imaging report (in the spirit of TID 2000, without
claiming it): the title, the language and the observer, then one container per
section heading holding its text. Findings and measurements go under
"Findings"; key images under "Key Images". A measurement is a NUM in an
Enhanced SR, inferred from the image it was made on or from a region (SCOORD)
selected from that image; a Basic Text SR cannot hold numbers, so there it is a
TEXT ("12.5 mm") inferred from the image. Only by-value relationships are used,
as both classes require.
"""

from __future__ import annotations

import numpy as np
from highdicom.sr import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    ContentSequence,
    DeviceObserverIdentifyingAttributes,
    ImageContentItem,
    LanguageOfContentItemAndDescendants,
    NumContentItem,
    ObserverContext,
    PersonObserverIdentifyingAttributes,
    ScoordContentItem,
    TextContentItem,
)
from highdicom.sr.templates import DEFAULT_LANGUAGE
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dicom_codes
from pydicom.sr.coding import Code

import vesalius
from vesalius.reporting import codes
from vesalius.reporting.spec import Measurement, ReportSpec
from vesalius.reporting.study import StudyContext

CONTAINS = "CONTAINS"
INFERRED_FROM = "INFERRED FROM"
SELECTED_FROM = "SELECTED FROM"
OBSERVER_DEVICE_NAME = "Vesalius"


def observer_context(spec: ReportSpec) -> ObserverContext:
    """The person who wrote the report, or (no name given) Vesalius as the device."""
    if spec.observer.strip():
        return ObserverContext(
            observer_type=dicom_codes.DCM.Person,
            observer_identifying_attributes=PersonObserverIdentifyingAttributes(
                name=spec.observer.strip()
            ),
        )
    return ObserverContext(
        observer_type=dicom_codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=vesalius.IMPLEMENTATION_CLASS_UID, name=OBSERVER_DEVICE_NAME
        ),
    )


def reference_item(
    header: Dataset, relationship: str, frame: int | None = None, name: Code = codes.SOURCE
) -> ContentItem:
    """An IMAGE item for an instance with pixels (with its frame when it has several),
    a COMPOSITE item for any other."""
    if "Rows" not in header:
        return CompositeContentItem(
            name=name,
            referenced_sop_class_uid=header.SOPClassUID,
            referenced_sop_instance_uid=header.SOPInstanceUID,
            relationship_type=relationship,
        )
    frames = None
    if frame is not None and int(header.get("NumberOfFrames", 1) or 1) > 1:
        frames = [frame]
    return ImageContentItem(
        name=name,
        referenced_sop_class_uid=header.SOPClassUID,
        referenced_sop_instance_uid=header.SOPInstanceUID,
        referenced_frame_numbers=frames,
        relationship_type=relationship,
    )


def format_number(value: float) -> str:
    """A measured value as people write it (12.5, not 12.500000)."""
    return f"{value:.6g}"


def _measurement_item(measurement: Measurement, context: StudyContext, kind: str) -> ContentItem:
    name = codes.measurement_name(measurement.name)
    unit = codes.unit(measurement.unit)
    item: ContentItem
    if kind == "basic":
        shown_unit = "" if unit.value == "1" else f" {unit.value}"
        item = TextContentItem(
            name=name,
            value=format_number(measurement.value) + shown_unit,
            relationship_type=CONTAINS,
        )
    else:
        item = NumContentItem(
            name=name, value=measurement.value, unit=unit, relationship_type=CONTAINS
        )
    if measurement.image is None:
        return item
    header = context.reference(measurement.image)
    source: ContentItem
    if measurement.points:
        image = reference_item(header, SELECTED_FROM, measurement.frame)
        graphic_type = "POINT" if len(measurement.points) == 1 else "POLYLINE"
        source = ScoordContentItem(
            name=dicom_codes.DCM.ImageRegion,
            graphic_type=graphic_type,
            graphic_data=np.array(measurement.points, dtype=float),
            relationship_type=INFERRED_FROM,
        )
        source.ContentSequence = ContentSequence([image])
    else:
        source = reference_item(header, INFERRED_FROM, measurement.frame)
    item.ContentSequence = ContentSequence([source])
    return item


def _container(name: Code, children: list[ContentItem]) -> ContainerContentItem:
    container = ContainerContentItem(name=name, relationship_type=CONTAINS)
    container.ContentSequence = ContentSequence(children)
    return container


def report_content(spec: ReportSpec, context: StudyContext) -> ContainerContentItem:
    """The root container of a Basic Text (``kind`` basic) or Enhanced SR report."""
    kind = spec.resolved_kind()
    root = ContainerContentItem(name=codes.report_title(spec.title))
    children: list[ContentItem] = [
        *LanguageOfContentItemAndDescendants(DEFAULT_LANGUAGE),
        *observer_context(spec),
    ]
    sections: dict[tuple[str, str], tuple[Code, list[ContentItem]]] = {}
    for section in spec.sections:
        heading, element = codes.heading(section.heading)
        key = (heading.scheme_designator, heading.value)
        sections.setdefault(key, (heading, []))[1].append(
            TextContentItem(name=element, value=section.text.strip(), relationship_type=CONTAINS)
        )
    findings_heading, _ = codes.heading("Findings")
    observed: list[ContentItem] = []
    for finding in spec.findings:
        if finding.code is not None:
            observed.append(
                CodeContentItem(name=codes.FINDING, value=finding.code, relationship_type=CONTAINS)
            )
        else:
            observed.append(
                TextContentItem(
                    name=codes.FINDING, value=finding.text.strip(), relationship_type=CONTAINS
                )
            )
    observed.extend(_measurement_item(m, context, kind) for m in spec.measurements)
    if observed:
        key = (findings_heading.scheme_designator, findings_heading.value)
        if key not in sections:  # a Findings section of their own, first as reports have it
            sections = {key: (findings_heading, []), **sections}
        sections[key][1].extend(observed)
    children.extend(_container(heading, items) for heading, items in sections.values())
    if spec.key_images:
        children.append(
            _container(
                codes.KEY_IMAGES,
                [reference_item(context.reference(uid), CONTAINS) for uid in spec.key_images],
            )
        )
    root.ContentSequence = ContentSequence(children)
    return root
