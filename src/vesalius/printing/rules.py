"""The attributes of film sessions, film boxes and image boxes, checked as PS3.4 H.4 asks.

Policy, so that every answer is predictable:

* an Enumerated Value we do not know, a Film Size ID or Image Display Format we
  cannot lay out, a density or number we cannot read: failure ``0106`` (Invalid
  Attribute Value), nothing created or changed;
* a Defined Term we do not support (Medium Type, Film Destination, Magnification
  Type, Requested Resolution ID), a Number of Copies above ``MAX_COPIES``: our
  default (or the limit) is used, warning ``0116`` (Attribute Value Out of Range);
* Min or Max Density outside ``DENSITY_RANGE``: clamped, warning ``B605``;
* Memory Allocation: ignored, warning ``B600``;
* an attribute that does not belong to the object: ignored, warning ``0107``
  (Attribute List Error);
* a required attribute missing: failure ``0120`` (Missing Attribute).

Image box pixels must be what PS3.3 C.13.5 allows: grayscale 8 bits (8/8/7) or
12 bits in 16 (16/12/11), MONOCHROME1 or MONOCHROME2; colour RGB 8/8/7, by plane
(Planar Configuration 1; 0 is read too). Anything else is ``0106``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from vesalius.printing import formats

SUCCESS = 0x0000
NO_SUCH_ATTRIBUTE = 0x0105
INVALID_ATTRIBUTE_VALUE = 0x0106
ATTRIBUTE_LIST_ERROR = 0x0107
PROCESSING_FAILURE = 0x0110
DUPLICATE_INSTANCE = 0x0111
NO_SUCH_INSTANCE = 0x0112
OUT_OF_RANGE = 0x0116
INVALID_OBJECT_INSTANCE = 0x0117
MISSING_ATTRIBUTE = 0x0120
NO_SUCH_ACTION = 0x0123
MEMORY_ALLOCATION_NOT_SUPPORTED = 0xB600
SESSION_EMPTY_PAGE = 0xB602
FILM_BOX_EMPTY_PAGE = 0xB603
DEMAGNIFIED = 0xB604
DENSITY_OUT_OF_RANGE = 0xB605
CROPPED = 0xB609
DECIMATED = 0xB60A
NO_FILM_BOXES = 0xC600
IMAGE_TOO_LARGE = 0xC603

MAX_COPIES = 99
DENSITY_RANGE = (0, 400)
"""Min and Max Density this printer reaches, in hundredths of OD."""
RESOLUTIONS = {"STANDARD": 150, "HIGH": 300}
"""Requested Resolution ID -> dots per inch of the printed PDF."""
MEDIUM_TYPES = ("BLUE FILM", "CLEAR FILM", "PAPER", "MAMMO CLEAR FILM", "MAMMO BLUE FILM")
DESTINATIONS = ("MAGAZINE", "PROCESSOR", *(f"BIN_{n}" for n in range(1, 11)))
MAGNIFICATIONS = ("BILINEAR", "REPLICATE", "CUBIC", "NONE")


class PrintError(Exception):
    """A request this printer refuses; ``status`` is the DIMSE status that answers it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Warnings:
    """The warnings of one request; ``status`` picks the one to answer with."""

    items: list[tuple[int, str]] = field(default_factory=list)

    def add(self, status: int, reason: str) -> None:
        """Note one warning."""
        self.items.append((status, reason))

    @property
    def status(self) -> int:
        """The most specific warning (print warnings first), or success."""
        codes = [code for code, _ in self.items]
        for code in codes:
            if code >= 0xB000:
                return code
        return codes[0] if codes else SUCCESS

    @property
    def comment(self) -> str:
        """The reasons, for the Error Comment."""
        return "; ".join(reason for _, reason in self.items)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _enumerated(allowed: tuple[str, ...]) -> Callable[[str, Any, Warnings], Any]:
    def check(keyword: str, value: Any, _warnings: Warnings) -> Any:
        text = _text(value).upper()
        if text not in allowed:
            raise PrintError(
                INVALID_ATTRIBUTE_VALUE, f"{keyword} {value!r}: one of {', '.join(allowed)}"
            )
        return text

    return check


