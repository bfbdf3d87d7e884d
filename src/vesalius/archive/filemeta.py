"""The File Meta Information that Vesalius writes in front of every stored data set."""

from __future__ import annotations

import warnings

from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

PREAMBLE = b"\x00" * 128 + b"DICM"


def file_meta_bytes(
    sop_class_uid: str, sop_instance_uid: str, transfer_syntax_uid: str, source_aet: str = ""
) -> bytes:
    """Preamble, ``DICM`` and a complete group 0002 (PS3.10 7.1) for one instance."""
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = sop_instance_uid
    meta.TransferSyntaxUID = transfer_syntax_uid
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    if source_aet:
        meta.SourceApplicationEntityTitle = source_aet.strip()[:16]
    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a malformed UID is kept as the data set has it
        write_file_meta_info(out, meta, enforce_standard=True)
    return PREAMBLE + out.getvalue()
