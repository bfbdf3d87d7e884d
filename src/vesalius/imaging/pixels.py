"""Frames of pixel data: count them, decode one, hand one out as stored or as native bytes.

Every caller gets one frame at a time, so a 1000-frame cine costs one frame's work
per request: pydicom 3 decodes the frame at ``index`` only (``Decoder.as_array``
with ``index``), and splits encapsulated pixel data with the Basic or Extended
Offset Table, or by JPEG markers when neither is there (PS3.5 A.4).

Transfer syntaxes and what happens to them:

* native (Implicit/Explicit VR Little Endian, Deflated Explicit VR Little Endian,
  Explicit VR Big Endian): read directly;
* RLE, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, HTJ2K: decoded by the
  pylibjpeg plugins (libjpeg, openjpeg, rle) through pydicom;
* Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, PS3.5 A.4.11): each frame
  is raw deflate of native little-endian bytes; inflated here with ``zlib``;
* anything else (JPEG XL, MPEG-2/4, HEVC, ...): :class:`RenderError`.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import get_decoder, pack_bits, unpack_bits
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from vesalius.imaging.errors import RenderError

DEFLATED_IMAGE_FRAME = UID("1.2.840.10008.1.2.8.1")
"""Deflated Image Frame Compression, newer than pydicom 3.0's table of syntaxes."""

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

Array = npt.NDArray[Any]


def pixel_keyword(dataset: Dataset) -> str | None:
    """The keyword of the pixel data element the dataset holds, or None."""
    for keyword in PIXEL_KEYWORDS:
        if keyword in dataset and dataset[keyword].value is not None:
            return keyword
    return None


def frame_count(dataset: Dataset) -> int:
    """How many frames the dataset's pixel data holds: 0 without pixel data, else >= 1.

    Number of Frames (0028,0008) is read when present (an absent or zero value means
    one frame), so endpoints can list frames and check a frame number before decoding.
    """
    if pixel_keyword(dataset) is None:
        return 0
    raw = dataset.get("NumberOfFrames")
    if raw is None or raw == "":
        return 1
    try:
        count = int(raw)
    except (TypeError, ValueError):
        raise RenderError(f"Number of Frames {raw!r} is not a whole number") from None
    return max(count, 1)


def transfer_syntax(dataset: Dataset) -> UID:
    """The transfer syntax of the dataset's pixel data.

    Taken from the File Meta Information; a dataset without one (built in memory,
    received over DIMSE) is native, encoded as pydicom read it.
    """
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid:
        return UID(str(uid))
    if _is_encapsulated(dataset):
        raise RenderError("the pixel data is compressed but the data set names no transfer syntax")
    implicit, little = dataset.original_encoding
    if little is False:
        return ExplicitVRBigEndian
    return ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian


def check_index(dataset: Dataset, index: int) -> int:
    """The number of frames, once ``index`` is known to be a 0-based frame of the dataset."""
    count = frame_count(dataset)
    if count == 0:
        raise RenderError("the data set has no pixel data")
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise RenderError(f"frame index {index!r} is not a whole number")
    if not 0 <= index < count:
        raise RenderError(
            f"frame index {index} is out of range: the instance has {count} frame"
            f"{'s' if count > 1 else ''} (0-based index 0..{count - 1})"
        )
    return count


def decode(dataset: Dataset, index: int, *, raw: bool = False) -> tuple[Array, str]:
    """One decoded frame and the photometric interpretation of what was returned.

    With ``raw=False`` YBR_FULL and YBR_FULL_422 come back as RGB (JPEG 2000 undoes
    YBR_ICT/YBR_RCT itself); with ``raw=True`` no colour conversion is made.
    """
    count = check_index(dataset, index)
    uid = transfer_syntax(dataset)
    if uid == DEFLATED_IMAGE_FRAME:
        return _inflate(dataset, int(index), count, raw=raw)
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise RenderError(f"no decoder for pixel data in {_syntax_name(uid)}") from None
    if not decoder.is_available:
        missing = "; ".join(
            f"{plugin}: {', '.join(deps)}" for plugin, deps in decoder.missing_dependencies
        )
        raise RenderError(f"no decoder installed for {_syntax_name(uid)} ({missing})")
    try:
        array, properties = decoder.as_array(dataset, index=int(index), raw=raw)
    except Exception as exc:
        raise RenderError(
            f"cannot decode frame {index} of {count} ({_syntax_name(uid)}): {_one_line(exc)}"
        ) from exc
    return array, str(properties.get("photometric_interpretation", ""))


def decode_frame(dataset: Dataset, index: int) -> Array:
    """The stored values of frame ``index`` (0-based), before any LUT.

    Shape (rows, cols) for one sample per pixel, (rows, cols, samples) otherwise,
    samples last whatever the Planar Configuration. Colour comes back as RGB:
    YBR_FULL, YBR_FULL_422, YBR_ICT and YBR_RCT are converted; PALETTE COLOR stays
    indices (the palette is a rendering step). Only that frame is decoded.
    """
    array, photometric = decode(dataset, index)
    if array.ndim == 3 and photometric != "RGB":
        raise RenderError(f"cannot convert photometric interpretation {photometric} to RGB")
    return array