def _defined(allowed: tuple[str, ...]) -> Callable[[str, Any, Warnings], Any]:
    def check(keyword: str, value: Any, warnings: Warnings) -> Any:
        text = _text(value).upper()
        if text not in allowed:
            warnings.add(OUT_OF_RANGE, f"{keyword} {value!r} not supported, {allowed[0]} used")
            return allowed[0]
        return text

    return check


def _free_text(_keyword: str, value: Any, _warnings: Warnings) -> Any:
    return _text(value)


def _copies(keyword: str, value: Any, warnings: Warnings) -> Any:
    try:
        copies = int(_text(value))
    except ValueError:
        raise PrintError(INVALID_ATTRIBUTE_VALUE, f"{keyword} {value!r} is not a number") from None
    if copies < 1:
        raise PrintError(INVALID_ATTRIBUTE_VALUE, f"{keyword} must be at least 1")
    if copies > MAX_COPIES:
        warnings.add(OUT_OF_RANGE, f"{keyword} {copies} above {MAX_COPIES}, {MAX_COPIES} used")
        copies = MAX_COPIES
    return str(copies)


def _memory(keyword: str, value: Any, warnings: Warnings) -> Any:
    warnings.add(MEMORY_ALLOCATION_NOT_SUPPORTED, f"{keyword} is not supported")
    return None


def _density_name(keyword: str, value: Any, _warnings: Warnings) -> Any:
    text = _text(value).upper()
    try:
        formats.parse_density(text, minimum=0, maximum=0)
    except formats.FormatError as exc:
        raise PrintError(INVALID_ATTRIBUTE_VALUE, f"{keyword}: {exc}") from None
    return text


def _density(keyword: str, value: Any, warnings: Warnings) -> Any:
    try:
        density = int(value)
    except (TypeError, ValueError):
        raise PrintError(INVALID_ATTRIBUTE_VALUE, f"{keyword} {value!r} is not a number") from None
    low, high = DENSITY_RANGE
    if not low <= density <= high:
        clamped = min(high, max(low, density))
        warnings.add(
            DENSITY_OUT_OF_RANGE, f"{keyword} {density} outside {low}-{high}, {clamped} used"
        )
        density = clamped
    return density


def _resolution(keyword: str, value: Any, warnings: Warnings) -> Any:
    return _defined(tuple(RESOLUTIONS))(keyword, value, warnings)


def _ignored(_keyword: str, value: Any, _warnings: Warnings) -> Any:
    return value


Rule = Callable[[str, Any, Warnings], Any]

SESSION_RULES: dict[str, Rule] = {
    "NumberOfCopies": _copies,
    "PrintPriority": _enumerated(("MED", "HIGH", "LOW")),
    "MediumType": _defined(MEDIUM_TYPES),
    "FilmDestination": _defined(DESTINATIONS),
    "FilmSessionLabel": _free_text,
    "MemoryAllocation": _memory,
    "OwnerID": _free_text,
}
SESSION_DEFAULTS: dict[str, Any] = {
    "NumberOfCopies": "1",
    "PrintPriority": "MED",
    "MediumType": "BLUE FILM",
    "FilmDestination": "MAGAZINE",
    "FilmSessionLabel": "",
    "OwnerID": "",
}

FILM_BOX_RULES: dict[str, Rule] = {
    "ImageDisplayFormat": _free_text,
    "AnnotationDisplayFormatID": _free_text,
    "FilmOrientation": _enumerated(("PORTRAIT", "LANDSCAPE")),
    "FilmSizeID": _free_text,
    "MagnificationType": _defined(MAGNIFICATIONS),
    "SmoothingType": _free_text,
    "BorderDensity": _density_name,
    "EmptyImageDensity": _density_name,
    "MinDensity": _density,
    "MaxDensity": _density,
    "Trim": _enumerated(("NO", "YES")),
    "ConfigurationInformation": _free_text,
    "RequestedResolutionID": _resolution,
    "Illumination": _ignored,
    "ReflectedAmbientLight": _ignored,
    "ReferencedFilmSessionSequence": _ignored,
    "ReferencedPresentationLUTSequence": _ignored,
}
FILM_BOX_DEFAULTS: dict[str, Any] = {
    "FilmOrientation": "PORTRAIT",
    "FilmSizeID": "14INX17IN",
    "MagnificationType": "BILINEAR",
    "SmoothingType": "",
    "BorderDensity": "BLACK",
    "EmptyImageDensity": "BLACK",
    "MinDensity": 20,
    "MaxDensity": 300,
    "Trim": "NO",
    "ConfigurationInformation": "",
    "RequestedResolutionID": "STANDARD",
}
FILM_BOX_FIXED = (
    "ImageDisplayFormat",
    "AnnotationDisplayFormatID",
    "FilmOrientation",
    "FilmSizeID",
)
"""Set at N-CREATE only: they decide the layout (PS3.4 H.4.2.2.2 leaves them out of N-SET)."""

