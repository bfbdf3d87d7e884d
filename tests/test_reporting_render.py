"""Any SR or KOS rendered as a readable document: the corpus SRs (texts, codes, numbers,
regions, references, a deflated file, a pre-standard trial SR), HTML that escapes what
the file says, thumbnails that open the viewer, and ``vesalius report`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import corpus_file, make_settings, read, vesalius
from reporting_support import MR_STUDY, mr_paths, store_mr_study
from vesalius.archive.archive import Archive
from vesalius.cli.report import KINDS as CLI_KINDS
from vesalius.reporting.create import create_report
from vesalius.reporting.html_document import render_html
from vesalius.reporting.read import read_document
from vesalius.reporting.spec import KINDS, ReportSpec, Section, parse_finding, parse_measure
from vesalius.reporting.stored import stored_document, study_reports
from vesalius.reporting.text import render_text

CORPUS_EXPECTATIONS = {
    "pydicom/test_files/test-SR.dcm": [
        "Diagnosis (TEST:1111)",
        "Comprehensive SR Storage · COMPLETE · VERIFIED",
        "Verified by: Riesmeier^Jörg, OFFIS e.V., 2001-02-13 18:47:46",
        "Text Code: A mass of",
        "[has concept mod] Code: Sample Code 1 (99_OFFIS_DCMTK:2222)",
        "Diameter: 3 Length Unit (99_OFFIS_DCMTK:cm)",
        "[has properties] SCoord Code: CIRCLE (0, 0), (255, 255)",
        "[selected from] reference: see item 1.3.2",
        "composite: Basic Text SR Storage 9.8.7.6",
        "[has acq context] DateTime: 2000-12-06 12:00:00",
        "image: CT Image Storage 1.2.3.4.5.0 (frames 5, 2)",
        "[has properties] waveform: Hemodynamic Waveform Storage 1.2.3.4.5",
    ],
    "dcm4che/test-data/report_dfl": [
        "Consultation Report (99_OFFIS_DCMTK:1111)",
        "Enhanced SR Storage · PARTIAL · UNVERIFIED",
        "Patient: Osterman^Phillip B. (M, born 1922-09-09)",
        "[has obs context] Observer Name: Packer^David M.^^^M. D.",
        "Hospital Name: Redlands Clinic (99_OFFIS_DCMTK:2230)",
        "Diameter: 1.5 cm (UCUM:cm)",
        "Diagnosis: Squamous cell carcinoma, relatively superficial",
        "4500 rad, 15 treatment sessions",
    ],
    "dcmqi/sr-example/sr.dcm": [
        "Imaging Measurement Report (DCM:126000)",
        "[has concept mod] Procedure reported: PET whole body (LN:44139-4)",
        "Finding: Neoplasm, Primary (SRT:M-80003)",
        "SUVbw: 6.01529 {SUVbw}g/ml (UCUM:{SUVbw}g/ml)",
        "[has concept mod] Derivation: Mean (SRT:R-00317)",
        "Volume: 33.5824 ml (UCUM:ml)",
        "Total Lesion Glycolysis: 202.008 g (UCUM:g)",
        "[has obs context] Tracking Identifier: primary tumor",
        "Referenced Segment: Segmentation Storage",
    ],
    "highdicom/sr_document_with_multiple_groups.dcm": [
        "Comprehensive 3D SR Storage",
        "Finding: Nodule (SCT:27925004)",
        "[has concept mod] Finding Site: Lung (SCT:39607008)",
        "Diameter: 10.0 mm (UCUM:mm)",
        "Image Region: POLYLINE (25, 45), (45, 45), (45, 65), (25, 65)",
        "Volume Surface: POINT (123.5, 234.1, -23.7)",
        "Intensity Histogram Mean: -119.07385253906 [hnsf'U]",
    ],
    "pydicom/test_files/reportsi.dcm": [
        "Document Title (99_OFFIS_DCMTK:IHE.01)",
        "## Section Heading",
        "Report Text: Enter text",
        "[has obs context] Observation Context Mode: DIRECT (99_OFFIS_DCMTK:IHE.03)",
    ],
    "orthanc-tests/HierarchicalAnonymization/StructuredReports/IM0": [
        "Annotations (99_OSIRIX:1)",
        "Basic Text SR Storage · PARTIAL · UNVERIFIED",
        "isKeyImage = 1;",
    ],
    "dcm4che/test-data/Tag-0040-A170-VR-CS.dcm": [
        "Detail SR Storage - Trial",
        "Status: GOOD",
        "Gyn Comment10 Label: Medication:",
        "Indications: microscopic hematuria",
    ],
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTATIONS))
def test_corpus_reports_render_their_texts_codes_and_numbers(name: str) -> None:
    text = render_text(read_document(read(corpus_file(name))))
    for expected in CORPUS_EXPECTATIONS[name]:
        assert expected in text, f"{expected!r} missing from\n{text}"


def test_html_escapes_what_the_file_says() -> None:
    document = read_document(read(corpus_file("pydicom/test_files/test-SR.dcm")))
    page = render_html(document)
    assert "&amp;%$§&quot;!()&lt;&gt;{}/;" in page  # TEXT "...&%$§"!()<>{}/;" of the file
    assert "<>{}" not in page
    assert "<script" not in page
    assert "<h1>Diagnosis</h1>" in page
    assert page.count("<section") == page.count("</section>") == 2


def test_a_created_report_renders_with_thumbnails_that_open_the_viewer(
    archive: Archive,
) -> None:
    images = store_mr_study(archive)
    spec = ReportSpec(
        title="<script>alert(1)</script>",
        sections=(Section("Impression", "Fracture <b>not</b> seen & stable."),),
        findings=(parse_finding("SCT:4147007:Mass"),),
        measurements=(parse_measure(f"Diameter=12.5 mm@{images[0]}#1,2,30,40"),),
        key_images=(images[2],),
    )
    sr, kos = create_report(archive, MR_STUDY, spec)
    document = stored_document(archive, sr.sop_instance_uid)
    text = render_text(document)
    assert "Impression: Fracture <b>not</b> seen & stable." in text
    assert "Finding: Mass (SCT:4147007)" in text
    assert "Diameter: 12.5 mm (UCUM:mm)" in text
    assert "Image Region: POLYLINE (1, 2), (30, 40)" in text
    page = render_html(document)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert "Fracture &lt;b&gt;not&lt;/b&gt; seen &amp; stable." in page
    series = "1.113654.5.14.1035"
    link = f"/#/viewer?study={MR_STUDY}&amp;series={series}&amp;instance={images[2]}"
    assert link in page
    assert f"/dicomweb/studies/{MR_STUDY}/series/{series}/instances/{images[0]}/thumbnail" in page
    kos_text = render_text(stored_document(archive, kos.sop_instance_uid))
    assert "Of Interest (DCM:113000)" in kos_text
    assert f"Source: MR Image Storage {images[2]}" in kos_text
    listed = study_reports(archive, MR_STUDY)
    assert {s.sop_instance_uid for s in listed} == {sr.sop_instance_uid, kos.sop_instance_uid}
    assert {s.title for s in listed} == {"<script>alert(1)</script>", "Of Interest"}


def test_report_verbs_create_list_and_show(tmp_path: Path) -> None:
    assert CLI_KINDS == KINDS  # the verb lists the kinds without loading the reporting code
    data = tmp_path / "data"
    archive = Archive.open(make_settings(data))
    try:
        for path in mr_paths():
            archive.store_file(path.read_bytes())
        image = archive.instances_in(MR_STUDY)[0].sop_instance_uid
    finally:
        archive.close()
    made = vesalius(
        "report", "create", "--data-dir", str(data), "--study", MR_STUDY,
        "--title", "MRI Report", "--text", "Carpal bones aligned.",
        "--section", "Impression=No fracture.", "--finding", "SCT:4147007:Mass",
        "--measure", f"Diameter=12.5 mm@{image}", "--key-images", image,
        "--observer", "RADIOLOGIST^ANNA", "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert [c["kind"] for c in created] == ["enhanced", "key-objects"]
    listed = vesalius("report", "ls", "--data-dir", str(data), "--study", MR_STUDY, "--json")
    assert listed.returncode == 0, listed.stderr
    assert {r["DocumentTitle"] for r in json.loads(listed.stdout)} == {"MRI Report", "Of Interest"}
    shown = vesalius("report", "show", created[0]["sop_instance_uid"], "--data-dir", str(data))
    assert shown.returncode == 0, shown.stderr
    assert "MRI Report (LN:25056-3)" in shown.stdout
    assert "Impression: No fracture." in shown.stdout
    assert "Diameter: 12.5 mm (UCUM:mm)" in shown.stdout
    assert "Person Observer Name: RADIOLOGIST^ANNA" in shown.stdout
    html = vesalius("report", "show", created[0]["sop_instance_uid"], "--data-dir", str(data),
                    "--format", "html")  # fmt: skip
    assert html.returncode == 0 and "<h2>Impressions</h2>" in html.stdout
    refused = vesalius("report", "create", "--data-dir", str(data), "--study", MR_STUDY,
                       "--measure", "Diameter=twelve mm")  # fmt: skip
    assert refused.returncode == 1
    assert "is not NAME=VALUE UNIT" in refused.stderr


def test_report_show_reads_a_file_and_refuses_what_is_no_report() -> None:
    shown = vesalius("report", "show", str(corpus_file("dcm4che/test-data/report_dfl")),
                     "--format", "json")  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["title"] == "Consultation Report"
    assert document["root"]["children"][0]["value"] == "Packer^David M.^^^M. D."
    image = vesalius("report", "show", str(corpus_file("pydicom/test_files/CT_small.dcm")))
    assert image.returncode == 1
    assert "not a structured report" in image.stderr
