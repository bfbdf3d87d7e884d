"""Orders in: ORM^O01 (v2.3 to 2.5) and OMI^O23 messages as worklist fields.

``read_order`` parses one message with the ``hl7`` package and returns an
``Order``: the order control (NW new, XO change, CA cancel, DC discontinue),
the placer and filler order numbers that identify the order, and the flat
worklist fields (``model.worklist``) the message carries. A message that is
not an order, or that lacks what an item needs, raises ``Hl7Problem`` with
the acknowledgement code (AR reject, AE error), the HL7 error code of table
0357 and the field at fault, so that the ACK can name it.

The mapping (docs/workflow.md has it as a table):

- PID-3 (first repetition) ID and assigning authority: PatientID, IssuerOfPatientID;
  PID-5: PatientName (family^given^middle^prefix^suffix); PID-7: PatientBirthDate;
  PID-8: PatientSex (M, F, O);
- PV1-3: CurrentPatientLocation; PV1-8: ReferringPhysicianName; PV1-19: AdmissionID;
- ORC-1: order control; ORC-2 / ORC-3 (else OBR-2 / OBR-3): placer and filler order
  numbers; ORC-12 (else OBR-16): RequestingPhysician;
- OBR-4 text (else code): RequestedProcedureDescription and ScheduledProcedureStepDescription;
  OBR-5 / ORC-7.6 priority: RequestedProcedurePriority; OBR-18: AccessionNumber;
  OBR-19: RequestedProcedureID; OBR-20: ScheduledProcedureStepID; OBR-21:
  ScheduledStationAETitle; OBR-24: Modality; OBR-31: ReasonForTheRequestedProcedure;
  OBR-34 (technician): ScheduledPerformingPhysicianName; scheduled start from OBR-36,
  else OBR-27.4, else ORC-7.4, else TQ1-7: ScheduledProcedureStepStartDate and Time;
- ZDS-1: StudyInstanceUID (IHE); IPC (OMI^O23): IPC-1 AccessionNumber, IPC-2
  RequestedProcedureID, IPC-3 StudyInstanceUID, IPC-4 ScheduledProcedureStepID,
  IPC-5 Modality, IPC-7 ScheduledStationName, IPC-8 ScheduledProcedureStepLocation,
  IPC-9 ScheduledStationAETitle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hl7

ORDER_MESSAGES = {("ORM", "O01"), ("OMI", "O23")}
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
CONTROLS = ("NW", "XO", "CA", "DC")
PRIORITIES = {"S": "STAT", "A": "HIGH", "R": "ROUTINE", "P": "MEDIUM", "T": "MEDIUM"}
SEXES = ("M", "F", "O")

REQUIRED_FIELD_MISSING = 101
TABLE_VALUE_NOT_FOUND = 103
UNSUPPORTED_MESSAGE_TYPE = 200
UNSUPPORTED_EVENT_CODE = 201
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
INTERNAL_ERROR = 207
ERROR_TEXT = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    207: "Application internal error",
}
"""HL7 table 0357, message error condition codes."""


class Hl7Problem(Exception):
    """A message we do not act on: ``ack`` code (AR or AE), table 0357 ``code``, and the
    ``location`` at fault (segment, field) when there is one."""

    def __init__(
        self, ack: str, code: int, text: str, location: tuple[str, int] | None = None
    ) -> None:
        super().__init__(text)
        self.ack = ack
        self.code = code
        self.location = location


@dataclass(frozen=True, slots=True)
class Order:
    """What one order message asks: its control code, the order's numbers, the fields."""

    control: str
    placer: str
    filler: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def number(self) -> str:
        """The order number to name it by."""
        return self.placer or self.filler


def get(segment: hl7.Segment | None, number: int, component: int = 1, repetition: int = 1) -> str:
    """Field ``number`` (component, repetition) of a segment, unescaped; "" when absent."""
    if segment is None:
        return ""
    try:
        value = segment.extract_field(1, number, repetition, component, 1)
    except (IndexError, KeyError):
        return ""
    return str(value).strip()


def segment(message: hl7.Message, name: str) -> hl7.Segment | None:
    """The first segment called ``name``, or None."""
    try:
        return message.segment(name)
    except KeyError:
        return None


def date_and_time(value: str) -> tuple[str, str]:
    """An HL7 DTM/TS (``YYYYMMDDHHMM[SS[.S+]][+ZZZZ]``) as a DICOM date and time."""
    stamp = value.split("^", maxsplit=1)[0].split("+", maxsplit=1)[0].split("-", maxsplit=1)[0]
    return stamp[:8], stamp[8:]


def person_name(xpn: hl7.Segment | None, number: int, offset: int = 0) -> str:
    """An XPN (or, with ``offset`` 1, an XCN after its ID) as a DICOM PN:
    family^given^middle^prefix^suffix."""
    family, given, middle, suffix, prefix = (
        get(xpn, number, offset + index) for index in range(1, 6)
    )
    return "^".join((family, given, middle, prefix, suffix)).rstrip("^")


def message_type(message: hl7.Message) -> tuple[str, str]:
    """MSH-9: message code and trigger event."""
    msh = segment(message, "MSH")
    return get(msh, 9, 1), get(msh, 9, 2)


