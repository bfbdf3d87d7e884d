"""Change the transfer syntax of a stored object to an uncompressed little-endian one.

Retrieve paths (WADO-RS, WADO-URI) hand out what was stored when the client
accepts its syntax, and this otherwise. Compressed pixel data is decoded with
pydicom's handlers; the SOP Instance UID stays the same (the client gets the
same instance, PS3.18 8.7.3.5).
"""

from __future__ import annotations

import io
import warnings

from pydicom import dcmread
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from vesalius.imaging.errors import RenderError

UNCOMPRESSED_LITTLE_ENDIAN = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def can_transcode(stored: str, wanted: str) -> bool:
    """True when an object stored in ``stored`` can be handed out in ``wanted``."""
    return wanted == stored or wanted in UNCOMPRESSED_LITTLE_ENDIAN


def transcode(part10: bytes, wanted: str) -> bytes:
    """The Part 10 file ``part10`` rewritten in ``wanted`` (an uncompressed LE syntax)."""
    if wanted not in UNCOMPRESSED_LITTLE_ENDIAN:
        raise RenderError(f"cannot write {UID(wanted).name}: only uncompressed little endian")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(io.BytesIO(part10), force=True)
        stored = UID(str(dataset.file_meta.get("TransferSyntaxUID", ExplicitVRLittleEndian)))
        if stored == wanted:
            return part10
        if stored.is_compressed:
            try:
                dataset.decompress(generate_instance_uid=False)
            except Exception as exc:
                message = " ".join(str(exc).split())
                raise RenderError(f"cannot decode {stored.name}: {message}") from exc
        dataset.file_meta.TransferSyntaxUID = wanted
        buffer = io.BytesIO()
        dataset.save_as(
            buffer,
            implicit_vr=wanted == ImplicitVRLittleEndian,
            little_endian=True,
            enforce_file_format=True,
        )
    return buffer.getvalue()
