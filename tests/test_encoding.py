"""Answers encoded straight to bytes equal pydicom's encoding, and frame into valid PDUs."""

from __future__ import annotations

from typing import Any

import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom.pdu import P_DATA_TF

from vesalius.archive.query import Answer
from vesalius.dimse.pdata import frame
from vesalius.model.encoding import encode_elements

ANSWER: dict[int, tuple[str, Any]] = {
    0x00100010: ("PN", "Müller^Hans=ミュラー"),
    0x00080005: ("CS", "ISO_IR 192"),
    0x0020000D: ("UI", "1.2.3.4.5"),  # odd length: padded with NUL
    0x00080061: ("CS", ["CT", "MR"]),
    0x00201208: ("IS", "17"),
    0x00081030: ("LO", None),
    0x00280010: ("US", 512),
    0x0040A730: ("SQ", []),
    0x00400275: (
        "SQ",
        [{0x00080050: ("SH", "ACC1"), 0x00401001: ("SH", None), 0x00321060: ("LO", "Kopf")}],
    ),
    0x00080052: ("CS", "STUDY"),
}


def pydicom_bytes(answer: Answer, implicit_vr: bool) -> bytes:
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, implicit_vr
    write_dataset(buffer, answer.dataset())
    return buffer.getvalue()


@pytest.mark.parametrize("implicit_vr", [True, False])
@pytest.mark.parametrize(
    ("charset", "name"),
    [(("ISO_IR 192",), "Müller^Hans=ミュラー"), (("ISO_IR 100",), "Müller^Hans"), (("",), "DOE^J")],
)
def test_direct_encoding_equals_pydicom(
    implicit_vr: bool, charset: tuple[str, ...], name: str
) -> None:
    elements = {**ANSWER, 0x00100010: ("PN", name), 0x00080005: ("CS", charset[0])}
    answer = Answer(elements, charset)
    direct = encode_elements(elements, charset, implicit_vr)
    assert direct is not None
    assert direct == pydicom_bytes(answer, implicit_vr)
    assert answer.encode(implicit_vr) == direct


def test_code_extensions_are_left_to_pydicom() -> None:
    charset = ("ISO 2022 IR 6", "ISO 2022 IR 87")
    elements = {
        0x00080005: ("CS", list(charset)),
        0x00100010: ("PN", "Yamada^Tarou=山田^太郎"),
    }
    assert encode_elements(elements, charset, True) is None
    answer = Answer(elements, charset)
    encoded = answer.encode(True)
    assert encoded == pydicom_bytes(answer, True)
    assert b"\x1b$B" in encoded  # the JIS X 0208 escape sequence


def test_what_does_not_fit_is_left_to_pydicom() -> None:
    assert encode_elements({0x00100010: ("PN", "山田")}, ("ISO_IR 100",), True) is None
    assert encode_elements({0x00091001: ("OB", b"\x00\x01")}, ("",), True) is None


def pdus(stream: bytes) -> list[P_DATA_TF]:
    decoded, offset = [], 0
    while offset < len(stream):
        assert stream[offset] == 0x04
        length = int.from_bytes(stream[offset + 2 : offset + 6], "big")
        pdu = P_DATA_TF()
        pdu.decode(stream[offset : offset + 6 + length])
        decoded.append(pdu)
        offset += 6 + length
    return decoded


@pytest.mark.parametrize("max_pdu", [0, 16, 17, 64, 1000])
def test_frames_fragment_within_the_peer_maximum(max_pdu: int) -> None:
    command, dataset = bytes(range(40)), bytes(range(100, 200))
    decoded = pdus(frame(5, command, dataset, max_pdu))
    pdvs = [item for pdu in decoded for item in pdu.presentation_data_value_items]
    for pdu in decoded:
        if max_pdu:
            assert pdu.pdu_length <= max_pdu
        assert len(pdu.presentation_data_value_items) == 1
    assert all(item.presentation_context_id == 5 for item in pdvs)
    controls = [item.presentation_data_value[0] for item in pdvs]
    data = [item.presentation_data_value[1:] for item in pdvs]
    commands = [c for c in controls if c & 1]
    assert commands[-1] == 0x03 and all(c == 0x01 for c in commands[:-1])
    assert controls[len(commands) :][-1] == 0x02
    assert all(c == 0x00 for c in controls[len(commands) : -1])
    assert b"".join(data[: len(commands)]) == command
    assert b"".join(data[len(commands) :]) == dataset


def test_empty_data_set_still_gets_its_last_fragment() -> None:
    (command, last) = pdus(frame(1, b"\x00" * 8, b"", 100))
    assert command.presentation_data_value_items[0].presentation_data_value[0] == 0x03
    assert last.presentation_data_value_items[0].presentation_data_value == b"\x02"
