"""The whole shared corpus against a running node: DCMTK's storescu in, pydicom reads back.

One ``Node`` (the same in-process server as conftest's ``node`` fixture, made
once for this module so that the corpus is sent only once) receives every
corpus file whose ``valid`` is ``yes`` or ``malformed``, one ``storescu``
association per file, several at a time. Each association proposes the
file's own transfer syntax in a context of its own (so that storescu sends the
data set as it is) plus the uncompressed ones.

Expected, file by file:

- a valid file with SOP Class, SOP Instance, Study and Series Instance UIDs and
  a SOP class of the registry is stored and reads back equal: same elements
  and values, pixel data bytes identical. Where DCMTK 3.6.7 cannot send such a
  file (a transfer syntax newer than it, or a data set its parser refuses),
  a bare pynetdicom SCU sends it instead (and when neither can, the test says
  so and skips). Where several corpus files share one SOP Instance UID, the
  first to arrive is kept (policy ``ignore``) and the stored copy must equal
  one of them. Three normalisations made by the
  *sender* are not differences: group lengths (gggg,0000) recomputed, Data Set
  Trailing Padding dropped, and an odd-length pixel fragment padded to even
  length (with Pixel Data encoded as OB). For the rare file whose non-standard
  encoding DCMTK parses differently from pydicom (a blank VR), the reference is
  the data set as DCMTK reads it (``dcmconv``), which is what storescu sent;
- a valid file lacking one of the four UIDs is refused with a failure status
  (C000 naming the missing UID), or not sent at all by storescu (nor, when it
  has a SOP Class and Instance UID, by pynetdicom);
- a valid file whose SOP class is not in the registry (private classes, and
  standard ones newer than the installed pydicom) is refused at association
  negotiation;
- a malformed file is either stored in a form that reads back (pydicom reads
  it with the right UIDs and DCMTK's ``dcmdump`` reads it whole) or refused;
  the outcome of each is fixed in ``MALFORMED`` below;
- afterwards the node still answers C-ECHO, and index and blob store agree.

The ``import`` tests put the same malformed files, and the largest corpus folder
of valid files, through ``vesalius import`` (exit code 2, each rejected file
listed with its reason, no traceback), then read every stored file back and
check that ``vesalius ls`` shows what was stored.

Malformed corpus files, and what becomes of them (``MALFORMED`` holds the same):

================================================================ =========== ===============
file                                                             C-STORE     import
================================================================ =========== ===============
dcm4che/test-data/3gb-bulk-data-truncated                        sender [1]  refused [a]
dcm4che/test-data/NM-MONO2-16-13x-heart                          stored      stored (m)
dcm4che/test-data/no_preamble_dicm_in_data                       sender [2]  refused [b]
dicomParser/deflate/wave_dfl                                     stored      stored (m)
fo-dicom/CR-MONO1-10-chest                                       stored      stored (m)
fo-dicom/CR-ModalitySequenceLUT.dcm                              stored      stored (m)
fo-dicom/GH1146.dcm                                              stored      stored (m) [g]
fo-dicom/GH1376.dcm                                              sender [3]  stored (m) [g]
fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm stored [4]  refused [d]
highdicom/sm_image_dots.dcm                                      stored      stored (m)
highdicom/sm_image_grayscale.dcm                                 stored      stored (m)
nibabel/0.dcm                                                    stored      stored (m)
nibabel/1.dcm                                                    stored      stored (m)
nibabel/csa_slice_norm.dcm                                       stored      stored (m)
orthanc-tests/2026-05-26-oob-monochrome-65535.dcm                stored      stored [g]
orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.dcm             stored      stored (m)
pydicom/charset_files/chrJapMulti.dcm                            stored      stored (m)
pydicom/charset_files/chrJapMultiExplicitIR6.dcm                 stored      stored (m)
pydicom/test_files/ExplVR_BigEndNoMeta.dcm                       stored      stored (m)
pydicom/test_files/ExplVR_LitEndNoMeta.dcm                       stored      stored (m)
pydicom/test_files/SC_rgb_jpeg.dcm                               sender [5]  stored [f]
pydicom/test_files/badVR.dcm                                     stored      stored (m)
pydicom/test_files/meta_missing_tsyntax.dcm                      sender [2]  refused [b]
pydicom/test_files/nested_priv_SQ.dcm                            sender [2]  refused [b]
pydicom/test_files/no_meta.dcm                                   sender [2]  refused [b]
pydicom/test_files/rtdose_1frame.dcm                             stored      stored (m)
pydicom/test_files/rtdose_expb_1frame.dcm                        stored      stored (m)
pydicom/test_files/rtplan.dcm                                    stored      stored (m)
pydicom-data/JLSL_RGB_ILV0.dcm                                   sender [2]  refused [c]
pydicom-data/JLSL_RGB_ILV1.dcm                                   sender [2]  refused [c]
pydicom-data/JLSL_RGB_ILV2.dcm                                   sender [2]  refused [c]
pydicom-data/JLSN_RGB_ILV0.dcm                                   sender [2]  refused [c]
pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm           sender [6]  refused [e]
pylibjpeg-data/JPEG2000/ELSCINT1_JP2vsJ2K.dcm                    stored      stored (m)
pylibjpeg-data/JPEGLossless/JPEGLossless_1s_1f_i_16_16_bad.dcm   stored      stored (m)
pynetdicom/CTImageStorage_bad_meta.dcm                           stored      stored (m)
pynetdicom/RTImageStorage.dcm                                    stored      stored (m)
================================================================ =========== ===============

C-STORE: *stored* means answered 0000 and read back; *sender* means storescu would not send
it, saying:

[1] PixelData larger (3221225472) than remaining bytes in file.
[2] missing SOP class (or instance) in file / No SOP Class or Instance UID in file.
[3] DIMSE Failed to send message (file meta elements inside the data set).
[4] storescu re-encodes the data set it managed to parse; that encoding is readable.
[5] I/O suspension or premature end of stream (meta says explicit VR, data set is implicit).
[6] Sequence Delimitation Item missing.

import: *stored* means stored and read back; *refused* means listed as rejected, because:

(m) stored, mended: the meta disagrees with the data set (media storage UIDs, missing
    transfer syntax or no meta at all); the data set is believed.
[a] Pixel Data's length runs past the end of the file. Today this file is stored, and
    DCMTK cannot read the stored copy: the test fails until ingest checks lengths.
[b] no SOP Class UID.
[c] no SOP Instance UID.
[d] the data set cannot be parsed (undefined lengths in mixed byte orders).
[e] encapsulated Pixel Data without its Sequence Delimitation Item. Today this file is
    stored, and neither pydicom nor DCMTK can read the stored copy: the test fails.
[f] stored, re-encoded: implicit VR written under JPEG Baseline.
[g] pixel data that does not fill Rows x Columns (or is empty) is kept as it came.

Several malformed files share SOP Instance UIDs with each other (the rtdose
family, the two ExplVR files); the first to arrive is kept.
"""

