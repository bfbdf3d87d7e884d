"""Messages sent as bytes carry what pynetdicom would have sent, byte for byte."""

from __future__ import annotations

import csv
from io import BytesIO
from pathlib import Path

import pytest
from pynetdicom.dimse_messages import C_GET_RSP, C_MOVE_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_GET, C_MOVE, C_STORE
from pynetdicom.dsutils import split_dataset

from conftest import CORPUS
from vesalius.dimse.messages import encode_message, split_part10

MESSAGE_OF = {"C_STORE_RQ": C_STORE_RQ, "C_STORE_RSP": C_STORE_RSP}


def pynetdicom_bytes(primitive: object, message_class: type) -> tuple[bytes, bytes | None]:
    """Command and data set as pynetdicom's own message encoder fragments them."""
    message = message_class()
    message.primitive_to_message(primitive)
    command, dataset = b"", None
    for pdata in message.encode_msg(1, 0):
        for _context, value in pdata.presentation_data_value_list:
            if value[0] & 1:
                command += value[1:]
            else:
                dataset = (dataset or b"") + value[1:]
    return command, dataset


def store_request(path: Path | None = None) -> C_STORE:
    primitive = C_STORE()
    primitive.MessageID = 7
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    primitive.AffectedSOPInstanceUID = "1.2.3.4.5"
    primitive.Priority = 2
    primitive.MoveOriginatorApplicationEntityTitle = "ORIGIN"
    primitive.MoveOriginatorMessageID = 3
    if path is None:
        primitive.DataSet = BytesIO(b"\x08\x00\x16\x00\x02\x00\x00\x001\x00")
    else:
        primitive._dataset_path = (path, split_dataset(path)[1])  # as send_c_store sets it
    return primitive


def store_response(status: int, comment: str | None) -> C_STORE:
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = 7
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    primitive.AffectedSOPInstanceUID = "1.2.3.4.5"
    primitive.Status = status
    primitive.ErrorComment = comment
    return primitive


def retrieve_response(kind: type, status: int, identifier: bytes | None) -> C_MOVE | C_GET:
    primitive = kind()
    primitive.MessageIDBeingRespondedTo = 1
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.2"
    primitive.Status = status
    primitive.NumberOfRemainingSuboperations = 97 if status == 0xFF00 else None
    primitive.NumberOfCompletedSuboperations = 2
    primitive.NumberOfFailedSuboperations = 1
    primitive.NumberOfWarningSuboperations = 0
    if identifier is not None:
        primitive.Identifier = BytesIO(identifier)
    return primitive


MR01 = CORPUS / "dcm4che/MR-series/MR01.dcm"
FAILED_UIDS = b"\x08\x00\x58\x00\x0a\x00\x00\x001.2.3.4.5\x00"


@pytest.mark.parametrize(
    ("primitive", "message_class"),
    [
        (store_request(), C_STORE_RQ),
        (store_request(MR01), C_STORE_RQ),
        (store_response(0x0000, None), C_STORE_RSP),
        (store_response(0xA700, "out of space"), C_STORE_RSP),
        (retrieve_response(C_MOVE, 0xFF00, None), C_MOVE_RSP),
        (retrieve_response(C_GET, 0xB000, FAILED_UIDS), C_GET_RSP),
    ],
)
def test_same_bytes_as_pynetdicom(primitive: object, message_class: type) -> None:
    assert encode_message(primitive) == pynetdicom_bytes(primitive, message_class)


def test_offending_element_is_left_to_pynetdicom() -> None:
    primitive = store_response(0xC000, None)
    primitive.OffendingElement = [0x00100010]
    assert encode_message(primitive) is None


def corpus_files() -> list[Path]:
    with (CORPUS / "MANIFEST.csv").open(encoding="utf-8") as manifest:
        return [CORPUS / row["path"] for row in csv.DictReader(manifest)]


@pytest.mark.filterwarnings("ignore::UserWarning")  # the corpus holds invalid UIDs on purpose
def test_meta_split_agrees_with_pynetdicom() -> None:
    """Every corpus file: same UIDs and data set offset, or pynetdicom's own answer."""
    compared = 0
    for path in corpus_files():
        try:
            expected_meta, expected_offset = split_dataset(path)
        except Exception:
            continue
        meta, offset = split_part10(path)
        assert offset == expected_offset, path
        for keyword in ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID"):
            assert meta.get(keyword) == expected_meta.get(keyword), (path, keyword)
        assert meta.get("TransferSyntaxUID") == expected_meta.get("TransferSyntaxUID"), path
        compared += 1
    assert compared > 300