def native_frame(dataset: Dataset, index: int) -> bytes:
    """Frame ``index`` as uncompressed little-endian bytes (WADO-RS /frames, octet-stream).

    Native little-endian datasets give the frame's slice of Pixel Data as stored
    (Planar Configuration and YBR_FULL_422 subsampling kept). With Bits Allocated 1
    a frame need not start on a byte boundary: its bits are re-packed from bit 0 of
    the first byte into ceil(rows * cols / 8) bytes. Big-endian and compressed
    datasets give the decoded frame re-encoded: each sample in Bits Allocated bits
    (1-bit data packed as above), little endian, samples interleaved (Planar
    Configuration 0), with no colour conversion. So JPEG YBR_FULL_422 comes out as
    full-resolution YBR_FULL, JPEG 2000 YBR_ICT and YBR_RCT as RGB (the codec
    removes the component transform), everything else in the photometric
    interpretation the dataset declares.
    """
    check_index(dataset, index)
    uid = transfer_syntax(dataset)
    if not _is_encapsulated(dataset) and uid != ExplicitVRBigEndian:
        return _native_slice(dataset, pixel_keyword(dataset) or "PixelData", int(index))
    array, _ = decode(dataset, index, raw=True)
    return _little_endian_bytes(array, int(dataset.get("BitsAllocated", 8)))


def encapsulated_frame(dataset: Dataset, index: int) -> bytes:
    """The compressed bitstream of frame ``index`` as stored (all its fragments joined).

    For WADO-RS /frames in the stored transfer syntax; found through the Extended or
    Basic Offset Table, or by JPEG markers when neither is there.
    """
    count = check_index(dataset, index)
    if not _is_encapsulated(dataset):
        raise RenderError(
            f"the pixel data is not compressed ({_syntax_name(transfer_syntax(dataset))}): "
            "there is no stored bitstream to return"
        )
    offsets = None
    if "ExtendedOffsetTable" in dataset and "ExtendedOffsetTableLengths" in dataset:
        offsets = (dataset.ExtendedOffsetTable, dataset.ExtendedOffsetTableLengths)
    try:
        return bytes(
            get_frame(
                dataset.PixelData, int(index), number_of_frames=count, extended_offsets=offsets
            )
        )
    except Exception as exc:
        raise RenderError(f"cannot find frame {index} of {count}: {_one_line(exc)}") from exc


def _is_encapsulated(dataset: Dataset) -> bool:
    """True when Pixel Data is a sequence of fragments (undefined length, PS3.5 A.4)."""
    if "PixelData" not in dataset:
        return False
    element = dataset["PixelData"]
    if element.is_undefined_length:
        return True
    value = element.value
    return isinstance(value, bytes | bytearray) and bytes(value[:4]) == b"\xfe\xff\x00\xe0"


def _frame_bits(dataset: Dataset) -> int:
    """The number of bits one native frame occupies in Pixel Data."""
    bits = (
        int(dataset.Rows)
        * int(dataset.Columns)
        * int(dataset.get("SamplesPerPixel", 1))
        * int(dataset.get("BitsAllocated", 8))
    )
    if dataset.get("PhotometricInterpretation") == "YBR_FULL_422":
        bits = bits // 3 * 2  # two chroma samples per pair of pixels (PS3.3 C.7.6.3.1.2)
    return bits


def _native_slice(dataset: Dataset, keyword: str, index: int) -> bytes:
    """The bytes of one frame of native little-endian pixel data."""
    data = dataset[keyword].value
    bits = _frame_bits(dataset)
    start = index * bits
    end = start + bits
    if end > len(data) * 8:
        raise RenderError(f"the pixel data is too short to hold frame {index}")
    if start % 8 == 0 and bits % 8 == 0:
        return bytes(data[start // 8 : end // 8])
    first = start // 8
    unpacked = unpack_bits(bytes(data[first : (end + 7) // 8]))
    offset = start - first * 8
    return pack_bits(np.asarray(unpacked)[offset : offset + bits], pad=False)


def _little_endian_bytes(array: Array, bits_allocated: int) -> bytes:
    """Decoded samples as little-endian bytes of ``bits_allocated`` each (1: bit-packed)."""
    if bits_allocated == 1:
        return pack_bits(array.ravel(), pad=False)
    kind = array.dtype.kind
    width = max(bits_allocated // 8, 1)
    return array.astype(np.dtype(f"<{kind}{width}"), copy=False).tobytes()


def _inflate(dataset: Dataset, index: int, count: int, *, raw: bool) -> tuple[Array, str]:
    """Decode one frame of Deflated Image Frame Compression: inflate, then read as native."""
    try:
        compressed = get_frame(dataset.PixelData, index, number_of_frames=count)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        data = inflater.decompress(compressed) + inflater.flush()
    except Exception as exc:
        raise RenderError(f"cannot inflate frame {index} of {count}: {_one_line(exc)}") from exc
    options = {
        "rows": int(dataset.Rows),
        "columns": int(dataset.Columns),
        "samples_per_pixel": int(dataset.get("SamplesPerPixel", 1)),
        "bits_allocated": int(dataset.BitsAllocated),
        "bits_stored": int(dataset.get("BitsStored", dataset.BitsAllocated)),
        "pixel_representation": int(dataset.get("PixelRepresentation", 0)),
        "photometric_interpretation": str(dataset.PhotometricInterpretation),
        "planar_configuration": int(dataset.get("PlanarConfiguration", 0)),
        "number_of_frames": 1,
        "pixel_keyword": "PixelData",
    }
    try:
        array, properties = get_decoder(ExplicitVRLittleEndian).as_array(
            data, index=0, raw=raw, **options
        )
    except Exception as exc:
        raise RenderError(f"cannot read inflated frame {index}: {_one_line(exc)}") from exc
    return array, str(properties.get("photometric_interpretation", ""))


def _syntax_name(uid: UID) -> str:
    """``JPEG XL (1.2.840.10008.1.2.4.112)``, or the bare UID when pydicom does not know it."""
    if uid == DEFLATED_IMAGE_FRAME:
        return f"Deflated Image Frame Compression ({uid})"
    return f"{uid.name} ({uid})" if uid.name != str(uid) else f"transfer syntax {uid}"


def _one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one line."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