from __future__ import annotations

import collections
import io
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments
from pynetdicom import AE

from conftest import CORPUS, corpus_rows, make_settings, require_tool, run_dcmtk
from vesalius import sopclasses
from vesalius.app import Node
from vesalius.archive.archive import Archive
from vesalius.storage.filesystem import FilesystemBlobStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

VESALIUS = Path(sys.executable).parent / "vesalius"
REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
UNCOMPRESSED = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2")
ITEM = b"\xfe\xff\x00\xe0"
PIXEL_DATA = 0x7FE00010
TRAILING_PADDING = 0xFFFCFFFC
SENDERS = 6

STORED, REFUSED, SENDER_REFUSES = "stored", "refused", "sender refuses"

MALFORMED: dict[str, tuple[str, str]] = {
    "dcm4che/test-data/3gb-bulk-data-truncated": (SENDER_REFUSES, REFUSED),
    "dcm4che/test-data/NM-MONO2-16-13x-heart": (STORED, STORED),
    "dcm4che/test-data/no_preamble_dicm_in_data": (SENDER_REFUSES, REFUSED),
    "dicomParser/deflate/wave_dfl": (STORED, STORED),
    "fo-dicom/CR-MONO1-10-chest": (STORED, STORED),
    "fo-dicom/CR-ModalitySequenceLUT.dcm": (STORED, STORED),
    "fo-dicom/GH1146.dcm": (STORED, STORED),
    "fo-dicom/GH1376.dcm": (SENDER_REFUSES, STORED),
    "fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm": (STORED, REFUSED),
    "highdicom/sm_image_dots.dcm": (STORED, STORED),
    "highdicom/sm_image_grayscale.dcm": (STORED, STORED),
    "nibabel/0.dcm": (STORED, STORED),
    "nibabel/1.dcm": (STORED, STORED),
    "nibabel/csa_slice_norm.dcm": (STORED, STORED),
    "orthanc-tests/2026-05-26-oob-monochrome-65535.dcm": (STORED, STORED),
    "orthanc-tests/TransferSyntaxes/1.2.840.10008.1.2.dcm": (STORED, STORED),
    "pydicom/charset_files/chrJapMulti.dcm": (STORED, STORED),
    "pydicom/charset_files/chrJapMultiExplicitIR6.dcm": (STORED, STORED),
    "pydicom/test_files/ExplVR_BigEndNoMeta.dcm": (STORED, STORED),
    "pydicom/test_files/ExplVR_LitEndNoMeta.dcm": (STORED, STORED),
    "pydicom/test_files/SC_rgb_jpeg.dcm": (SENDER_REFUSES, STORED),
    "pydicom/test_files/badVR.dcm": (STORED, STORED),
    "pydicom/test_files/meta_missing_tsyntax.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom/test_files/nested_priv_SQ.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom/test_files/no_meta.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom/test_files/rtdose_1frame.dcm": (STORED, STORED),
    "pydicom/test_files/rtdose_expb_1frame.dcm": (STORED, STORED),
    "pydicom/test_files/rtplan.dcm": (STORED, STORED),
    "pydicom-data/JLSL_RGB_ILV0.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom-data/JLSL_RGB_ILV1.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom-data/JLSL_RGB_ILV2.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom-data/JLSN_RGB_ILV0.dcm": (SENDER_REFUSES, REFUSED),
    "pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm": (SENDER_REFUSES, REFUSED),
    "pylibjpeg-data/JPEG2000/ELSCINT1_JP2vsJ2K.dcm": (STORED, STORED),
    "pylibjpeg-data/JPEGLossless/JPEGLossless_1s_1f_i_16_16_bad.dcm": (STORED, STORED),
    "pynetdicom/CTImageStorage_bad_meta.dcm": (STORED, STORED),
    "pynetdicom/RTImageStorage.dcm": (STORED, STORED),
}
"""Malformed corpus file -> (outcome over C-STORE from storescu, outcome of ``vesalius import``)."""


