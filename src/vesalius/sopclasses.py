"""The one registry of SOP classes and transfer syntaxes that Vesalius accepts and offers.

The DIMSE server builds its presentation contexts from here, the conformance
statement lists what is here, and the tests iterate over it. Storage SOP
classes come from pydicom's UID registry, so a new pydicom brings new classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom._uid_dict import UID_dictionary
from pydicom.uid import UID

VERIFICATION = UID("1.2.840.10008.1.1")

IMPLICIT_VR_LE = UID("1.2.840.10008.1.2")
EXPLICIT_VR_LE = UID("1.2.840.10008.1.2.1")
EXPLICIT_VR_BE = UID("1.2.840.10008.1.2.2")
DEFLATED_EXPLICIT_VR_LE = UID("1.2.840.10008.1.2.1.99")


@dataclass(frozen=True, slots=True)
class TransferSyntax:
    """A transfer syntax we receive and store as it is."""

    uid: str
    name: str
    compressed: bool


def _ts(uid: str, name: str, *, compressed: bool = True) -> TransferSyntax:
    return TransferSyntax(uid, name, compressed)


# Uncompressed first: they are the ones every peer can read.
UNCOMPRESSED_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = (
    _ts(EXPLICIT_VR_LE, "Explicit VR Little Endian", compressed=False),
    _ts(IMPLICIT_VR_LE, "Implicit VR Little Endian", compressed=False),
    _ts(EXPLICIT_VR_BE, "Explicit VR Big Endian", compressed=False),
)

STORED_AS_RECEIVED_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = (
    _ts(DEFLATED_EXPLICIT_VR_LE, "Deflated Explicit VR Little Endian"),
    _ts("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"),
    _ts("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    _ts("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 and 4)"),
    _ts("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
    _ts("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction"),
    _ts("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless"),
    _ts("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless)"),
    _ts("1.2.840.10008.1.2.4.90", "JPEG 2000 (Lossless Only)"),
    _ts("1.2.840.10008.1.2.4.91", "JPEG 2000"),
    _ts("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component (Lossless Only)"),
    _ts("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component"),
    _ts("1.2.840.10008.1.2.4.201", "HTJ2K (Lossless Only)"),
    _ts("1.2.840.10008.1.2.4.202", "HTJ2K with RPCL Options (Lossless Only)"),
    _ts("1.2.840.10008.1.2.4.203", "HTJ2K"),
    _ts("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
    _ts("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"),
    _ts("1.2.840.10008.1.2.4.112", "JPEG XL"),
    _ts("1.2.840.10008.1.2.5", "RLE Lossless"),
    _ts("1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression"),
    _ts("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
    _ts("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
    _ts("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
    _ts("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
    _ts("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
    _ts("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
    _ts("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
    _ts("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"),
    _ts("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"),
)

STORAGE_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = (
    UNCOMPRESSED_TRANSFER_SYNTAXES + STORED_AS_RECEIVED_TRANSFER_SYNTAXES
)

_BY_UID = {ts.uid: ts for ts in STORAGE_TRANSFER_SYNTAXES}


def transfer_syntax(uid: str) -> TransferSyntax | None:
    """The accepted transfer syntax with this UID, or None if we do not accept it."""
    return _BY_UID.get(uid)


def is_compressed(uid: str) -> bool:
    """True when data in this transfer syntax is not plain native little/big endian."""
    known = _BY_UID.get(uid)
    return known.compressed if known is not None else True


@dataclass(frozen=True, slots=True)
class SopClass:
    """A SOP class we serve, with the service that carries it."""

    uid: str
    name: str
    service: str
    retired: bool = False


def _storage_classes() -> tuple[SopClass, ...]:
    found = []
    for uid, (name, kind, _info, retired, _keyword) in UID_dictionary.items():
        if kind != "SOP Class" or "Storage" not in name:
            continue
        if "Commitment" in name or "Management" in name or "Directory" in name:
            continue
        found.append(SopClass(uid, name, "storage", retired == "Retired"))
    return tuple(sorted(found, key=lambda c: [int(p) for p in c.uid.split(".")]))


STORAGE_SOP_CLASSES: tuple[SopClass, ...] = _storage_classes()
STORAGE_SOP_CLASS_UIDS: frozenset[str] = frozenset(c.uid for c in STORAGE_SOP_CLASSES)

VERIFICATION_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(VERIFICATION, "Verification SOP Class", "verification"),
)


PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"
PATIENT_ROOT_GET = "1.2.840.10008.5.1.4.1.2.1.3"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

QUERY_RETRIEVE_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(PATIENT_ROOT_FIND, "Patient Root Query/Retrieve Information Model - FIND", "find"),
    SopClass(PATIENT_ROOT_MOVE, "Patient Root Query/Retrieve Information Model - MOVE", "move"),
    SopClass(PATIENT_ROOT_GET, "Patient Root Query/Retrieve Information Model - GET", "get"),
    SopClass(STUDY_ROOT_FIND, "Study Root Query/Retrieve Information Model - FIND", "find"),
    SopClass(STUDY_ROOT_MOVE, "Study Root Query/Retrieve Information Model - MOVE", "move"),
    SopClass(STUDY_ROOT_GET, "Study Root Query/Retrieve Information Model - GET", "get"),
)
"""Patient Root and Study Root, each with FIND, MOVE and GET (PS3.4 C.6.1, C.6.2)."""

INFORMATION_MODEL: dict[str, str] = {
    PATIENT_ROOT_FIND: "patient",
    PATIENT_ROOT_MOVE: "patient",
    PATIENT_ROOT_GET: "patient",
    STUDY_ROOT_FIND: "study",
    STUDY_ROOT_MOVE: "study",
    STUDY_ROOT_GET: "study",
}
"""The information model ("patient" or "study" root) of each Q/R SOP class."""


def query_retrieve_classes(service: str) -> tuple[SopClass, ...]:
    """The Q/R SOP classes of one service: "find", "move" or "get"."""
    return tuple(c for c in QUERY_RETRIEVE_SOP_CLASSES if c.service == service)


STORAGE_COMMITMENT_PUSH = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
"""The well-known SOP Instance of the Storage Commitment Push Model (PS3.4 J.3.3)."""
STORAGE_COMMITMENT_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(STORAGE_COMMITMENT_PUSH, "Storage Commitment Push Model SOP Class", "commitment"),
)
"""Storage Commitment, push model: as SCP (we commit) and as SCU (we ask), PS3.4 J."""

MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
WORKLIST_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(MODALITY_WORKLIST_FIND, "Modality Worklist Information Model - FIND", "worklist"),
)
"""Basic Worklist Management, modality worklist (PS3.4 K.6): as SCP and as SCU."""

MPPS = "1.2.840.10008.3.1.2.3.3"
MPPS_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(MPPS, "Modality Performed Procedure Step SOP Class", "mpps"),
)
"""Modality Performed Procedure Step, N-CREATE and N-SET (PS3.4 F.7): as SCP and as SCU."""

BASIC_GRAYSCALE_PRINT_META = "1.2.840.10008.5.1.1.9"
BASIC_COLOR_PRINT_META = "1.2.840.10008.5.1.1.18"
BASIC_FILM_SESSION = "1.2.840.10008.5.1.1.1"
BASIC_FILM_BOX = "1.2.840.10008.5.1.1.2"
BASIC_GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
BASIC_COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
PRINTER = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
"""The well-known SOP Instance of the Printer SOP Class (PS3.4 H.4.6)."""
PRINT_JOB = "1.2.840.10008.5.1.1.14"
BASIC_ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
PRINT_CONTEXT_SOP_CLASSES: tuple[SopClass, ...] = (
    SopClass(BASIC_GRAYSCALE_PRINT_META, "Basic Grayscale Print Management Meta", "print"),
    SopClass(BASIC_COLOR_PRINT_META, "Basic Color Print Management Meta", "print"),
    SopClass(PRINT_JOB, "Print Job SOP Class", "print"),
    SopClass(BASIC_ANNOTATION_BOX, "Basic Annotation Box SOP Class", "print"),
)
"""The print classes negotiated in presentation contexts of their own (PS3.4 H.3, H.4)."""
PRINT_SOP_CLASSES: tuple[SopClass, ...] = (
    *PRINT_CONTEXT_SOP_CLASSES,
    SopClass(BASIC_FILM_SESSION, "Basic Film Session SOP Class", "print"),
    SopClass(BASIC_FILM_BOX, "Basic Film Box SOP Class", "print"),
    SopClass(BASIC_GRAYSCALE_IMAGE_BOX, "Basic Grayscale Image Box SOP Class", "print"),
    SopClass(BASIC_COLOR_IMAGE_BOX, "Basic Color Image Box SOP Class", "print"),
    SopClass(PRINTER, "Printer SOP Class", "print"),
)
"""Basic Print Management (PS3.4 H): the meta classes, and the classes their requests name."""


def all_sop_classes() -> tuple[SopClass, ...]:
    """Every SOP class the archive offers as an SCP, verification first."""
    return (
        VERIFICATION_SOP_CLASSES
        + QUERY_RETRIEVE_SOP_CLASSES
        + STORAGE_COMMITMENT_SOP_CLASSES
        + WORKLIST_SOP_CLASSES
        + MPPS_SOP_CLASSES
        + PRINT_CONTEXT_SOP_CLASSES
        + STORAGE_SOP_CLASSES
    )


def is_storage_sop_class(uid: str) -> bool:
    """True when C-STORE of this SOP class is accepted."""
    return uid in STORAGE_SOP_CLASS_UIDS


def sop_class_name(uid: str) -> str:
    """A readable name for a SOP class UID (the UID itself when unknown)."""
    entry = UID_dictionary.get(uid)
    return entry[0] if entry else uid
