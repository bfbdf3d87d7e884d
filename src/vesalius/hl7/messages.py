"""Messages out: acknowledgements of what we receive, and completion messages to the RIS.

``acknowledgement`` answers a received message: MSA-1 AA, or AE / AR with
MSA-3 and an ERR segment that names the problem (ERR-1 in the v2.3 form
segment^sequence^field^code&text, ERR-2/3/4/8 in the v2.5 form), so that
either kind of RIS reads it. ``rejection`` answers bytes that are no HL7
message at all. ``completion_message`` tells the RIS that a procedure step
ended: ORM^O01 with ORC-1 SC and ORC-5 CM (completed) or DC (discontinued),
or ORU^R01 with OBR-25 F or X and one OBX of text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Sequence
from typing import Any

import hl7

from vesalius.hl7.orders import ERROR_TEXT, Hl7Problem, get, segment
from vesalius.settings import Hl7Settings

VERSION = "2.5"
_COUNTER = itertools.count(1)


def control_id() -> str:
    """A message control ID unique to this process and moment (at most 20 characters)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%y%m%d%H%M%S")
    return f"V{stamp}{os.getpid() % 1000:03d}{next(_COUNTER) % 10000:04d}"


def now() -> str:
    """The current time as an HL7 DTM."""
    return dt.datetime.now().strftime("%Y%m%d%H%M%S")


def escape(value: Any) -> str:
    """A value with HL7's delimiters escaped (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\), carriage
    returns and newlines dropped."""
    text = str(value or "").replace("\r", " ").replace("\n", " ")
    text = text.replace("\\", "\\E\\")
    for char, name in (("|", "F"), ("^", "S"), ("&", "T"), ("~", "R")):
        text = text.replace(char, f"\\{name}\\")
    return text


def components(*values: Any) -> str:
    """Components joined by ``^``, each escaped; trailing empty ones dropped."""
    return "^".join(escape(v) for v in values).rstrip("^")


def segment_text(name: str, fields: Sequence[str]) -> str:
    """A segment from already-encoded fields (index 0 is field 1)."""
    return "|".join((name, *fields)).rstrip("|")


def header(
    settings: Hl7Settings,
    message_type: str,
    *,
    receiver: tuple[str, str] | None = None,
    version: str = VERSION,
    message_id: str | None = None,
) -> str:
    """An MSH segment from us (``[hl7] application`` and ``facility``)."""
    to_application, to_facility = receiver or (settings.ris_application, settings.ris_facility)
    fields = [
        "^~\\&",
        escape(settings.application),
        escape(settings.facility),
        escape(to_application),
        escape(to_facility),
        now(),
        "",
        message_type,
        message_id or control_id(),
        "P",
        version,
        "",
        "",
        "",
        "",
        "",
        "UNICODE UTF-8",
    ]
    return "MSH|" + "|".join(fields)


def acknowledgement(
    message: hl7.Message, settings: Hl7Settings, problem: Hl7Problem | None = None
) -> str:
    """The ACK of a received message: AA, or the AE / AR and ERR of ``problem``."""
    msh = segment(message, "MSH")
    code = "AA" if problem is None else problem.ack
    _, event = get(msh, 9, 1), get(msh, 9, 2)
    lines = [
        header(
            settings,
            f"ACK^{escape(event)}^ACK",
            receiver=(get(msh, 3), get(msh, 4)),
            version=get(msh, 12) or VERSION,
        ),
        segment_text("MSA", [code, escape(get(msh, 10)), escape(problem) if problem else ""]),
    ]
    if problem is not None:
        lines.append(_err(problem))
    return "\r".join(lines) + "\r"


def rejection(settings: Hl7Settings, text: str, code: int = 100) -> str:
    """The answer to a frame that holds no readable HL7 message: an ACK with MSA-1 AR."""
    problem = Hl7Problem("AR", code, text)
    lines = [
        header(settings, "ACK", receiver=("", "")),
        segment_text("MSA", ["AR", "", escape(text)]),
        _err(problem),
    ]
    return "\r".join(lines) + "\r"