# -- what a file is -----------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """What the test needs to know of a corpus file before sending it."""

    uids: dict[str, str]
    transfer_syntax: str

    @property
    def complete(self) -> bool:
        """True when the four UIDs an archive files an instance by are all there."""
        return all(self.uids.get(keyword) for keyword in REQUIRED)

    @property
    def registered(self) -> bool:
        """True when the SOP class is one the archive's registry stores."""
        return sopclasses.is_storage_sop_class(self.uids.get("SOPClassUID", ""))


def _uid(value: object) -> str:
    return str(value or "").strip(" \x00")


DUMPED = re.compile(r"^\((?P<tag>[0-9a-f]{4},[0-9a-f]{4})\) UI \[(?P<value>[^\]]*)\]")
DUMP_TAGS = {
    "0008,0016": "SOPClassUID",
    "0008,0018": "SOPInstanceUID",
    "0020,000d": "StudyInstanceUID",
    "0020,000e": "SeriesInstanceUID",
    "0002,0010": "TransferSyntaxUID",
}


def _header_from_dcmdump(relative: str) -> Header:
    """The header as DCMTK reads it, for the few files pydicom cannot read at all."""
    searches = [argument for tag in DUMP_TAGS for argument in ("+P", tag)]
    result = run_dcmtk("dcmdump", "-q", "-Un", "-s", *searches, str(CORPUS / relative))
    found = {}
    for line in result.stdout.splitlines():
        if (match := DUMPED.match(line)) is not None:
            found.setdefault(DUMP_TAGS[match.group("tag")], _uid(match.group("value")))
    syntax = found.pop("TransferSyntaxUID", "")
    return Header({keyword: found.get(keyword, "") for keyword in REQUIRED}, syntax)


