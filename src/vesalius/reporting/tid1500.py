"""The content of a Comprehensive SR measurement report: TID 1500, made by highdicom.

Each measurement is its own group with a tracking identifier: a planar ROI
(TID 1410) when it was made along points on an image, else a measurement group
(TID 1501) that names the image it was made on, if any. Coded findings form
one more group, as qualitative evaluations. The text of the report's sections
and free-text findings go, as TEXT items, into the template's "Qualitative
Evaluations" container, which TID 1500 keeps for exactly that.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from highdicom.sr import (
    ContainerContentItem,
    ContentSequence,
    ImageRegion,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    PlanarROIMeasurementsAndQualitativeEvaluations,
    QualitativeEvaluation,
    SourceImageForMeasurement,
    SourceImageForRegion,
    TextContentItem,
    TrackingIdentifier,
)
from highdicom.sr import Measurement as TidMeasurement
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dicom_codes
from pydicom.sr.coding import Code

from vesalius.reporting import codes
from vesalius.reporting.content import observer_context
from vesalius.reporting.spec import InvalidReport, Measurement, ReportSpec
from vesalius.reporting.study import StudyContext

QUALITATIVE_EVALUATIONS = Code("C0034375", "UMLS", "Qualitative Evaluations")
PROCEDURES = {
    "CT": dicom_codes.cid100.CTUnspecifiedBodyRegion,
    "MR": dicom_codes.cid100.MRIUnspecifiedBodyRegion,
    "NM": dicom_codes.cid100.NMUnspecifiedBodyRegion,
    "PT": dicom_codes.cid100.PETUnspecifiedBodyRegion,
    "CR": dicom_codes.cid100.XRUnspecifiedBodyRegion,
    "DX": dicom_codes.cid100.XRUnspecifiedBodyRegion,
    "XA": dicom_codes.cid100.Angiography,
}
"""CID 100 procedure by the modality of the study; any other: Imaging procedure."""

NewUid = Callable[[], str]


def _frames(header: Dataset, frame: int | None) -> list[int] | None:
    if frame is None or int(header.get("NumberOfFrames", 1) or 1) <= 1:
        return None
    return [frame]


def _group(
    measurement: Measurement, context: StudyContext, new_uid: NewUid
) -> MeasurementsAndQualitativeEvaluations | PlanarROIMeasurementsAndQualitativeEvaluations:
    tracking = TrackingIdentifier(uid=new_uid(), identifier=measurement.name.strip())
    header = context.reference(measurement.image) if measurement.image else None
    if header is not None and "Rows" not in header:
        raise InvalidReport(
            f"measurement {measurement.name!r}: instance {measurement.image} has no image"
        )
    if header is not None and measurement.points:
        region = ImageRegion(
            graphic_type="POINT" if len(measurement.points) == 1 else "POLYLINE",
            graphic_data=np.array(measurement.points, dtype=float),
            source_image=SourceImageForRegion(
                header.SOPClassUID, header.SOPInstanceUID, _frames(header, measurement.frame)
            ),
        )
        return PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            referenced_region=region,
            measurements=[_measurement(measurement)],
        )
    sources = None
    if header is not None:
        sources = [
            SourceImageForMeasurement(
                header.SOPClassUID, header.SOPInstanceUID, _frames(header, measurement.frame)
            )
        ]
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, measurements=[_measurement(measurement, sources)]
    )


def _measurement(
    measurement: Measurement, sources: list[SourceImageForMeasurement] | None = None
) -> TidMeasurement:
    return TidMeasurement(
        name=codes.measurement_name(measurement.name),
        value=measurement.value,
        unit=codes.unit(measurement.unit),
        referenced_images=sources,
    )


def measurement_report_content(
    spec: ReportSpec, context: StudyContext, modality: str, new_uid: NewUid
) -> ContainerContentItem:
    """The root container of a TID 1500 report; ``InvalidReport`` when the spec has
    neither a measurement nor a coded finding (the template needs one group)."""
    groups: list[
        MeasurementsAndQualitativeEvaluations | PlanarROIMeasurementsAndQualitativeEvaluations
    ] = [_group(m, context, new_uid) for m in spec.measurements]
    coded = [f.code for f in spec.findings if f.code is not None]
    if coded:
        groups.append(
            MeasurementsAndQualitativeEvaluations(
                tracking_identifier=TrackingIdentifier(uid=new_uid(), identifier="Findings"),
                qualitative_evaluations=[QualitativeEvaluation(codes.FINDING, c) for c in coded],
            )
        )
    if not groups:
        raise InvalidReport(
            "a TID 1500 measurement report needs at least one measurement or coded finding"
        )
    observer = observer_context(spec)
    is_person = observer[0].ConceptCodeSequence[0].CodeValue == dicom_codes.DCM.Person.value
    report = MeasurementReport(
        observation_context=ObservationContext(
            observer_person_context=observer if is_person else None,
            observer_device_context=None if is_person else observer,
        ),
        procedure_reported=PROCEDURES.get(modality, dicom_codes.cid100.ImagingProcedure),
        imaging_measurements=groups,
        title=codes.measurement_report_title(spec.title),
    )
    root: ContainerContentItem = report[0]
    texts = [
        TextContentItem(
            name=codes.heading(section.heading)[1],
            value=section.text.strip(),
            relationship_type="CONTAINS",
        )
        for section in spec.sections
    ]
    texts.extend(
        TextContentItem(name=codes.FINDING, value=f.text.strip(), relationship_type="CONTAINS")
        for f in spec.findings
        if f.code is None
    )
    if texts:
        evaluations = ContainerContentItem(
            name=QUALITATIVE_EVALUATIONS, relationship_type="CONTAINS"
        )
        evaluations.ContentSequence = ContentSequence(texts)
        root.ContentSequence.append(evaluations)
    return root