IMAGE_BOX_RULES: dict[str, Rule] = {
    "ImageBoxPosition": _ignored,
    "Polarity": _enumerated(("NORMAL", "REVERSE")),
    "MagnificationType": _defined(MAGNIFICATIONS),
    "SmoothingType": _free_text,
    "ConfigurationInformation": _free_text,
    "RequestedImageSize": _ignored,
    "RequestedDecimateCropBehavior": _enumerated(("DECIMATE", "CROP", "FAIL")),
    "BasicGrayscaleImageSequence": _ignored,
    "BasicColorImageSequence": _ignored,
}


def apply(
    request: Dataset | None,
    rules: dict[str, Rule],
    target: Dataset,
    warnings: Warnings,
    *,
    fixed: Iterable[str] = (),
) -> None:
    """Check each attribute of ``request`` by its rule and copy it into ``target``."""
    unknown = []
    fixed = set(fixed)
    for element in request or []:
        keyword = element.keyword
        rule = rules.get(keyword)
        if rule is None or keyword in fixed:
            unknown.append(keyword or str(element.tag))
            continue
        if element.VR == "SQ":
            target[element.tag] = element
            continue
        value = rule(keyword, element.value, warnings)
        if value is not None and value != "":
            setattr(target, keyword, value)
    if unknown:
        warnings.add(ATTRIBUTE_LIST_ERROR, f"ignored: {', '.join(unknown)}")


def with_defaults(defaults: dict[str, Any]) -> Dataset:
    """A data set holding these default values."""
    dataset = Dataset()
    for keyword, value in defaults.items():
        setattr(dataset, keyword, value)
    return dataset


def check_film_box(attributes: Dataset) -> formats.Geometry:
    """The layout of a film box's attributes; ``PrintError`` when it cannot be laid out."""
    if "ImageDisplayFormat" not in attributes or not _text(attributes.ImageDisplayFormat):
        raise PrintError(MISSING_ATTRIBUTE, "Image Display Format (2010,0010) is missing")
    if int(attributes.MinDensity) >= int(attributes.MaxDensity):
        raise PrintError(INVALID_ATTRIBUTE_VALUE, "Min Density must be below Max Density")
    try:
        return formats.geometry(
            _text(attributes.ImageDisplayFormat),
            _text(attributes.FilmSizeID).upper(),
            _text(attributes.FilmOrientation),
            _text(attributes.get("AnnotationDisplayFormatID", "")),
        )
    except formats.FormatError as exc:
        raise PrintError(INVALID_ATTRIBUTE_VALUE, str(exc)) from None


@dataclass(frozen=True, slots=True)
class ImagePixels:
    """The pixels of an image box as received: what printing needs to know of them."""

    pixels: np.ndarray
    """(rows, cols) uint8 or uint16 for grayscale, (rows, cols, 3) uint8 for colour."""
    bits: int
    monochrome1: bool
    aspect: float
    """Pixel Aspect Ratio, vertical over horizontal."""


def _required(item: Dataset, keyword: str) -> Any:
    value = item.get(keyword)
    if value is None or value == "":
        raise PrintError(MISSING_ATTRIBUTE, f"{keyword} is missing from the image sequence")
    return value


def _expect(item: Dataset, keyword: str, allowed: tuple[Any, ...]) -> Any:
    value = _required(item, keyword)
    if value not in allowed:
        shown = " or ".join(str(a) for a in allowed)
        raise PrintError(INVALID_ATTRIBUTE_VALUE, f"{keyword} {value} (this box takes {shown})")
    return value


