"""The client side of Query/Retrieve: C-FIND, C-MOVE and C-GET toward a remote AE.

C-GET receives the instances on its own association, so it must propose a
storage presentation context, with the SCP role (PS3.7 D.3.3.4), for every
SOP class that may come back, and an association holds at most 128 contexts.
The choice, in order:

1. the SOP classes that a C-FIND at IMAGE level reports for the same keys
   (SOP Class UID as a return key), when the peer answers it;
2. otherwise ``COMMON_STORAGE_CLASSES``: the image, document and structured
   report classes that archives hold most, about forty.

Each class gets one context with the uncompressed little-endian syntaxes,
then as many single-syntax contexts of common compressed syntaxes as the
128 allow, so that a peer that cannot transcode still finds the syntax its
files are stored in. Sub-operations the peer still cannot send are counted
as failed, never lost silently.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pynetdicom import build_context, build_role, evt
from pynetdicom.events import Event
from pynetdicom.status import (
    QR_FIND_SERVICE_CLASS_STATUS,
    QR_GET_SERVICE_CLASS_STATUS,
    QR_MOVE_SERVICE_CLASS_STATUS,
)

from vesalius import sopclasses
from vesalius.dimse.scu import (
    LITTLE_ENDIAN,
    MAX_CONTEXTS,
    ScuError,
    Target,
    client_ae,
    open_association,
)

LOG = logging.getLogger("vesalius.dimse.scu")

SUCCESS = 0x0000
CANCEL = 0xFE00
WARNING = 0xB000
PENDING = (0xFF00, 0xFF01)
OUT_OF_RESOURCES = 0xA702

_MODEL_UID = {
    ("patient", "find"): sopclasses.PATIENT_ROOT_FIND,
    ("patient", "move"): sopclasses.PATIENT_ROOT_MOVE,
    ("patient", "get"): sopclasses.PATIENT_ROOT_GET,
    ("study", "find"): sopclasses.STUDY_ROOT_FIND,
    ("study", "move"): sopclasses.STUDY_ROOT_MOVE,
    ("study", "get"): sopclasses.STUDY_ROOT_GET,
}

COMMON_STORAGE_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image - For Processing
    "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  # Digital Mammography X-Ray Image - For Processing
    "1.2.840.10008.5.1.4.1.1.1.3",  # Digital Intra-Oral X-Ray Image - For Presentation
    "1.2.840.10008.5.1.4.1.1.13.1.3",  # Breast Tomosynthesis Image
    "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image
    "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
    "1.2.840.10008.5.1.4.1.1.12.1",  # X-Ray Angiographic Image
    "1.2.840.10008.5.1.4.1.1.12.2",  # X-Ray Radiofluoroscopic Image
    "1.2.840.10008.5.1.4.1.1.20",  # Nuclear Medicine Image
    "1.2.840.10008.5.1.4.1.1.128",  # Positron Emission Tomography Image
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image
    "1.2.840.10008.5.1.4.1.1.481.1",  # RT Image
    "1.2.840.10008.5.1.4.1.1.481.2",  # RT Dose
    "1.2.840.10008.5.1.4.1.1.481.3",  # RT Structure Set
    "1.2.840.10008.5.1.4.1.1.481.5",  # RT Plan
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.66.1",  # Spatial Registration
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.59",  # Key Object Selection Document
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic Image
    "1.2.840.10008.5.1.4.1.1.77.1.1",  # VL Endoscopic Image
    "1.2.840.10008.5.1.4.1.1.77.1.5.1",  # Ophthalmic Photography 8 Bit Image
    "1.2.840.10008.5.1.4.1.1.66",  # Raw Data
    "1.2.840.10008.5.1.4.1.1.9.1.1",  # 12-lead ECG Waveform
)
"""Storage SOP classes proposed for C-GET when the peer does not say which it holds."""

COMMON_COMPRESSED_SYNTAXES: tuple[str, ...] = (
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.80",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.51",  # JPEG Extended
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS near-lossless
    "1.2.840.10008.1.2.1.99",  # Deflated explicit VR little endian
)
"""Compressed syntaxes proposed, each in its own context, in this order while room is left."""


class QueryFailed(ScuError):
    """The peer answered the request with a failure status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def model_uid(model: str, service: str, level: str) -> str:
    """The Q/R SOP class for a model and service; PATIENT level implies patient root."""
    if level.upper() == "PATIENT":
        model = "patient"
    try:
        return _MODEL_UID[(model, service)]
    except KeyError:
        raise ScuError(f"unknown information model {model!r} (patient or study)") from None


