"""De-identification (PS3.15 Annex E): the profile on every corpus file, the options,
the CLI verb, the API endpoint and what dciodvfy says of the output."""

from __future__ import annotations

import io
import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from pydicom.dataset import Dataset

from conftest import CORPUS, corpus_file, corpus_rows, require_tool, vesalius
from vesalius.app import Node
from vesalius.archive.deidentification import anonymize_files
from vesalius.model.deidentify import PROFILE, STANDARD_UID_ROOT, Deidentifier, Options

pytestmark = pytest.mark.both_databases

MR_SERIES = "dcm4che/MR-series"
MR = f"{MR_SERIES}/MR01.dcm"


def read(path: Path) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path)
        except Exception:
            return None


def uids_of(dataset: Dataset) -> list[tuple[str, str]]:
    """(keyword, value) of every non-standard UID, in sequences too."""
    found: list[tuple[str, str]] = []
    for element in dataset:
        if element.VR == "SQ":
            for item in element.value:
                found.extend(uids_of(item))
        elif element.VR == "UI" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            for value in values:
                if not str(value).startswith(STANDARD_UID_ROOT):
                    found.append((element.keyword, str(value)))
    return found


def profile_values(dataset: Dataset) -> list[tuple[str, Any]]:
    """Attributes of the profile's list that hold a value, in sequences too."""
    found: list[tuple[str, Any]] = []
    for element in dataset:
        if element.VR == "SQ":
            if PROFILE.get(element.keyword) == "X":
                found.append((element.keyword, "sequence"))
            for item in element.value:
                found.extend(profile_values(item))
        elif PROFILE.get(element.keyword) in ("X", "Z") and element.value not in (None, ""):
            found.append((element.keyword, element.value))
    return [(keyword, value) for keyword, value in found if keyword != "PatientID"]


def corpus_datasets() -> list[tuple[str, Dataset]]:
    rows = corpus_rows()
    if not rows:
        pytest.skip("the corpus is not there")
    loaded = []
    for row in rows:
        dataset = read(CORPUS / row["path"])
        if dataset is not None and "SOPInstanceUID" in dataset:
            loaded.append((row["path"], dataset))
    return loaded


def test_every_corpus_file_loses_what_the_profile_lists() -> None:
    run = Deidentifier()
    by_study: dict[str, set[str]] = {}
    checked = 0
    for name, original in corpus_datasets():
        copy = read(CORPUS / name)
        assert copy is not None
        pixels = original.get("PixelData")
        result = run(copy)
        assert profile_values(result) == [], name
        assert not any(element.tag.is_private for element in result), name
        assert str(result.PatientName) == "" and result.PatientIdentityRemoved == "YES"
        if str(original.get("PatientID", "")):
            assert result.PatientID != original.PatientID, name
        if pixels is not None:
            assert result.PixelData == pixels, name
        before = dict(uids_of(original))
        for keyword, value in uids_of(result):
            assert value not in before.values() or not value, (name, keyword)
        for keyword in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"):
            if str(original.get(keyword, "")):
                assert result[keyword].value == run.uids[str(original[keyword].value)], name
        if str(original.get("StudyInstanceUID", "")):
            study = str(original.StudyInstanceUID)
            by_study.setdefault(study, set()).add(str(result.StudyInstanceUID))
        checked += 1
    assert checked > 100
    assert all(len(new) == 1 for new in by_study.values())
    assert len({next(iter(new)) for new in by_study.values()}) == len(by_study)


def test_references_in_sequences_follow_the_remapping() -> None:
    run = Deidentifier()
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    referenced.ReferencedSOPInstanceUID = "1.2.3.4.5"
    dataset = Dataset()
    dataset.SOPInstanceUID = "1.2.3.4.6"
    dataset.StudyInstanceUID = "1.2.3"
    dataset.ReferencedImageSequence = [referenced]
    dataset.PatientID = "P1"
    first = run(dataset)
    other = Dataset()
    other.SOPInstanceUID = "1.2.3.4.5"
    other.StudyInstanceUID = "1.2.3"
    other.PatientID = "P1"
    second = run(other)
    reference = first.ReferencedImageSequence[0]
    assert reference.ReferencedSOPInstanceUID == second.SOPInstanceUID != "1.2.3.4.5"
    assert reference.ReferencedSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert first.StudyInstanceUID == second.StudyInstanceUID != "1.2.3"
    assert first.PatientID == second.PatientID != "P1"


