"""What a sheet of film looks like: sizes, layouts, densities, and where each image box lies.

Film Size IDs (PS3.3 C.13.3, Defined Terms) are kept in millimetres, portrait.
Image Display Formats supported: ``STANDARD\\C,R`` (C columns, R rows, image
boxes numbered row by row), ``ROW\\a,b,...`` (one row per value, with that many
boxes, numbered row by row) and ``COL\\a,b,...`` (one column per value, numbered
column by column). ``SLIDE``, ``SUPERSLIDE`` and ``CUSTOM\\i`` are not.

Densities are in hundredths of optical density (OD); ``BLACK`` is the film's
Max Density and ``WHITE`` its Min Density. On screen a density D shows with
relative luminance 10^(-D/100), as a film on a light box.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_INCH = 25.4

FILM_SIZES: dict[str, tuple[float, float]] = {
    "8INX10IN": (8 * MM_PER_INCH, 10 * MM_PER_INCH),
    "8_5INX11IN": (8.5 * MM_PER_INCH, 11 * MM_PER_INCH),
    "10INX12IN": (10 * MM_PER_INCH, 12 * MM_PER_INCH),
    "10INX14IN": (10 * MM_PER_INCH, 14 * MM_PER_INCH),
    "11INX14IN": (11 * MM_PER_INCH, 14 * MM_PER_INCH),
    "11INX17IN": (11 * MM_PER_INCH, 17 * MM_PER_INCH),
    "14INX14IN": (14 * MM_PER_INCH, 14 * MM_PER_INCH),
    "14INX17IN": (14 * MM_PER_INCH, 17 * MM_PER_INCH),
    "24CMX24CM": (240.0, 240.0),
    "24CMX30CM": (240.0, 300.0),
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
}
"""Film Size ID -> (width, height) in mm, portrait."""

MAX_PER_LINE = 10
"""Most columns or rows (or boxes in one row or column) of an Image Display Format."""

ANNOTATION_FORMATS: dict[str, tuple[str, ...]] = {
    "ANNOTATION": ("top",),
    "TOP": ("top",),
    "BOTTOM": ("bottom",),
    "TOP_BOTTOM": ("top", "bottom"),
}
"""Annotation Display Format ID -> where annotation box 1, 2, ... print."""

MARGIN_MM = 6.0
GAP_MM = 3.0
ANNOTATION_BAND_MM = 12.0


class FormatError(ValueError):
    """A value this printer cannot lay out; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle on the film, in mm from its top left corner."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Geometry:
    """Where everything of one film box lies: the sheet, the image boxes, the annotations."""

    width_mm: float
    height_mm: float
    boxes: tuple[Rect, ...]
    """Image boxes in Image Box Position order (position 1 first)."""
    annotations: tuple[Rect, ...]
    """Annotation boxes in Annotation Position order."""


def parse_display_format(text: str) -> tuple[str, tuple[int, ...]]:
    """The kind (STANDARD, ROW, COL) and numbers of an Image Display Format.

    ``FormatError`` for a format this printer does not lay out.
    """
    kind, _, numbers = str(text).strip().partition("\\")
    kind = kind.strip().upper()
    if kind not in ("STANDARD", "ROW", "COL"):
        raise FormatError(f"Image Display Format {text!r}: only STANDARD, ROW and COL")
    try:
        values = tuple(int(part) for part in numbers.split(","))
    except ValueError:
        raise FormatError(f"Image Display Format {text!r}: numbers expected") from None
    if kind == "STANDARD" and len(values) != 2:
        raise FormatError(f"Image Display Format {text!r}: STANDARD\\C,R takes two numbers")
    if not values or len(values) > MAX_PER_LINE or any(not 1 <= v <= MAX_PER_LINE for v in values):
        raise FormatError(
            f"Image Display Format {text!r}: 1 to {MAX_PER_LINE} lines of 1 to {MAX_PER_LINE} boxes"
        )
    return kind, values


def box_count(display_format: str) -> int:
    """How many image boxes a film box of this Image Display Format has."""
    kind, values = parse_display_format(display_format)
    return values[0] * values[1] if kind == "STANDARD" else sum(values)


def film_size(film_size_id: str, orientation: str) -> tuple[float, float]:
    """(width, height) in mm of the sheet, turned for LANDSCAPE."""
    try:
        width, height = FILM_SIZES[film_size_id]
    except KeyError:
        raise FormatError(f"Film Size ID {film_size_id!r} is not one this printer has") from None
    return (height, width) if orientation == "LANDSCAPE" else (width, height)


def _grid(area: Rect, columns: int, rows: int) -> list[Rect]:
    width = (area.width - GAP_MM * (columns - 1)) / columns
    height = (area.height - GAP_MM * (rows - 1)) / rows
    return [
        Rect(area.x + c * (width + GAP_MM), area.y + r * (height + GAP_MM), width, height)
        for r in range(rows)
        for c in range(columns)
    ]


def geometry(
    display_format: str, film_size_id: str, orientation: str, annotation_format: str = ""
) -> Geometry:
    """The layout of a film box: sheet size, image boxes, annotation bands."""
    width, height = film_size(film_size_id, orientation)
    places = annotation_places(annotation_format)
    top = MARGIN_MM + (ANNOTATION_BAND_MM if "top" in places else 0.0)
    bottom = MARGIN_MM + (ANNOTATION_BAND_MM if "bottom" in places else 0.0)
    area = Rect(MARGIN_MM, top, width - 2 * MARGIN_MM, height - top - bottom)
    kind, values = parse_display_format(display_format)
    boxes: list[Rect] = []
    if kind == "STANDARD":
        boxes = _grid(area, values[0], values[1])
    elif kind == "ROW":
        for index, row in enumerate(_grid(area, 1, len(values))):
            boxes.extend(_grid(row, values[index], 1))
    else:
        for index, column in enumerate(_grid(area, len(values), 1)):
            boxes.extend(_grid(column, 1, values[index]))
    annotations = tuple(
        Rect(
            MARGIN_MM,
            MARGIN_MM if place == "top" else height - bottom,
            area.width,
            ANNOTATION_BAND_MM,
        )
        for place in places
    )
    return Geometry(width, height, tuple(boxes), annotations)


def annotation_places(annotation_format: str) -> tuple[str, ...]:
    """Where the annotation boxes of an Annotation Display Format ID print ("top", "bottom")."""
    if not annotation_format:
        return ()
    try:
        return ANNOTATION_FORMATS[annotation_format.strip().upper()]
    except KeyError:
        known = ", ".join(ANNOTATION_FORMATS)
        raise FormatError(
            f"Annotation Display Format ID {annotation_format!r}: one of {known}"
        ) from None


def parse_density(text: str, *, minimum: int, maximum: int) -> int:
    """A Border or Empty Image Density (BLACK, WHITE or hundredths of OD) as hundredths of OD."""
    value = str(text).strip().upper()
    if value == "BLACK":
        return maximum
    if value == "WHITE":
        return minimum
    if value.isdigit():
        return int(value)
    raise FormatError(f"density {text!r}: BLACK, WHITE or a number (hundredths of OD)")


def density_level(density: float) -> int:
    """The 8-bit sRGB gray of a film of this density (hundredths of OD) on a light box."""
    luminance = 10.0 ** (-max(0.0, float(density)) / 100.0)
    if luminance <= 0.0031308:
        encoded = 12.92 * luminance
    else:
        encoded = 1.055 * luminance ** (1 / 2.4) - 0.055
    return round(max(0.0, min(1.0, encoded)) * 255)