def describe_status(code: int, service: str) -> str:
    """``A801 (Move destination unknown)``: the code and what the standard calls it."""
    table = {
        "find": QR_FIND_SERVICE_CLASS_STATUS,
        "move": QR_MOVE_SERVICE_CLASS_STATUS,
        "get": QR_GET_SERVICE_CLASS_STATUS,
    }[service]
    known = table.get(code)
    if known is None and 0xA700 <= code <= 0xA7FF:
        known = ("Failure", "Out of resources")
    if known is None and 0xC000 <= code <= 0xCFFF:
        known = ("Failure", "Unable to process")
    return f"{code:04X} ({known[1]})" if known and known[1] else f"{code:04X}"


def _failure(target: Target, service: str, status: Dataset) -> QueryFailed:
    code = int(status.Status)
    comment = str(status.get("ErrorComment", "")).strip()
    message = f"{target} answered C-{service.upper()} with status {describe_status(code, service)}"
    return QueryFailed(f"{message}: {comment}" if comment else message, code)


def find(target: Target, identifier: Dataset, model: str = "study") -> list[Dataset]:
    """C-FIND: every match the peer returns. ``QueryFailed`` on a failure status."""
    sop_class = model_uid(model, "find", str(identifier.QueryRetrieveLevel))
    assoc = open_association(client_ae(target.calling_aet), target, [build_context(sop_class)])
    matches: list[Dataset] = []
    try:
        for status, match in assoc.send_c_find(identifier, sop_class):
            if "Status" not in status:
                raise ScuError(f"{target} did not answer the C-FIND (aborted or timed out)")
            code = int(status.Status)
            if code in PENDING:
                if match is not None:
                    matches.append(match)
            elif code in (SUCCESS, CANCEL):
                break
            else:
                raise _failure(target, "find", status)
    finally:
        if assoc.is_established:
            assoc.release()
    return matches


@dataclass(slots=True)
class RetrieveReport:
    """Sub-operation counts of a C-MOVE or C-GET, as the peer reported them last."""

    remaining: int | None = None
    completed: int = 0
    failed: int = 0
    warning: int = 0
    status: int | None = None
    comment: str = ""
    received: list[str] = field(default_factory=list)
    """SOP Instance UIDs stored here (C-GET only)."""
    refused: list[tuple[str, str]] = field(default_factory=list)
    """Instances we could not store (C-GET only), with the reason."""

    @property
    def total(self) -> int | None:
        """All sub-operations, once the peer has said how many remain."""
        if self.remaining is None:
            return None
        return self.remaining + self.completed + self.failed + self.warning

    def update(self, status: Dataset) -> None:
        """Take the counts that a (pending or final) response carries."""
        for attribute, name in (
            ("NumberOfRemainingSuboperations", "remaining"),
            ("NumberOfCompletedSuboperations", "completed"),
            ("NumberOfFailedSuboperations", "failed"),
            ("NumberOfWarningSuboperations", "warning"),
        ):
            value = status.get(attribute)
            if value is not None and value != "":
                setattr(self, name, int(value))


Progress = Callable[[RetrieveReport], None]


def _collect(
    target: Target, service: str, responses: object, report: RetrieveReport, progress: Progress
) -> RetrieveReport:
    for status, _identifier in responses:  # type: ignore[attr-defined]
        if "Status" not in status:
            raise ScuError(
                f"{target} did not answer the C-{service.upper()} (aborted or timed out)"
            )
        code = int(status.Status)
        report.update(status)
        if code in PENDING:
            progress(report)
            continue
        report.status = code
        report.comment = str(status.get("ErrorComment", "")).strip()
        if report.remaining is not None and code in (SUCCESS, WARNING):
            report.remaining = 0
        progress(report)
        break
    return report