def test_options_keep_dates_and_clean_descriptors() -> None:
    dataset = read(corpus_file(MR))
    assert dataset is not None
    dataset.StudyDescription = f"Head for {dataset.PatientName} id {dataset.PatientID}"
    dataset.StudyDate = "20240315"
    name_word = str(dataset.PatientName).split("^")[0]
    basic = Deidentifier()(read(corpus_file(MR)) or Dataset())
    assert "StudyDescription" not in basic and not basic.get("StudyDate")
    options = Options(retain_longitudinal_temporal=True, clean_descriptors=True)
    kept = Deidentifier(options)(dataset)
    assert kept.StudyDate == "20240315"
    assert kept.StudyDescription.startswith("Head for")
    assert name_word.lower() not in kept.StudyDescription.lower()
    codes = [item.CodeValue for item in kept.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113105", "113106"]


def test_burned_in_annotation_is_left_out_unless_asked(tmp_path: Path) -> None:
    dataset = read(corpus_file(MR))
    assert dataset is not None
    dataset.BurnedInAnnotation = "YES"
    burned = tmp_path / "in" / "burned.dcm"
    burned.parent.mkdir()
    dataset.save_as(burned)
    outcome = anonymize_files([burned.parent], tmp_path / "out", tmp_path / "data")
    assert outcome.written == [] and outcome.skipped[0][1] == "Burned In Annotation is YES"
    included = anonymize_files(
        [burned.parent], tmp_path / "out2", tmp_path / "data", include_burned_in=True
    )
    assert len(included.written) == 1


def test_the_anonymize_verb_writes_a_study_and_keeps_the_mapping(tmp_path: Path) -> None:
    folder = corpus_file(MR).parent
    data_dir = tmp_path / "data"
    result = vesalius("anonymize", str(folder), "--out", str(tmp_path / "out"),
                      "--data-dir", str(data_dir))  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted((tmp_path / "out").glob("*.dcm"))
    originals = sorted(folder.glob("*.dcm"))
    assert len(written) == len(originals) > 1
    copies = [read(path) for path in written]
    studies = {str(copy.StudyInstanceUID) for copy in copies if copy is not None}
    original_study = str((read(originals[0]) or Dataset()).StudyInstanceUID)
    assert len(studies) == 1 and original_study not in studies
    mappings = list((data_dir / "deidentification").glob("*.json"))
    assert len(mappings) == 1
    mapping = json.loads(mappings[0].read_text())
    assert mapping["uids"][studies.pop()] == original_study
    assert vesalius("anonymize", "--out", str(tmp_path / "x")).returncode == 1


def test_the_api_stores_a_de_identified_copy_as_a_new_study(web_node: Node) -> None:
    for path in sorted(corpus_file(MR).parent.glob("*.dcm")):
        web_node.archive.store_file(path.read_bytes())
    original = str((read(corpus_file(MR)) or Dataset()).StudyInstanceUID)
    answer = httpx.post(f"{web_node.base_url}/api/studies/{original}/anonymize", timeout=60)
    assert answer.status_code == 201, answer.text
    new_study = answer.json()["StudyInstanceUID"]
    assert new_study and new_study != original
    studies = httpx.get(f"{web_node.base_url}/api/studies").json()
    counts = {s["StudyInstanceUID"]: s["NumberOfStudyRelatedInstances"] for s in studies}
    assert counts[new_study] == counts[original] == answer.json()["instances"]
    copy = httpx.get(f"{web_node.base_url}/dicomweb/studies/{new_study}/metadata").json()
    assert all(item.get("00100010", {}).get("Value") is None for item in copy)
    missing = httpx.post(f"{web_node.base_url}/api/studies/1.2.3.999/anonymize")
    assert missing.status_code == 404


def _errors(path: Path) -> int:
    tool = require_tool("dciodvfy")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return sum(line.startswith("Error") for line in (result.stdout + result.stderr).splitlines())


@pytest.mark.parametrize("relative", [MR, "pydicom/test_files/dicomdirtests/77654033/CT2/17106"])
def test_dciodvfy_finds_no_more_errors_than_in_the_input(tmp_path: Path, relative: str) -> None:
    source = corpus_file(relative)
    dataset = read(source)
    assert dataset is not None
    out = tmp_path / "copy.dcm"
    buffer = io.BytesIO()
    Deidentifier()(dataset).save_as(buffer, enforce_file_format=True)
    out.write_bytes(buffer.getvalue())
    assert _errors(out) <= _errors(source)
