"""Pictures of every frame: JPEG, PNG or TIFF, rendered by the shared ``imaging`` package.

Each frame is rendered as the viewer and WADO-RS render it
(``imaging.render_frame``: Modality LUT, the image's own window or the one
asked for, MONOCHROME1 inverted, palettes applied, colour as RGB), then
optionally annotated (``annotations``), then encoded.

16-bit TIFF (``bits=16``) keeps the full range of a grayscale frame instead:
the stored pixel values, unwindowed, as unsigned 16-bit samples (signed values
shifted by 32768, so that -1024 becomes 31744); MONOCHROME1 frames are marked
WhiteIsZero. Colour frames and frames deeper than 16 bits stay 8-bit.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from vesalius import imaging
from vesalius.imaging import Window
from vesalius.imaging.pixels import Array
from vesalius.media.annotations import annotate
from vesalius.media.tracking import ExportError

EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "tiff": ".tif"}
"""Picture formats and the extension of their files."""
SIGNED_OFFSET = 32768
WHITE_IS_ZERO = 0
TIFF_PHOTOMETRIC = 262


@dataclass(frozen=True, slots=True)
class PictureOptions:
    """How pictures are made: format, window (None: the image's own), annotations,
    TIFF depth (8 or 16) and JPEG quality."""

    kind: str = "png"
    window: Window | None = None
    annotate: bool = False
    bits: int = 8
    quality: int = 90

    def __post_init__(self) -> None:
        if self.kind not in EXTENSIONS:
            raise ExportError(f"unknown picture format {self.kind!r}: {', '.join(EXTENSIONS)}")
        if self.bits not in (8, 16) or (self.bits == 16 and self.kind != "tiff"):
            raise ExportError("16 bits per sample is a TIFF option; other pictures have 8")
        if not 1 <= self.quality <= 100:
            raise ExportError(f"JPEG quality is 1 to 100, not {self.quality}")


def tiff_bytes(pixels: Array, photometric: int | None = None) -> bytes:
    """An image (uint8 gray or RGB, or uint16 gray) as an uncompressed TIFF."""
    buffer = io.BytesIO()
    info = {TIFF_PHOTOMETRIC: photometric} if photometric is not None else {}
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="TIFF", tiffinfo=info)
    return buffer.getvalue()


def full_range(dataset: Dataset, index: int) -> Array | None:
    """A grayscale frame's stored values as uint16 (signed ones shifted), or None when
    the frame is colour or does not fit 16 bits."""
    values = imaging.decode_frame(dataset, index)
    if values.ndim != 2 or values.dtype.kind not in "iu" or values.dtype.itemsize > 2:
        return None
    if values.dtype.kind == "i":
        return (values.astype(np.int32) + SIGNED_OFFSET).astype(np.uint16)
    return values.astype(np.uint16)


def picture(dataset: Dataset, index: int, frames: int, options: PictureOptions) -> bytes:
    """Frame ``index`` of ``frames`` as an encoded picture."""
    if options.bits == 16:
        values = full_range(dataset, index)
        if values is not None:
            inverted = str(dataset.get("PhotometricInterpretation", "")) == "MONOCHROME1"
            return tiff_bytes(values, WHITE_IS_ZERO if inverted else None)
    pixels = imaging.render_frame(dataset, index, window=options.window)
    if options.annotate:
        pixels = annotate(pixels, dataset, index, frames, options.window)
    if options.kind == "tiff":
        return tiff_bytes(pixels)
    media_type = "image/jpeg" if options.kind == "jpeg" else "image/png"
    return imaging.encode_image(pixels, media_type, quality=options.quality)


def pictures(dataset: Dataset, options: PictureOptions) -> Iterator[tuple[int, bytes]]:
    """``(frame index, picture)`` for every frame of an instance (none without pixel data)."""
    frames = imaging.frame_count(dataset)
    for index in range(frames):
        yield index, picture(dataset, index, frames, options)