def read_order(message: hl7.Message) -> Order:
    """The order an ORM^O01 or OMI^O23 message carries; ``Hl7Problem`` when there is none."""
    msh = segment(message, "MSH")
    code, event = message_type(message)
    if (code, event) not in ORDER_MESSAGES:
        error = UNSUPPORTED_MESSAGE_TYPE if code not in ("ORM", "OMI") else UNSUPPORTED_EVENT_CODE
        raise Hl7Problem("AR", error, f"{code}^{event} is not an order we take", ("MSH", 9))
    version = get(msh, 12)
    if version and not any(version == v or version.startswith(v + ".") for v in VERSIONS):
        raise Hl7Problem("AR", UNSUPPORTED_VERSION, f"HL7 version {version}", ("MSH", 12))
    orc, obr = segment(message, "ORC"), segment(message, "OBR")
    pid, pv1 = segment(message, "PID"), segment(message, "PV1")
    for name, present in (("PID", pid), ("ORC", orc), ("OBR", obr)):
        if present is None:
            raise Hl7Problem("AE", REQUIRED_FIELD_MISSING, f"no {name} segment", (name, 0))
    control = get(orc, 1)
    if control not in CONTROLS:
        text = f"order control {control or '(empty)'} is not one of {', '.join(CONTROLS)}"
        raise Hl7Problem("AE", TABLE_VALUE_NOT_FOUND, text, ("ORC", 1))
    placer = get(orc, 2) or get(obr, 2)
    filler = get(orc, 3) or get(obr, 3)
    if not placer and not filler:
        raise Hl7Problem(
            "AE", REQUIRED_FIELD_MISSING, "no placer or filler order number", ("ORC", 2)
        )
    fields = {
        "PlacerOrderNumberImagingServiceRequest": placer,
        "FillerOrderNumberImagingServiceRequest": filler,
    }
    if control in ("NW", "XO"):
        fields.update(_patient(pid, pv1))
        fields.update(_procedure(orc, obr, segment(message, "TQ1")))
        fields.update(_imaging(segment(message, "ZDS"), segment(message, "IPC")))
        if control == "NW":
            _require(fields)
    return Order(control, placer, filler, {k: v for k, v in fields.items() if v})


def _require(fields: dict[str, str]) -> None:
    for keyword, where in (("PatientID", ("PID", 3)), ("PatientName", ("PID", 5))):
        if not fields.get(keyword):
            text = f"{where[0]}-{where[1]} ({keyword}) is missing"
            raise Hl7Problem("AE", REQUIRED_FIELD_MISSING, text, where)
    if not fields.get("RequestedProcedureDescription"):
        raise Hl7Problem(
            "AE", REQUIRED_FIELD_MISSING, "OBR-4 (universal service ID) is missing", ("OBR", 4)
        )


def _patient(pid: hl7.Segment | None, pv1: hl7.Segment | None) -> dict[str, str]:
    sex = get(pid, 8).upper()
    return {
        "PatientID": get(pid, 3),
        "IssuerOfPatientID": get(pid, 3, 4),
        "PatientName": person_name(pid, 5),
        "PatientBirthDate": get(pid, 7)[:8],
        "PatientSex": sex if sex in SEXES else "",
        "CurrentPatientLocation": " ".join(
            part for part in (get(pv1, 3, n) for n in range(1, 4)) if part
        ),
        "ReferringPhysicianName": person_name(pv1, 8, offset=1),
        "AdmissionID": get(pv1, 19),
    }


def _procedure(
    orc: hl7.Segment | None, obr: hl7.Segment | None, tq1: hl7.Segment | None
) -> dict[str, str]:
    description = get(obr, 4, 2) or get(obr, 4, 1)
    start = get(obr, 36) or get(obr, 27, 4) or get(orc, 7, 4) or get(tq1, 7)
    date, time = date_and_time(start)
    priority = get(obr, 5) or get(orc, 7, 6) or get(tq1, 9)
    return {
        "RequestingPhysician": person_name(orc, 12, offset=1) or person_name(obr, 16, offset=1),
        "RequestedProcedureDescription": description,
        "ScheduledProcedureStepDescription": description,
        "RequestedProcedurePriority": PRIORITIES.get(priority.upper()[:1], ""),
        "AccessionNumber": get(obr, 18),
        "RequestedProcedureID": get(obr, 19),
        "ScheduledProcedureStepID": get(obr, 20),
        "ScheduledStationAETitle": get(obr, 21),
        "Modality": get(obr, 24),
        "ReasonForTheRequestedProcedure": get(obr, 31, 2) or get(obr, 31),
        "ScheduledPerformingPhysicianName": person_name(obr, 34),
        "ScheduledProcedureStepStartDate": date,
        "ScheduledProcedureStepStartTime": time,
    }


def _imaging(zds: hl7.Segment | None, ipc: hl7.Segment | None) -> dict[str, str]:
    found = {"StudyInstanceUID": get(zds, 1)}
    if ipc is not None:
        found.update(
            {
                "AccessionNumber": get(ipc, 1),
                "RequestedProcedureID": get(ipc, 2),
                "StudyInstanceUID": get(ipc, 3) or found["StudyInstanceUID"],
                "ScheduledProcedureStepID": get(ipc, 4),
                "Modality": get(ipc, 5),
                "ScheduledStationName": get(ipc, 7),
                "ScheduledProcedureStepLocation": get(ipc, 8),
                "ScheduledStationAETitle": get(ipc, 9),
            }
        )
    return {k: v for k, v in found.items() if v}