def move(
    target: Target,
    identifier: Dataset,
    destination: str,
    model: str = "study",
    progress: Progress = lambda _report: None,
) -> RetrieveReport:
    """C-MOVE to ``destination``; the report holds the final status and counts."""
    sop_class = model_uid(model, "move", str(identifier.QueryRetrieveLevel))
    assoc = open_association(client_ae(target.calling_aet), target, [build_context(sop_class)])
    try:
        responses = assoc.send_c_move(identifier, destination, sop_class)
        return _collect(target, "move", responses, RetrieveReport(), progress)
    finally:
        if assoc.is_established:
            assoc.release()


Receiver = Callable[[str, str, str, bytes], None]
"""``receive(sop_class_uid, sop_instance_uid, transfer_syntax_uid, data_set_bytes)``."""


def storage_contexts(classes: list[str], room: int) -> list:
    """Contexts for receiving these classes: uncompressed first, compressed while room is left."""
    classes = classes[:room]
    contexts = [build_context(c, list(LITTLE_ENDIAN)) for c in classes]
    extra = min(len(COMMON_COMPRESSED_SYNTAXES), (room - len(classes)) // max(len(classes), 1))
    for syntax in COMMON_COMPRESSED_SYNTAXES[:extra]:
        contexts.extend(build_context(c, [syntax]) for c in classes)
    return contexts


def classes_to_get(target: Target, identifier: Dataset, model: str) -> list[str]:
    """The storage classes a C-GET should be ready for (see the module docstring)."""
    probe = copy.deepcopy(identifier)
    probe.QueryRetrieveLevel = "IMAGE"
    for keyword in ("SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"):
        if keyword not in probe:
            setattr(probe, keyword, "")
    try:
        found = {str(m.get("SOPClassUID", "")) for m in find(target, probe, model)}
    except ScuError as exc:
        LOG.info("no SOP classes from a C-FIND at IMAGE level (%s): proposing common ones", exc)
        found = set()
    found = {uid for uid in found if sopclasses.is_storage_sop_class(uid)}
    if not found:
        return list(COMMON_STORAGE_CLASSES)
    return sorted(found)


def get(
    target: Target,
    identifier: Dataset,
    receive: Receiver,
    model: str = "study",
    progress: Progress = lambda _report: None,
    classes: list[str] | None = None,
) -> RetrieveReport:
    """C-GET: each instance that arrives goes to ``receive``; a failure there fails it alone."""
    sop_class = model_uid(model, "get", str(identifier.QueryRetrieveLevel))
    if classes is None:
        classes = classes_to_get(target, identifier, model)
    contexts = [build_context(sop_class), *storage_contexts(classes, MAX_CONTEXTS - 1)]
    roles = [build_role(uid, scp_role=True) for uid in classes[: MAX_CONTEXTS - 1]]
    report = RetrieveReport()

    def on_store(event: Event) -> int:
        request = event.request
        instance = str(request.AffectedSOPInstanceUID)
        try:
            receive(
                str(request.AffectedSOPClassUID),
                instance,
                str(event.context.transfer_syntax),
                request.DataSet.getvalue(),
            )
        except Exception as exc:
            LOG.warning("could not store %s: %s", instance, exc)
            report.refused.append((instance, str(exc)))
            return OUT_OF_RESOURCES
        report.received.append(instance)
        return SUCCESS

    assoc = open_association(
        client_ae(target.calling_aet),
        target,
        contexts,
        ext_neg=roles,
        handlers=[(evt.EVT_C_STORE, on_store)],
    )
    try:
        responses = assoc.send_c_get(identifier, sop_class)
        return _collect(target, "get", responses, report, progress)
    finally:
        if assoc.is_established:
            assoc.release()