@cache
def header_of(relative: str) -> Header:
    """The UIDs and transfer syntax of a corpus file, as pydicom (else DCMTK) reads them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(CORPUS / relative, force=True, stop_before_pixels=True)
            uids = {keyword: _uid(ds.get(keyword)) for keyword in REQUIRED}
            syntax = _uid(ds.file_meta.get("TransferSyntaxUID")) if "file_meta" in dir(ds) else ""
    except Exception:
        return _header_from_dcmdump(relative)
    return Header(uids, syntax)


def read_full(path: Path | bytes) -> Dataset:
    """A whole data set, pixel data included, read by pydicom (leniently for odd files)."""
    source: Path | io.BytesIO = path if isinstance(path, Path) else io.BytesIO(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(source)
        except Exception:
            if not isinstance(path, Path):
                source.seek(0)
            return pydicom.dcmread(source, force=True)


# -- sending -------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to one corpus file on its way in."""

    sender: str
    status: int | None = None
    """The C-STORE response status, or None when no response came."""
    comment: str = ""
    refused_by: str = ""
    """'', 'sender', 'negotiation' or 'aborted'."""
    detail: str = ""
    attempts: list[str] = field(default_factory=list)

    @property
    def category(self) -> str:
        """stored, refused or sender refuses (see the module docstring)."""
        if self.status == 0:
            return STORED
        if self.status is not None or self.refused_by == "negotiation":
            return REFUSED
        if self.refused_by == "sender":
            return SENDER_REFUSES
        return f"server failure: {self.detail}"


def _storescu_profile(header: Header, folder: Path, name: str) -> list[str]:
    """storescu options proposing the file's own syntax alone, then the uncompressed ones."""
    sop_class = header.uids.get("SOPClassUID", "")
    if not sop_class:
        return ["-R"]
    lines = ["[[TransferSyntaxes]]"]
    contexts = []
    if header.transfer_syntax:
        lines += ["[Own]", f"TransferSyntax1 = {header.transfer_syntax}"]
        contexts.append(f"{sop_class}\\Own")
    lines.append("[Uncompressed]")
    lines += [f"TransferSyntax{n} = {uid}" for n, uid in enumerate(UNCOMPRESSED, 1)]
    contexts.append(f"{sop_class}\\Uncompressed")
    lines += ["", "[[PresentationContexts]]", "[Contexts]"]
    lines += [f"PresentationContext{n} = {context}" for n, context in enumerate(contexts, 1)]
    lines += ["", "[[Profiles]]", "[Send]", "PresentationContexts = Contexts", ""]
    config = folder / f"{name}.cfg"
    config.write_text("\n".join(lines), encoding="ascii")
    return ["-xf", str(config), "Send"]


STATUS = re.compile(r"DIMSE Status\s*:\s*0x([0-9a-fA-F]{4})")
COMMENT = re.compile(r"\(0000,0902\) LO \[(.*)\]")


