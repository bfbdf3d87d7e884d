"""HL7 orders in over MLLP: the ``hl7`` package's MLLP client sends ORM^O01 and OMI^O23
messages (good, incomplete and malformed) to a node's listener; the ACKs and the
worklist are checked."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest
from hl7.client import MLLPClient

from conftest import make_settings
from vesalius.app import Node
from vesalius.archive import worklist

pytestmark = pytest.mark.both_databases


def seg(name: str, fields: dict[int, str]) -> str:
    """A segment with its fields by number (1-based), the others empty."""
    return "|".join([name] + [fields.get(n, "") for n in range(1, max(fields) + 1)])


def msh(message_type: str, control_id: str, version: str = "2.3.1") -> str:
    return (
        f"MSH|^~\\&|RIS|HOSP|VESALIUS|RAD|20240101120000||{message_type}|{control_id}|P|{version}"
    )


def orm(
    control: str = "NW",
    placer: str = "PO1",
    *,
    patient_id: str = "PID001",
    name: str = "MÜLLER^HANS^P",
    procedure: str = "CTHEAD^CT head without contrast^LOCAL",
    when: str = "202403151030",
    control_id: str = "MSG1",
    extra: tuple[str, ...] = (),
) -> str:
    segments = [
        msh("ORM^O01", control_id),
        seg("PID", {1: "1", 3: f"{patient_id}^^^HOSP^MR", 5: name, 7: "19700102", 8: "M"}),
        seg("PV1", {1: "1", 2: "O", 3: "RAD^R1^B2", 8: "D123^WELBY^MARCUS", 19: "V77"}),
        seg("ORC", {1: control, 2: placer, 3: f"F-{placer}", 5: "SC", 12: "D9^HOUSE^GREG"}),
        seg(
            "OBR",
            {
                1: "1",
                2: placer,
                3: f"F-{placer}",
                4: procedure,
                5: "S",
                18: f"ACC-{placer}",
                19: f"RP-{placer}",
                20: f"SPS-{placer}",
                21: "CT_ROOM1",
                24: "CT",
                31: "^headache",
                36: when,
            },
        ),
        *extra,
    ]
    return "\r".join(segments) + "\r"


def ack_of(reply: bytes) -> hl7.Message:
    text = reply.decode("utf-8").strip("\x0b\x1c\r")
    return hl7.parse(text)


def msa(reply: bytes) -> tuple[str, str]:
    message = ack_of(reply)
    return str(message.segment("MSA")(1)), str(message.segment("MSA")(2))


@pytest.fixture
def hl7_node(tmp_path: Path) -> Iterator[Node]:
    settings = make_settings(tmp_path / "data", hl7={"enabled": True, "port": 0})
    with Node(settings) as node:
        yield node


def items(node: Node) -> list[dict[str, str]]:
    rows, _total = worklist.listing(node.archive)
    return [row.fields for row in rows]


def test_new_order_becomes_a_worklist_item_with_the_mapped_fields(hl7_node: Node) -> None:
    zds = seg("ZDS", {1: "1.2.826.0.1.99.7^RIS^Application^DICOM"})
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        reply = client.send_message(orm(extra=(zds,)))
    assert msa(reply) == ("AA", "MSG1")
    assert ack_of(reply).segment("MSH")(9)(0)(0)[0] == "ACK"
    [item] = items(hl7_node)
    assert item["PatientID"] == "PID001" and item["IssuerOfPatientID"] == "HOSP"
    assert item["PatientName"] == "MÜLLER^HANS^P"
    assert item["PatientBirthDate"] == "19700102" and item["PatientSex"] == "M"
    assert item["AccessionNumber"] == "ACC-PO1"
    assert item["RequestedProcedureID"] == "RP-PO1"
    assert item["ScheduledProcedureStepID"] == "SPS-PO1"
    assert item["ScheduledStationAETitle"] == "CT_ROOM1"
    assert item["Modality"] == "CT"
    assert item["ScheduledProcedureStepStartDate"] == "20240315"
    assert item["ScheduledProcedureStepStartTime"] == "1030"
    assert item["RequestedProcedureDescription"] == "CT head without contrast"
    assert item["RequestedProcedurePriority"] == "STAT"
    assert item["ReferringPhysicianName"] == "WELBY^MARCUS"
    assert item["RequestingPhysician"] == "HOUSE^GREG"
    assert item["ReasonForTheRequestedProcedure"] == "headache"
    assert item["AdmissionID"] == "V77"
    assert item["StudyInstanceUID"] == "1.2.826.0.1.99.7"
    assert item["PlacerOrderNumberImagingServiceRequest"] == "PO1"
    assert item["ScheduledProcedureStepStatus"] == "SCHEDULED"


def test_study_instance_uid_is_assigned_when_the_order_has_none(hl7_node: Node) -> None:
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        assert msa(client.send_message(orm(placer="A")))[0] == "AA"
        assert msa(client.send_message(orm(placer="B", control_id="MSG2")))[0] == "AA"
    uids = [item["StudyInstanceUID"] for item in items(hl7_node)]
    assert len(set(uids)) == 2 and all(uid.startswith("1.2.") for uid in uids)


def test_change_updates_and_cancel_removes_the_item(hl7_node: Node) -> None:
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        assert msa(client.send_message(orm()))[0] == "AA"
        changed = orm("XO", procedure="CTCHEST^CT chest^LOCAL", when="202403161400")
        assert msa(client.send_message(changed.replace("MSG1", "MSG2"))) == ("AA", "MSG2")
        [item] = items(hl7_node)
        assert item["RequestedProcedureDescription"] == "CT chest"
        assert item["ScheduledProcedureStepStartDate"] == "20240316"
        assert item["PatientName"] == "MÜLLER^HANS^P"  # kept
        assert msa(client.send_message(orm("CA", control_id="MSG3")))[0] == "AA"
    assert items(hl7_node) == []


def test_discontinue_marks_the_item(hl7_node: Node) -> None:
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        client.send_message(orm())
        assert msa(client.send_message(orm("DC", control_id="MSG2")))[0] == "AA"
    [item] = items(hl7_node)
    assert item["ScheduledProcedureStepStatus"] == "DISCONTINUED"


def test_omi_o23_with_ipc_segment(hl7_node: Node) -> None:
    message = "\r".join(
        [
            msh("OMI^O23^OMI_O23", "OMI1", "2.5"),
            seg("PID", {1: "1", 3: "P77^^^HOSP", 5: "ROE^JANE"}),
            seg("ORC", {1: "NW", 2: "PO9", 3: "FO9"}),
            seg("TQ1", {1: "1", 7: "20240401081500", 9: "R"}),
            seg("OBR", {1: "1", 2: "PO9", 3: "FO9", 4: "MRKNEE^MR knee^LOCAL"}),
            seg(
                "IPC",
                {
                    1: "ACC9",
                    2: "RP9",
                    3: "1.2.826.0.1.99.9",
                    4: "SPS9",
                    5: "MR",
                    7: "MR1",
                    8: "ROOM 3",
                    9: "MR_AE",
                },
            ),
        ]
    )
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        assert msa(client.send_message(message)) == ("AA", "OMI1")
    [item] = items(hl7_node)
    assert (item["AccessionNumber"], item["RequestedProcedureID"]) == ("ACC9", "RP9")
    assert item["StudyInstanceUID"] == "1.2.826.0.1.99.9"
    assert (item["Modality"], item["ScheduledStationAETitle"]) == ("MR", "MR_AE")
    assert item["ScheduledStationName"] == "MR1"
    assert item["ScheduledProcedureStepLocation"] == "ROOM 3"
    assert item["ScheduledProcedureStepStartDate"] == "20240401"
    assert item["ScheduledProcedureStepStartTime"] == "081500"
    assert item["RequestedProcedurePriority"] == "ROUTINE"


def err_fields(reply: bytes) -> tuple[str, str]:
    err = ack_of(reply).segment("ERR")
    return str(err(2)), str(err(3)(0)(0)[0])


def test_incomplete_order_answers_ae_naming_the_field(hl7_node: Node) -> None:
    incomplete = orm().replace("PID001^^^HOSP^MR", "")
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        reply = client.send_message(incomplete)
    assert msa(reply) == ("AE", "MSG1")
    location, code = err_fields(reply)
    assert location == "PID^1^3" and code == "101"
    assert "PID-3" in str(ack_of(reply).segment("MSA")(3))
    assert items(hl7_node) == []


def test_change_of_an_unknown_order_answers_ae_unknown_key(hl7_node: Node) -> None:
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        reply = client.send_message(orm("XO", placer="NOPE"))
    assert msa(reply)[0] == "AE"
    assert err_fields(reply)[1] == "204"


def test_other_message_types_and_controls_are_refused(hl7_node: Node) -> None:
    adt = "\r".join([msh("ADT^A01", "ADT1"), seg("PID", {1: "1", 3: "X", 5: "A^B"})])
    with MLLPClient("127.0.0.1", hl7_node.hl7_port) as client:
        reply = client.send_message(adt)
        assert msa(reply) == ("AR", "ADT1")
        assert err_fields(reply)[1] == "200"
        reply = client.send_message(orm("ZZ"))
        assert msa(reply)[0] == "AE" and err_fields(reply) == ("ORC^1^1", "103")
        reply = client.send_message(orm().replace("|2.3.1", "|3.0"))
        assert msa(reply)[0] == "AR" and err_fields(reply)[1] == "203"
    assert items(hl7_node) == []


def closed_without_answer(raw: socket.socket, data: bytes) -> bool:
    """Send ``data``; True when the peer closes the connection without a byte of answer."""
    try:
        raw.sendall(data)
        return raw.recv(100) == b""
    except (BrokenPipeError, ConnectionResetError):
        return True


def test_malformed_framing_does_not_kill_the_listener(hl7_node: Node) -> None:
    port = hl7_node.hl7_port
    with MLLPClient("127.0.0.1", port) as client:
        # noise before a frame, then a frame that is no HL7, then a good order: each answered
        reply = client.send(b"noise without frame\r\n\x0bthis is not HL7\x1c\x0d")
        assert msa(reply)[0] == "AR"
        assert msa(client.send_message(orm())) == ("AA", "MSG1")
    # a sender that leaves mid-frame, and one that sends a frame too large
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(b"\x0bMSH|^~\\&|RIS|HOSP|VES|RAD|2024||ORM^O01|X")
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.settimeout(20)
        assert closed_without_answer(raw, b"\x0b" + b"A" * (5 * 1024 * 1024))
    with MLLPClient("127.0.0.1", port) as client:
        reply = client.send_message(orm(placer="PO2", control_id="MSG9"))
    assert msa(reply) == ("AA", "MSG9")
    assert len(items(hl7_node)) == 2


def test_listener_is_off_unless_enabled(tmp_path: Path) -> None:
    with Node(make_settings(tmp_path / "data")) as node:
        assert node.hl7 is None
        with pytest.raises(RuntimeError):
            _ = node.hl7_port
