"""Reports made in a stored study: valid objects (dciodvfy, DCMTK's SR tools), in the study,
in new series under our UID root, pointing at exactly the chosen images, and refused with
a reason when they cannot be made."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

import vesalius
from conftest import corpus_file, read
from reporting_support import (
    MR_PATIENT,
    MR_SERIES,
    MR_STUDY,
    content_items,
    dciodvfy,
    dcmtk_sr,
    evidence_uids,
    referenced_uids,
    store_mr_study,
)
from vesalius.archive.archive import Archive
from vesalius.model.errors import NotFound
from vesalius.reporting.create import create_report
from vesalius.reporting.spec import (
    InvalidReport,
    ReportSpec,
    Section,
    parse_finding,
    parse_measure,
)

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


def stored(archive: Archive, uid: str) -> Dataset:
    """A stored instance read back whole."""
    with archive.open_instance(uid) as handle:
        return pydicom.dcmread(io.BytesIO(handle.read()))


def write(archive: Archive, uid: str, folder: Path) -> Path:
    """The stored file of an instance, copied into ``folder`` for the Debian tools."""
    path = folder / f"{uid}.dcm"
    with archive.open_instance(uid) as handle:
        path.write_bytes(handle.read())
    return path


def full_spec(images: list[str], **changes: object) -> ReportSpec:
    """A report with every kind of content: sections, both kinds of finding, numbers on
    images (one along a length), key images, an author and a verifier."""
    values: dict[str, object] = {
        "title": "MRI Report",
        "sections": (
            Section("Findings", "Normal alignment of the carpal bones."),
            Section("Impression", "No fracture."),
        ),
        "findings": (parse_finding("SCT:4147007:Mass"), parse_finding("small joint effusion")),
        "measurements": (
            parse_measure(f"Diameter=12.5 mm@{images[0]}"),
            parse_measure(f"Length=22.4 mm@{images[1]}#10,20,40,60"),
            parse_measure("Volume=3.1 mL"),
        ),
        "key_images": (images[2], images[3]),
        "observer": "RADIOLOGIST^ANNA",
        "verified_by": "RADIOLOGIST^ANNA",
        "organization": "Wrist Clinic",
    }
    values.update(changes)
    return ReportSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "sop_class"),
    [("basic", BASIC_TEXT_SR), ("enhanced", ENHANCED_SR), ("comprehensive", COMPREHENSIVE_SR)],
)
def test_each_kind_is_valid_for_dciodvfy_and_dcmtk(
    archive: Archive, tmp_path: Path, kind: str, sop_class: str
) -> None:
    images = store_mr_study(archive)
    points = {"measurements": (parse_measure(f"Diameter=12.5 mm@{images[0]}"),)}
    changes: dict[str, object] = {"kind": kind, **(points if kind == "basic" else {})}
    created = create_report(archive, MR_STUDY, full_spec(images, **changes))
    assert [c.sop_class_uid for c in created] == [sop_class, KEY_OBJECT_SELECTION]
    for item in created:
        path = write(archive, item.sop_instance_uid, tmp_path)
        verdict = dciodvfy(path)
        assert verdict.errors == [], verdict.output
        dump = dcmtk_sr("dsrdump", path)
        assert dump.returncode == 0, dump.stderr
        xml = dcmtk_sr("dsr2xml", path)
        assert xml.returncode == 0, xml.stderr
        assert f'<study uid="{MR_STUDY}">' in xml.stdout
    sr_xml = dcmtk_sr("dsr2xml", write(archive, created[0].sop_instance_uid, tmp_path)).stdout
    assert "No fracture." in sr_xml
    assert "4147007" in sr_xml
    assert "12.5" in sr_xml
    if kind != "basic":
        assert "<unit>" in sr_xml and "mm" in sr_xml  # a NUM with its UCUM unit
    kos_dump = dcmtk_sr("dsrdump", write(archive, created[1].sop_instance_uid, tmp_path)).stdout
    assert "Of Interest" in kos_dump


def test_a_report_belongs_to_the_study_in_new_series_under_our_root(archive: Archive) -> None:
    images = store_mr_study(archive)
    created = create_report(archive, MR_STUDY, full_spec(images))
    source = stored(archive, images[0])
    series = {c.series_instance_uid for c in created}
    assert len(series) == 2 and MR_SERIES not in series
    for item in created:
        document = stored(archive, item.sop_instance_uid)
        assert document.StudyInstanceUID == MR_STUDY
        assert (document.PatientID, str(document.PatientName)) == MR_PATIENT
        for keyword in ("PatientSex", "AccessionNumber", "StudyID", "StudyDate", "StudyTime"):
            assert document.get(keyword) == source.get(keyword), keyword
        assert str(document.ReferringPhysicianName) == str(source.ReferringPhysicianName)
        prefix = vesalius.IMPLEMENTATION_CLASS_UID + "."
        assert document.SOPInstanceUID.startswith(prefix)
        assert document.SeriesInstanceUID.startswith(prefix)
        assert len(document.SOPInstanceUID) <= 64
        assert document.file_meta.ImplementationClassUID == vesalius.IMPLEMENTATION_CLASS_UID
        assert int(document.SeriesNumber) > 107  # after the MR series, number 107
    sr = stored(archive, created[0].sop_instance_uid)
    assert sr.Modality == "SR"
    assert (sr.CompletionFlag, sr.VerificationFlag) == ("COMPLETE", "VERIFIED")
    assert sr.VerifyingObserverSequence[0].VerifyingOrganization == "Wrist Clinic"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "25056-3"  # LOINC MRI Report
    names = [str(i.PersonName) for i in content_items(sr) if i.ValueType == "PNAME"]
    assert names == ["RADIOLOGIST^ANNA"]
    assert archive.instances_in(MR_STUDY, created[0].series_instance_uid)


def test_the_key_object_selection_references_exactly_the_chosen_images(
    archive: Archive,
) -> None:
    images = store_mr_study(archive)
    chosen = [images[3], images[1]]
    spec = ReportSpec(key_images=tuple(chosen), key_title="For Referring Provider")
    (kos,) = create_report(archive, MR_STUDY, spec)
    document = stored(archive, kos.sop_instance_uid)
    assert document.SOPClassUID == KEY_OBJECT_SELECTION
    assert document.Modality == "KO"
    assert document.ConceptNameCodeSequence[0].CodeValue == "113002"
    assert referenced_uids(document) == chosen
    assert sorted(evidence_uids(document)) == sorted(chosen)
    series = document.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    assert [s.SeriesInstanceUID for s in series] == [MR_SERIES]


def test_measurements_point_at_their_image_and_region(archive: Archive) -> None:
    images = store_mr_study(archive)
    spec = full_spec(images, key_images=())
    (sr,) = create_report(archive, MR_STUDY, spec)
    document = stored(archive, sr.sop_instance_uid)
    assert document.SOPClassUID == ENHANCED_SR  # auto: numbers need an Enhanced SR
    numbers = {
        i.ConceptNameCodeSequence[0].CodeMeaning: i
        for i in content_items(document)
        if i.ValueType == "NUM"
    }
    assert set(numbers) == {"Diameter", "Length", "Volume"}
    diameter = numbers["Diameter"].MeasuredValueSequence[0]
    assert float(diameter.NumericValue) == 12.5
    unit = diameter.MeasurementUnitsCodeSequence[0]
    assert (unit.CodeValue, unit.CodingSchemeDesignator) == ("mm", "UCUM")
    region = numbers["Length"].ContentSequence[0]
    assert (region.ValueType, region.GraphicType) == ("SCOORD", "POLYLINE")
    assert [float(v) for v in region.GraphicData] == [10, 20, 40, 60]
    image = region.ContentSequence[0]
    assert image.RelationshipType == "SELECTED FROM"
    assert image.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == images[1]
    assert sorted(evidence_uids(document)) == sorted(images[:2])
    assert "ContentSequence" not in numbers["Volume"]  # made on no image: no reference


def test_a_free_title_is_kept_as_a_local_code_declared_in_the_object(archive: Archive) -> None:
    store_mr_study(archive)
    spec = ReportSpec(title="Wrist follow-up", sections=(Section("Technique", "T1, T2."),))
    (sr,) = create_report(archive, MR_STUDY, spec)
    document = stored(archive, sr.sop_instance_uid)
    assert document.SOPClassUID == BASIC_TEXT_SR
    title = document.ConceptNameCodeSequence[0]
    assert (title.CodingSchemeDesignator, title.CodeMeaning) == ("99VESALIUS", "Wrist follow-up")
    declared = [i.CodingSchemeDesignator for i in document.CodingSchemeIdentificationSequence]
    assert declared == ["99VESALIUS"]
    heading = content_items(document)[-2]  # Technique -> CID 7001 Current Procedure Descriptions
    assert heading.ConceptNameCodeSequence[0].CodeValue == "55111-9"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"key_images": ("1.2.3.4",)}, "is not stored in study"),
        ({"measurements": (parse_measure("Diameter=3 fathoms deep"),)}, "not a UCUM unit"),
        ({"kind": "basic"}, "Basic Text SR cannot hold image regions"),
        ({"organization": ""}, "names the verifying organization"),
        ({"key_title": "Nice pictures"}, "is not one of CID 7010"),
        ({"title": "x" * 65}, "longer than 64"),
    ],
)
def test_what_cannot_be_made_is_refused_with_a_reason(
    archive: Archive, changes: dict[str, object], reason: str
) -> None:
    images = store_mr_study(archive)
    before = len(archive.instances_in(MR_STUDY))
    with pytest.raises(InvalidReport, match=reason):
        create_report(archive, MR_STUDY, full_spec(images, **changes))
    assert len(archive.instances_in(MR_STUDY)) == before


def test_an_unknown_study_is_not_found(archive: Archive) -> None:
    with pytest.raises(NotFound):
        create_report(archive, "1.2.3", ReportSpec(sections=(Section("Findings", "x"),)))


def test_tid1500_needs_a_measurement_or_coded_finding(archive: Archive) -> None:
    store_mr_study(archive)
    spec = ReportSpec(kind="comprehensive", sections=(Section("Impression", "Stable."),))
    with pytest.raises(InvalidReport, match="TID 1500"):
        create_report(archive, MR_STUDY, spec)


def test_tid1500_report_has_its_template_groups_and_text(archive: Archive) -> None:
    images = store_mr_study(archive)
    spec = full_spec(images, kind="comprehensive", key_images=())
    (sr,) = create_report(archive, MR_STUDY, spec)
    document = stored(archive, sr.sop_instance_uid)
    assert document.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert document.ConceptNameCodeSequence[0].CodeValue == "126000"
    meanings = [i.ConceptNameCodeSequence[0].CodeMeaning for i in content_items(document)]
    assert meanings.count("Measurement Group") == 4  # three numbers, one of coded findings
    assert "Qualitative Evaluations" in meanings
    texts = [i.TextValue for i in content_items(document) if i.ValueType == "TEXT"]
    assert "No fracture." in texts and "small joint effusion" in texts
    procedure = [i for i in content_items(document) if i.get("ConceptCodeSequence")]
    assert any(i.ConceptCodeSequence[0].CodeValue == "25056-3" for i in procedure)  # MRI


@pytest.mark.parametrize(
    "name", ["pydicom/charset_files/chrH31.dcm", "pydicom/charset_files/chrRuss.dcm"]
)
def test_names_in_another_character_set_are_kept(
    archive: Archive, tmp_path: Path, name: str
) -> None:
    source = read(corpus_file(name))
    stored_source = archive.store_file(corpus_file(name).read_bytes())
    spec = ReportSpec(
        title="Befund", sections=(Section("Impression", "Ничего. 異常なし."),),
        key_images=(stored_source.sop_instance_uid,),
    )  # fmt: skip
    created = create_report(archive, str(source.StudyInstanceUID), spec)
    assert [c.sop_class_uid for c in created] == [BASIC_TEXT_SR, KEY_OBJECT_SELECTION]
    for item in created:
        document = stored(archive, item.sop_instance_uid)
        assert document.SpecificCharacterSet == "ISO_IR 192"
        assert str(document.PatientName) == str(source.PatientName)
        assert referenced_uids(document) == [stored_source.sop_instance_uid]
        verdict = dciodvfy(write(archive, item.sop_instance_uid, tmp_path))
        assert verdict.errors == [], verdict.output
    report = stored(archive, created[0].sop_instance_uid)
    texts = [i.TextValue for i in content_items(report) if i.ValueType == "TEXT"]
    assert texts[-1] == "Ничего. 異常なし."  # after the device observer's name