def send_with_storescu(relative: str, port: int, folder: Path, number: int) -> Outcome:
    """One association from DCMTK's storescu carrying one corpus file."""
    header = header_of(relative)
    options = _storescu_profile(header, folder, f"p{number}")
    result = run_dcmtk("storescu", "-d", *options, "-aec", "VESALIUS", "127.0.0.1", str(port),
        str(CORPUS / relative), timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    outcome = Outcome("storescu")
    problems = [line for line in output.splitlines() if line[:2] in ("E:", "F:")]
    outcome.detail = " | ".join(problems)[:300]
    if (found := STATUS.search(output)) is not None:
        outcome.status = int(found.group(1), 16)
        if (comment := COMMENT.search(output)) is not None:
            outcome.comment = comment.group(1).strip()
    elif "Peer aborted Association" in output:
        outcome.refused_by = "aborted"
    elif "No Acceptable Presentation Contexts" in output or "No presentation context" in output:
        outcome.refused_by = "negotiation"
    else:
        outcome.refused_by = "sender"
    outcome.attempts.append(f"storescu: {outcome.category} {outcome.detail}")
    return outcome


def send_with_pynetdicom(relative: str, port: int) -> Outcome:
    """One association from a bare pynetdicom SCU, for valid files DCMTK 3.6.7 will not send."""
    header = header_of(relative)
    ds = read_full(CORPUS / relative)
    outcome = Outcome("pynetdicom")
    ae = AE(ae_title="PYNETDICOM")
    # The file's own syntax in a context of its own, else the acceptor may pick another.
    if header.transfer_syntax and header.transfer_syntax not in UNCOMPRESSED:
        ae.add_requested_context(header.uids["SOPClassUID"], [header.transfer_syntax])
    ae.add_requested_context(header.uids["SOPClassUID"], list(UNCOMPRESSED))
    assoc = ae.associate("127.0.0.1", port, ae_title="VESALIUS")
    if not assoc.is_established:
        outcome.refused_by = "negotiation" if assoc.is_rejected else "aborted"
        outcome.detail = "association not established"
        return outcome
    try:
        answer = assoc.send_c_store(ds)
    except Exception as error:
        outcome.refused_by = "sender"
        outcome.detail = f"pynetdicom could not send it: {error}"
        return outcome
    finally:
        if assoc.is_established:
            assoc.release()
    if "Status" in answer:
        outcome.status = int(answer.Status)
        outcome.comment = str(answer.get("ErrorComment", ""))
    else:
        outcome.refused_by = "aborted"
        outcome.detail = "no C-STORE response (association aborted)"
    return outcome


def expected_to_store(relative: str, valid: str) -> bool:
    """A valid file the archive must store: all four UIDs and a registered SOP class."""
    header = header_of(relative)
    return valid == "yes" and header.complete and header.registered


def worth_a_second_sender(relative: str, valid: str) -> bool:
    """A valid file pynetdicom can send (SOP Class and Instance UIDs, a registered class)."""
    header = header_of(relative)
    return (
        valid == "yes"
        and header.registered
        and bool(header.uids.get("SOPInstanceUID"))
        and bool(header.transfer_syntax)
    )


@dataclass
class CorpusRun:
    """The node after the corpus went in, and what happened to each file."""

    node: Node
    outcomes: dict[str, Outcome]
    valid: dict[str, str]


def _sendable_rows() -> list[dict[str, str]]:
    return [row for row in corpus_rows() if row["valid"] in ("yes", "malformed")]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    """Send the corpus once to one node; yield the node (still running) and the outcomes."""
    if not (CORPUS / "MANIFEST.csv").is_file():
        pytest.skip(f"the shared corpus is missing at {CORPUS}")
    require_tool("storescu")
    rows = _sendable_rows()
    folder = tmp_path_factory.mktemp("storescu")
    settings = make_settings(tmp_path_factory.mktemp("node") / "data")
    with Node(settings) as node:
        port = node.dicom_port
        with ThreadPoolExecutor(SENDERS) as pool:
            futures = {
                row["path"]: pool.submit(send_with_storescu, row["path"], port, folder, number)
                for number, row in enumerate(rows)
            }
            outcomes = {path: future.result() for path, future in futures.items()}
        for row in rows:
            outcome = outcomes[row["path"]]
            if worth_a_second_sender(row["path"], row["valid"]) and outcome.refused_by == "sender":
                retry = send_with_pynetdicom(row["path"], port)
                retry.attempts = [*outcome.attempts, f"pynetdicom: {retry.category} {retry.detail}"]
                outcomes[row["path"]] = retry
        yield CorpusRun(node, outcomes, {row["path"]: row["valid"] for row in rows})


# -- comparing -----------------------------------------------------------------------------------


def _same_pixels(original: bytes, stored: bytes) -> bool:
    if original == stored:
        return True
    if original[:4] != ITEM or stored[:4] != ITEM:
        return False
    try:
        before, after = list(generate_fragments(original)), list(generate_fragments(stored))
    except Exception:
        return False
    return len(before) == len(after) and all(
        b == a or (len(a) % 2 == 1 and b == a + b"\x00") for a, b in zip(before, after, strict=True)
    )


def differences(original: Dataset, stored: Dataset, where: str = "") -> list[str]:
    """How the stored data set differs from the original, sender normalisations aside."""
    found: list[str] = []
    keys = sorted(
        {
            tag
            for tag in (*original.keys(), *stored.keys())
            if tag.group != 0x0002 and tag.element != 0x0000 and tag != TRAILING_PADDING
        }
    )
    for tag in keys:
        if tag not in original or tag not in stored:
            found.append(f"{where}{tag} only in {'original' if tag in original else 'stored'}")
            continue
        before, after = original[tag], stored[tag]
        if tag == PIXEL_DATA:
            if not _same_pixels(before.value or b"", after.value or b""):
                found.append(f"{where}{tag} pixel data bytes differ")
            continue
        if before.VR == "SQ" and after.VR == "SQ":
            if len(before.value) != len(after.value):
                found.append(f"{where}{tag} has {len(after.value)} items, not {len(before.value)}")
                continue
            for number, (item, copy) in enumerate(zip(before.value, after.value, strict=True)):
                found += differences(item, copy, f"{where}{tag}[{number}].")
            continue
        if before != after:
            found.append(
                f"{where}{tag} {before.VR} {before.value!r:.60} -> {after.VR} {after.value!r:.60}"
            )
    return found


def as_dcmtk_reads_it(relative: str, folder: Path) -> Dataset:
    """The data set as DCMTK parses it (written out again by dcmconv, same transfer syntax).

    For the few files whose non-standard encoding pydicom and DCMTK read differently,
    this, not pydicom's reading, is what storescu put on the wire.
    """
    converted = folder / "as-dcmtk-reads-it.dcm"
    result = run_dcmtk("dcmconv", "-q", str(CORPUS / relative), str(converted))
    assert result.returncode == 0, result.stderr
    return read_full(converted)


def read_back(archive: Archive, uid: str) -> bytes:
    """The stored file of an instance."""
    with archive.open_instance(uid) as handle:
        return handle.read()


def dcmdump_problems(data: bytes, folder: Path, name: str) -> str:
    """DCMTK's verdict on a stored file: '' when it reads the whole file."""
    path = folder / name
    path.write_bytes(data)
    result = run_dcmtk("dcmdump", "-q", "+E", str(path), timeout=60)
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "E:" in line]
    return "" if result.returncode == 0 and not errors else " | ".join(errors) or "dcmdump failed"


