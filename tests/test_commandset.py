"""Command sets encode to the same bytes as pydicom writes them."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dimse_messages import C_FIND_RSP, C_MOVE_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_FIND, C_MOVE, C_STORE
from pynetdicom.dsutils import encode

from vesalius.dimse.commandset import encode_command_set


def _store_request() -> Dataset:
    primitive = C_STORE()
    primitive.MessageID = 7
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    primitive.AffectedSOPInstanceUID = "1.2.3.4.5"
    primitive.Priority = 2
    primitive.MoveOriginatorApplicationEntityTitle = "ORIGIN"
    primitive.MoveOriginatorMessageID = 3
    message = C_STORE_RQ()
    message.primitive_to_message(primitive)
    return message.command_set


def _store_response() -> Dataset:
    primitive = C_STORE()
    primitive.MessageIDBeingRespondedTo = 7
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    primitive.AffectedSOPInstanceUID = "1.2.3.4.5"
    primitive.Status = 0xA700
    primitive.ErrorComment = "out of space"
    message = C_STORE_RSP()
    message.primitive_to_message(primitive)
    return message.command_set


def _move_response() -> Dataset:
    primitive = C_MOVE()
    primitive.MessageIDBeingRespondedTo = 1
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.2"
    primitive.Status = 0xFF00
    primitive.NumberOfRemainingSuboperations = 97
    primitive.NumberOfCompletedSuboperations = 2
    primitive.NumberOfFailedSuboperations = 1
    primitive.NumberOfWarningSuboperations = 0
    message = C_MOVE_RSP()
    message.primitive_to_message(primitive)
    return message.command_set


def _find_response() -> Dataset:
    primitive = C_FIND()
    primitive.MessageIDBeingRespondedTo = 4
    primitive.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.2.2.1"
    primitive.Status = 0xA900
    primitive.OffendingElement = [0x00100010, 0x00080020]
    message = C_FIND_RSP()
    message.primitive_to_message(primitive)
    return message.command_set


@pytest.mark.parametrize("build", [_store_request, _store_response, _move_response, _find_response])
def test_same_bytes_as_pydicom(build: object) -> None:
    command_set = build()  # type: ignore[operator]
    assert encode_command_set(command_set) == encode(command_set, True, True)
