"""8-bit display images of a frame, and their PNG or JPEG encoding.

The order of operations (PS3.4 N.2.1):

grayscale
    stored values -> Modality LUT -> VOI (the window asked for, else the image's own
    first window, else its VOI LUT, else the frame's min..max) -> MONOCHROME1
    inverted, so that white is always the highest value.
PALETTE COLOR
    indices -> Red/Green/Blue Palette Color LUTs (PS3.3 C.7.6.3.1.5) -> 8 bits.
RGB and YBR
    decoded to RGB (see :mod:`vesalius.imaging.pixels`) -> 8 bits; windowed only when
    a window is asked for, channel by channel.

Then the image is fitted into the viewport, never enlarged, with a Lanczos filter.
Overlays, Presentation States, ICC profiles and Pixel Aspect Ratio are not applied.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from vesalius.imaging.errors import RenderError
from vesalius.imaging.luts import (
    TOP,
    Window,
    apply_window,
    min_max_window,
    modality_lut,
    own_voi_lut,
    own_window,
    voi_lut_levels,
)
from vesalius.imaging.palette import palette_levels
from vesalius.imaging.pixels import Array, decode, frame_count

MEDIA_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}
"""The media types we encode to, and Pillow's name for each."""


def render_frame(
    dataset: Dataset,
    index: int = 0,
    *,
    window: Window | None = None,
    viewport: tuple[int, int] | None = None,
) -> Array:
    """Frame ``index`` (0-based) as an 8-bit display image, ready to encode or show.

    uint8 (rows, cols) for grayscale, (rows, cols, 3) for colour. ``window`` replaces
    the image's own VOI; ``viewport=(max_width, max_height)`` scales down to fit,
    keeping the aspect ratio. This is the one rendering every endpoint, the viewer,
    export and print share, so that an image looks the same everywhere.
    """
    if viewport is not None:
        viewport = _check_viewport(viewport)
    pixels, photometric = decode(dataset, index)
    if photometric == "PALETTE COLOR" and pixels.ndim == 2:
        levels = palette_levels(pixels, dataset)
        if window is not None:
            levels = apply_window(levels, window)
    elif pixels.ndim == 3:
        if pixels.shape[2] != 3 or photometric != "RGB":
            raise RenderError(
                f"cannot render {pixels.shape[2]} samples per pixel in {photometric or '?'}"
            )
        levels = _colour_levels(pixels, dataset)
        if window is not None:
            levels = apply_window(levels, window)
    else:
        levels = _grayscale_levels(pixels, dataset, int(index), window)
        if photometric == "MONOCHROME1":
            levels = TOP - levels
    image = np.rint(np.clip(levels, 0.0, TOP)).astype(np.uint8)
    return image if viewport is None else _fit(image, viewport)


def encode_image(pixels: Array, media_type: str, *, quality: int = 90) -> bytes:
    """An 8-bit image encoded as ``image/png`` (lossless) or ``image/jpeg`` (``quality``).

    Takes what :func:`render_frame` returns; parameters such as ``;q=0.9`` after the
    media type are ignored.
    """
    kind = _pillow_format(media_type)
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        raise RenderError("only 8-bit images (uint8 arrays) can be encoded")
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)):
        raise RenderError(f"cannot encode an image of shape {pixels.shape}")
    if 0 in pixels.shape[:2]:
        raise RenderError("cannot encode an empty image")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise RenderError(f"quality must be a whole number from 1 to 100, not {quality!r}")
    image = Image.fromarray(np.ascontiguousarray(pixels))
    buffer = io.BytesIO()
    if kind == "JPEG":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def render(
    dataset: Dataset,
    index: int = 0,
    *,
    media_type: str = "image/png",
    window: Window | None = None,
    viewport: tuple[int, int] | None = None,
    quality: int = 90,
) -> bytes:
    """Frame ``index`` rendered and encoded: the one call behind /rendered and WADO-URI.

    The media type is checked before any decoding, so a bad request costs nothing.
    """
    _pillow_format(media_type)
    pixels = render_frame(dataset, index, window=window, viewport=viewport)
    return encode_image(pixels, media_type, quality=quality)


def thumbnail(dataset: Dataset, *, size: int = 128, media_type: str = "image/jpeg") -> bytes:
    """A small picture of the instance: its middle frame, fitted in ``size`` x ``size``.

    For the /thumbnail resources and the browser's series strips; a single-frame
    image gives its only frame.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise RenderError(f"thumbnail size must be a positive whole number, not {size!r}")
    count = frame_count(dataset)
    return render(dataset, count // 2, media_type=media_type, viewport=(size, size))


def _grayscale_levels(pixels: Array, dataset: Dataset, index: int, window: Window | None) -> Array:
    """Display levels of a grayscale frame: Modality LUT, then the first VOI that applies."""
    values = modality_lut(pixels, dataset, index)
    chosen = window or own_window(dataset, index)
    if chosen is not None:
        return apply_window(values, chosen)
    lut = own_voi_lut(dataset, index)
    if lut is not None:
        return voi_lut_levels(values, lut)
    spread = min_max_window(values)
    if spread is None:
        return np.zeros(values.shape, dtype=np.float64)
    return apply_window(np.nan_to_num(values), spread)


def _colour_levels(pixels: Array, dataset: Dataset) -> Array:
    """RGB levels 0..255 of colour samples of any depth (Bits Stored scaled to 8)."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float64)
    if pixels.dtype.kind == "f":
        spread = min_max_window(pixels)
        return np.zeros(pixels.shape) if spread is None else apply_window(pixels, spread)
    bits = int(dataset.get("BitsStored") or pixels.dtype.itemsize * 8)
    return pixels.astype(np.float64) * (TOP / (2**bits - 1))


def _check_viewport(viewport: tuple[int, int]) -> tuple[int, int]:
    """The viewport as two positive ints, or RenderError."""
    try:
        width, height = viewport
    except (TypeError, ValueError):
        raise RenderError(f"a viewport is (max width, max height), not {viewport!r}") from None
    for value in (width, height):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise RenderError(f"viewport sizes must be positive whole numbers, not {viewport!r}")
    return int(width), int(height)


def _fit(image: Array, viewport: tuple[int, int]) -> Array:
    """The image scaled down to fit in the viewport, aspect ratio kept; never enlarged."""
    rows, cols = image.shape[:2]
    scale = min(viewport[0] / cols, viewport[1] / rows)
    if scale >= 1:
        return image
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    resized = Image.fromarray(image).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(resized)


def _pillow_format(media_type: str) -> str:
    """Pillow's format name for a media type we can encode, or RenderError."""
    essence = str(media_type).split(";", 1)[0].strip().lower()
    if essence not in MEDIA_TYPES:
        raise RenderError(
            f"cannot render as {media_type!r}: supported are {', '.join(MEDIA_TYPES)}"
        )
    return MEDIA_TYPES[essence]