def _err(problem: Hl7Problem) -> str:
    name, number = problem.location or ("", 0)
    reason = ERROR_TEXT.get(problem.code, "Error")
    where = components(name, "1" if name else "", str(number) if number else "")
    old_style = "^".join(
        (escape(name), "1" if name else "", str(number) if number else "",
         f"{problem.code}&{escape(reason)}&HL70357")
    )  # fmt: skip
    return segment_text(
        "ERR",
        [
            old_style,
            where,
            components(problem.code, reason, "HL70357"),
            "E",
            "",
            "",
            "",
            escape(problem),
        ],
    )


def completion_message(params: dict[str, Any], settings: Hl7Settings) -> tuple[str, str]:
    """The message that tells the RIS a step ended (``archive.completion`` params), and its
    control ID."""
    order, step = params["order"], params["step"]
    message_id = control_id()
    completed = step["PerformedProcedureStepStatus"] == "COMPLETED"
    end = step["PerformedProcedureStepEndDate"] + step["PerformedProcedureStepEndTime"]
    pid = segment_text(
        "PID",
        [
            "1",
            "",
            components(order.get("PatientID", ""), "", "", order.get("IssuerOfPatientID", "")),
            "",
            _name(order.get("PatientName", "")),
            "",
            escape(order.get("PatientBirthDate", "")),
            escape(order.get("PatientSex", "")),
        ],
    )
    placer = escape(order.get("PlacerOrderNumberImagingServiceRequest", ""))
    filler = escape(order.get("FillerOrderNumberImagingServiceRequest", ""))
    procedure = components("", order.get("RequestedProcedureDescription", ""))
    obr = [""] * 25
    obr[0], obr[1], obr[2], obr[3] = "1", placer, filler, procedure
    obr[6] = escape(
        step["PerformedProcedureStepStartDate"] + step["PerformedProcedureStepStartTime"]
    )
    obr[7] = escape(end)
    obr[17] = escape(order.get("AccessionNumber", ""))
    obr[18] = escape(order.get("RequestedProcedureID", ""))
    obr[19] = escape(order.get("ScheduledProcedureStepID", ""))
    obr[23] = escape(step.get("Modality") or order.get("Modality", ""))
    if settings.completion_message == "ORU":
        obr[24] = "F" if completed else "X"
        text = f"Procedure step {step['PerformedProcedureStepStatus']} ({step['SOPInstanceUID']})"
        lines = [
            header(settings, "ORU^R01^ORU_R01", message_id=message_id),
            pid,
            segment_text("ORC", ["RE", placer, filler, "", "CM" if completed else "DC"]),
            segment_text("OBR", obr),
            segment_text("OBX", ["1", "TX", components("", "Procedure step"), "", escape(text),
                                 "", "", "", "", "", "F"]),
        ]  # fmt: skip
    else:
        lines = [
            header(settings, "ORM^O01^ORM_O01", message_id=message_id),
            pid,
            segment_text("ORC", ["SC", placer, filler, "", "CM" if completed else "DC"]),
            segment_text("OBR", obr),
        ]
    study = order.get("StudyInstanceUID", "")
    if study:
        lines.append(
            segment_text("ZDS", [components(study, settings.application, "Application", "DICOM")])
        )
    return "\r".join(lines) + "\r", message_id


def _name(pn: str) -> str:
    """A DICOM PN (family^given^middle^prefix^suffix) as an XPN
    (family^given^middle^suffix^prefix)."""
    parts = (pn.split("=", maxsplit=1)[0].split("^") + [""] * 5)[:5]
    family, given, middle, prefix, suffix = parts
    return components(family, given, middle, suffix, prefix)


def acknowledged(answer: str) -> tuple[bool, str]:
    """Whether an answer acknowledges a message (MSA-1 AA or CA), and why not."""
    try:
        parsed = hl7.parse(answer.replace("\n", "\r"))
    except Exception as exc:
        return False, f"unreadable acknowledgement ({exc})"
    msa = segment(parsed, "MSA")
    if msa is None:
        return False, "the acknowledgement has no MSA segment"
    code = get(msa, 1)
    if code in ("AA", "CA"):
        return True, ""
    reason = get(msa, 3) or get(segment(parsed, "ERR"), 8) or "no reason given"
    return False, f"{code or 'no code'}: {reason}"