def image_pixels(item: Dataset, *, color: bool) -> ImagePixels:
    """The pixels of a Basic Grayscale or Color Image Sequence item (PS3.3 C.13.5)."""
    rows, columns = int(_required(item, "Rows")), int(_required(item, "Columns"))
    if rows < 1 or columns < 1:
        raise PrintError(INVALID_ATTRIBUTE_VALUE, "Rows and Columns must be positive")
    _expect(item, "PixelRepresentation", (0,))
    if color:
        _expect(item, "SamplesPerPixel", (3,))
        _expect(item, "PhotometricInterpretation", ("RGB",))
        _expect(item, "BitsAllocated", (8,))
        _expect(item, "BitsStored", (8,))
        _expect(item, "HighBit", (7,))
        planar = int(item.get("PlanarConfiguration", 1))
        bits, allocated = 8, 8
    else:
        _expect(item, "SamplesPerPixel", (1,))
        _expect(item, "PhotometricInterpretation", ("MONOCHROME2", "MONOCHROME1"))
        allocated = _expect(item, "BitsAllocated", (8, 16))
        bits = _expect(item, "BitsStored", (8,) if allocated == 8 else (12,))
        _expect(item, "HighBit", (bits - 1,))
    data = item.get("PixelData")
    if not data:
        raise PrintError(MISSING_ATTRIBUTE, "Pixel Data is missing from the image sequence")
    samples = 3 if color else 1
    expected = rows * columns * samples * (allocated // 8)
    if len(data) < expected:
        raise PrintError(
            INVALID_ATTRIBUTE_VALUE, f"Pixel Data has {len(data)} bytes, {expected} expected"
        )
    dtype = np.uint8 if allocated == 8 else np.dtype("<u2")
    flat = np.frombuffer(bytes(data[:expected]), dtype=dtype)
    if color:
        pixels = (
            flat.reshape(3, rows, columns).transpose(1, 2, 0)
            if planar == 1
            else flat.reshape(rows, columns, 3)
        )
    else:
        pixels = flat.reshape(rows, columns) & ((1 << bits) - 1)
    ratio = item.get("PixelAspectRatio") or [1, 1]
    try:
        aspect = float(ratio[0]) / float(ratio[1])
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        aspect = 1.0
    monochrome1 = not color and item.PhotometricInterpretation == "MONOCHROME1"
    return ImagePixels(np.ascontiguousarray(pixels), bits, monochrome1, aspect)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an image prints inside its box, and which part of it (crop, in pixels)."""

    rect: formats.Rect
    crop: tuple[int, int, int, int] | None
    """(left, top, right, bottom) of the printed part, or None for all of it."""
    warning: int | None


def place(
    image: ImagePixels,
    box: formats.Rect,
    *,
    magnification: str,
    dpi: int,
    requested_width_mm: float | None,
    behavior: str | None,
) -> Placement:
    """Size and centre an image in its box (PS3.3 C.13.5, Requested Image Size and
    Requested Decimate/Crop Behavior); ``PrintError`` C603 when it must fail."""
    rows, columns = image.pixels.shape[:2]
    width = columns * formats.MM_PER_INCH / dpi
    height = rows * image.aspect * formats.MM_PER_INCH / dpi
    if requested_width_mm:
        width, height = requested_width_mm, requested_width_mm * height / width
    elif magnification != "NONE":
        scale = min(box.width / width, box.height / height)
        width, height = width * scale, height * scale
    crop = None
    warning = None
    epsilon = 0.01
    if width > box.width + epsilon or height > box.height + epsilon:
        if behavior == "FAIL":
            raise PrintError(IMAGE_TOO_LARGE, "the image is larger than its image box")
        if behavior == "CROP":
            keep_w, keep_h = min(1.0, box.width / width), min(1.0, box.height / height)
            left = round(columns * (1 - keep_w) / 2)
            top = round(rows * (1 - keep_h) / 2)
            crop = (left, top, columns - left, rows - top)
            width, height = min(width, box.width), min(height, box.height)
            warning = CROPPED
        else:
            scale = min(box.width / width, box.height / height)
            width, height = width * scale, height * scale
            warning = DECIMATED if behavior == "DECIMATE" else DEMAGNIFIED
    rect = formats.Rect(
        box.x + (box.width - width) / 2, box.y + (box.height - height) / 2, width, height
    )
    return Placement(rect, crop, warning)