def uids_of(ds: Dataset) -> dict[str, str]:
    """The four UIDs of a data set, without padding."""
    return {keyword: _uid(ds.get(keyword)) for keyword in REQUIRED}


def assert_reads_back(archive: Archive, relative: str, folder: Path) -> None:
    """Stored in a form that reads back: pydicom gives the UIDs, DCMTK reads it whole."""
    header = header_of(relative)
    data = read_back(archive, header.uids["SOPInstanceUID"])
    stored = read_full(data)
    assert uids_of(stored)["SOPInstanceUID"] == header.uids["SOPInstanceUID"]
    siblings = [uids_of_file(other) for other in same_instance(relative)]
    assert uids_of(stored) in siblings, "stored UIDs are not those of any file with this instance"
    problems = dcmdump_problems(data, folder, relative.replace("/", "_"))
    assert problems == "", f"DCMTK cannot read the stored file: {problems}"


@cache
def uids_of_file(relative: str) -> dict[str, str]:
    """The four UIDs of a corpus file."""
    return dict(header_of(relative).uids)


@cache
def instance_groups() -> dict[str, tuple[str, ...]]:
    """Corpus files by SOP Instance UID."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for row in _sendable_rows():
        uid = header_of(row["path"]).uids.get("SOPInstanceUID", "")
        if uid:
            groups[uid].append(row["path"])
    return {uid: tuple(paths) for uid, paths in groups.items()}


def stored_siblings(run: CorpusRun, relative: str) -> list[str]:
    """Other corpus files with the same SOP Instance UID that the node answered success to."""
    return [
        other
        for other in same_instance(relative)
        if other != relative and run.outcomes.get(other, Outcome("")).category == STORED
    ]


def same_instance(relative: str) -> tuple[str, ...]:
    """The corpus files that carry the same SOP Instance UID (the file itself included)."""
    uid = header_of(relative).uids.get("SOPInstanceUID", "")
    return instance_groups().get(uid, (relative,))


# -- tests ----------------------------------------------------------------------------------------


def test_echoscu_succeeds(corpus_run: CorpusRun) -> None:
    result = run_dcmtk("echoscu", "-aec", "VESALIUS", "127.0.0.1", str(corpus_run.node.dicom_port))
    assert result.returncode == 0, result.stdout + result.stderr


def _valid_paths() -> list[str]:
    return sorted(row["path"] for row in corpus_rows() if row["valid"] == "yes") or ["(none)"]


@pytest.mark.parametrize("relative", _valid_paths())
def test_valid_file(corpus_run: CorpusRun, relative: str, tmp_path: Path) -> None:
    if relative not in corpus_run.outcomes:
        pytest.skip("not in this corpus")
    outcome = corpus_run.outcomes[relative]
    header = header_of(relative)
    trail = " / ".join(outcome.attempts)
    assert not outcome.category.startswith("server failure"), trail

    uid = header.uids.get("SOPInstanceUID", "")
    if not header.complete or not header.registered:
        if not header.complete:
            assert outcome.category in (REFUSED, SENDER_REFUSES), trail
            if outcome.status is not None:
                assert outcome.status == 0xC000, trail
                missing = [keyword for keyword in REQUIRED if not header.uids.get(keyword)]
                assert any(keyword in outcome.comment for keyword in missing), outcome.comment
        else:
            assert outcome.category == REFUSED, trail
            assert outcome.refused_by == "negotiation", trail
        if uid and not stored_siblings(corpus_run, relative):
            assert corpus_run.node.archive.index.instance(uid) is None
        return
    if outcome.category == SENDER_REFUSES and outcome.sender == "pynetdicom":
        pytest.skip(f"neither DCMTK nor pynetdicom can send this file: {trail}")

    assert outcome.category == STORED, f"{trail} | {outcome.comment}"
    data = read_back(corpus_run.node.archive, header.uids["SOPInstanceUID"])
    stored = read_full(data)
    reports = {}
    for sibling in [relative, *stored_siblings(corpus_run, relative)]:
        reports[sibling] = differences(read_full(CORPUS / sibling), stored)
        if not reports[sibling]:
            return
        if corpus_run.outcomes[sibling].sender == "storescu":
            as_sent = as_dcmtk_reads_it(sibling, tmp_path)
            if not differences(as_sent, stored):
                return
    pytest.fail(f"stored copy differs from {relative} (and its siblings): {reports}")


@pytest.mark.parametrize(
    "relative",
    sorted(MALFORMED),
    ids=[f"{path}:{MALFORMED[path][0]}" for path in sorted(MALFORMED)],
)
def test_malformed_file_over_c_store(corpus_run: CorpusRun, relative: str, tmp_path: Path) -> None:
    if relative not in corpus_run.outcomes:
        pytest.skip("not in this corpus")
    outcome = corpus_run.outcomes[relative]
    expected = MALFORMED[relative][0]
    assert outcome.category == expected, " / ".join(outcome.attempts)
    if expected == STORED:
        assert_reads_back(corpus_run.node.archive, relative, tmp_path)


def test_every_malformed_corpus_file_is_in_the_table(corpus_run: CorpusRun) -> None:
    malformed = {path for path, valid in corpus_run.valid.items() if valid == "malformed"}
    assert malformed == set(MALFORMED)


def test_node_alive_and_index_and_blobs_agree(corpus_run: CorpusRun) -> None:
    """The whole corpus has gone in (the fixture sends it before any test runs)."""
    node = corpus_run.node
    result = run_dcmtk("echoscu", "-aec", "VESALIUS", "127.0.0.1", str(node.dicom_port))
    assert result.returncode == 0, result.stdout + result.stderr
    archive = node.archive
    indexed = archive.index.all_blob_names()
    on_disk = set(archive.blobs.names())
    assert indexed, "nothing was stored"
    assert indexed - on_disk == set(), "indexed instances without their file"
    assert on_disk - indexed == set(), "files without an index row"
    assert isinstance(archive.blobs, FilesystemBlobStore)
    assert list(archive.blobs.journal_dir.iterdir()) == []
    stored = sum(1 for outcome in corpus_run.outcomes.values() if outcome.category == STORED)
    distinct = {
        header_of(path).uids["SOPInstanceUID"]
        for path, outcome in corpus_run.outcomes.items()
        if outcome.category == STORED
    }
    assert archive.index.counts()["instances"] == len(distinct) <= stored


# -- vesalius import ---------------------------------------------------------------------------


def _valid_folder() -> str:
    """The corpus folder holding the most files, all valid and storable."""
    by_folder: dict[str, list[dict[str, str]]] = collections.defaultdict(list)
    for row in corpus_rows():
        by_folder[str(Path(row["path"]).parent)].append(row)
    candidates = [
        (len(rows), folder)
        for folder, rows in by_folder.items()
        if all(expected_to_store(row["path"], row["valid"]) for row in rows)
    ]
    return max(candidates)[1]


REJECTED_LINE = re.compile(r"^\s*rejected\s+(?P<label>\S.*?): (?P<reason>.+)$")


@dataclass
class ImportRun:
    """One ``vesalius import`` of the malformed files and a folder of valid ones."""

    result: subprocess.CompletedProcess[str]
    data_dir: Path
    folder: str
    valid_files: list[str]
    rejected: dict[str, str]


@pytest.fixture(scope="module")
def import_run(tmp_path_factory: pytest.TempPathFactory) -> ImportRun:
    """Run ``vesalius import`` once, from the corpus folder, with relative paths."""
    if not (CORPUS / "MANIFEST.csv").is_file():
        pytest.skip(f"the shared corpus is missing at {CORPUS}")
    malformed = sorted(path for path in MALFORMED if (CORPUS / path).is_file())
    folder = _valid_folder()
    valid_files = sorted(
        row["path"] for row in corpus_rows() if str(Path(row["path"]).parent) == folder
    )
    data_dir = tmp_path_factory.mktemp("import") / "archive"
    result = subprocess.run(
        [str(VESALIUS), "import", "--data-dir", str(data_dir), *malformed, folder],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=CORPUS,
    )
    rejected = {}
    for line in result.stdout.splitlines():
        if (found := REJECTED_LINE.match(line)) is not None:
            rejected[found.group("label")] = found.group("reason")
    return ImportRun(result, data_dir, folder, valid_files, rejected)


def test_import_exits_2_and_lists_each_rejected_file(import_run: ImportRun) -> None:
    output = import_run.result.stdout + import_run.result.stderr
    assert "Traceback" not in output
    assert import_run.result.returncode == 2, output
    assert import_run.rejected, output
    assert all(reason.strip() for reason in import_run.rejected.values())
    assert not any(label.startswith(import_run.folder) for label in import_run.rejected)


@pytest.mark.parametrize(
    "relative",
    sorted(MALFORMED),
    ids=[f"{path}:{MALFORMED[path][1]}" for path in sorted(MALFORMED)],
)
def test_malformed_file_imported(import_run: ImportRun, relative: str, tmp_path: Path) -> None:
    expected = MALFORMED[relative][1]
    if expected == REFUSED:
        assert relative in import_run.rejected, "stored, not rejected"
        return
    assert relative not in import_run.rejected, import_run.rejected.get(relative)
    archive = Archive.open(make_settings(import_run.data_dir))
    try:
        assert_reads_back(archive, relative, tmp_path)
    finally:
        archive.close()


def test_imported_folder_reads_back_and_is_listed(import_run: ImportRun, tmp_path: Path) -> None:
    archive = Archive.open(make_settings(import_run.data_dir))
    try:
        for relative in import_run.valid_files:
            assert relative not in import_run.rejected
            assert_reads_back(archive, relative, tmp_path)
            stored = read_full(read_back(archive, header_of(relative).uids["SOPInstanceUID"]))
            assert differences(read_full(CORPUS / relative), stored) == []
        counts = archive.index.counts()
    finally:
        archive.close()
    studies = {uids_of_file(path)["StudyInstanceUID"] for path in import_run.valid_files}

    listing = subprocess.run(
        [str(VESALIUS), "ls", "--data-dir", str(import_run.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert listing.returncode == 0, listing.stderr
    assert (
        f"{counts['patients']} patients, {counts['studies']} studies, "
        f"{counts['series']} series, {counts['instances']} instances"
    ) in listing.stdout
    for study in studies:
        assert study[:30] in listing.stdout
    assert f" {len(import_run.valid_files)} " in listing.stdout
