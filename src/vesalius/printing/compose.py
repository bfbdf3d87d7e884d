"""A film as a picture: a PNG preview and a PDF page at the film's size.

Grayscale pixels are P-values (PS3.4 H: the Presentation LUT is IDENTITY, we do
not support another): the lowest prints at Max Density, the highest at Min
Density (MONOCHROME1 and Polarity REVERSE invert that), in steps that are even
in sRGB, which is close to even in perceived brightness as the P-value scale
asks. Colour pixels print as they are (REVERSE inverts them). The area around
and between images prints at Border Density, an image box without an image at
Empty Image Density; Trim draws a thin frame around each image.

Each image is resampled once, with the filter its Magnification Type names
(REPLICATE: nearest, BILINEAR, CUBIC: bicubic; NONE: none at the printer's
resolution), to the pixels it covers at the film's resolution (Requested
Resolution ID STANDARD 150 dpi, HIGH 300 dpi) for the PDF, and at
``PREVIEW_DPI`` for the PNG. The PDF places each image as an image of its own
and writes annotations as text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from vesalius.printing import formats
from vesalius.printing.rules import ImagePixels, Placement

PREVIEW_DPI = 50
FILTERS = {
    "REPLICATE": Image.Resampling.NEAREST,
    "BILINEAR": Image.Resampling.BILINEAR,
    "CUBIC": Image.Resampling.BICUBIC,
    "NONE": Image.Resampling.NEAREST,
}
TRIM_MM = 0.5
ANNOTATION_POINTS = 14


@dataclass(frozen=True, slots=True)
class PrintedImage:
    """One image of a film, with how it prints."""

    position: int
    image: ImagePixels
    placement: Placement
    reverse: bool
    magnification: str


@dataclass(frozen=True, slots=True)
class Film:
    """Everything needed to print one film box, frozen when it was asked to print."""

    geometry: formats.Geometry
    color: bool
    images: tuple[PrintedImage, ...]
    annotations: tuple[tuple[formats.Rect, str], ...]
    min_density: int
    max_density: int
    border_density: int
    empty_density: int
    trim: bool
    dpi: int
    description: dict[str, Any] = field(default_factory=dict)


def levels(film: Film, printed: PrintedImage) -> np.ndarray:
    """The 8-bit display values of one image as it prints (before resampling)."""
    image = printed.image
    pixels = image.pixels
    crop = printed.placement.crop
    if crop is not None:
        left, top, right, bottom = crop
        pixels = pixels[top:bottom, left:right]
    if film.color:
        return 255 - pixels if printed.reverse else np.ascontiguousarray(pixels)
    values = pixels.astype(np.float32) / float((1 << image.bits) - 1)
    if image.monochrome1 != printed.reverse:
        values = 1.0 - values
    white = formats.density_level(film.min_density)
    black = formats.density_level(film.max_density)
    return np.rint(black + values * (white - black)).astype(np.uint8)


def _picture(film: Film, printed: PrintedImage, dpi: int) -> Image.Image:
    rect = printed.placement.rect
    size = (
        max(1, round(rect.width * dpi / formats.MM_PER_INCH)),
        max(1, round(rect.height * dpi / formats.MM_PER_INCH)),
    )
    picture = Image.fromarray(levels(film, printed))
    if picture.mode not in ("L", "RGB"):
        picture = picture.convert("RGB" if film.color else "L")
    if picture.size != size:
        picture = picture.resize(
            size, FILTERS.get(printed.magnification, Image.Resampling.BILINEAR)
        )
    return picture


def _color(film: Film, level: int) -> Any:
    return (level, level, level) if film.color else level


def _gray(film: Film, density: int) -> Any:
    return _color(film, formats.density_level(density))


def _trim_gray(film: Film) -> int:
    """A frame colour that shows against the border: the lightest or darkest density."""
    border = formats.density_level(film.border_density)
    return formats.density_level(film.min_density if border < 128 else film.max_density)


def _px(value_mm: float, dpi: int) -> int:
    return round(value_mm * dpi / formats.MM_PER_INCH)


def render_png(film: Film) -> bytes:
    """The film as a PNG preview at ``PREVIEW_DPI``."""
    dpi = PREVIEW_DPI
    geometry = film.geometry
    mode = "RGB" if film.color else "L"
    sheet = Image.new(
        mode,
        (_px(geometry.width_mm, dpi), _px(geometry.height_mm, dpi)),
        _gray(film, film.border_density),
    )
    draw = ImageDraw.Draw(sheet)
    filled = {printed.position for printed in film.images}
    for position, box in enumerate(geometry.boxes, start=1):
        if position not in filled:
            draw.rectangle(_box_px(box, dpi), fill=_gray(film, film.empty_density))
    for printed in film.images:
        rect = printed.placement.rect
        sheet.paste(_picture(film, printed, dpi), (_px(rect.x, dpi), _px(rect.y, dpi)))
        if film.trim:
            draw.rectangle(_box_px(rect, dpi), outline=_color(film, _trim_gray(film)), width=1)
    font = ImageFont.load_default(size=max(8, round(ANNOTATION_POINTS * dpi / 72)))
    for rect, text in film.annotations:
        where = (_px(rect.x, dpi), _px(rect.y + rect.height / 2, dpi))
        draw.text(where, text, fill=_color(film, _trim_gray(film)), font=font, anchor="lm")
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _box_px(rect: formats.Rect, dpi: int) -> tuple[int, int, int, int]:
    return (
        _px(rect.x, dpi),
        _px(rect.y, dpi),
        _px(rect.x + rect.width, dpi) - 1,
        _px(rect.y + rect.height, dpi) - 1,
    )


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(films: list[Film], *, title: str = "") -> bytes:
    """The films as one PDF, a page per film at its size and orientation."""
    pdf = FPDF(unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creator("Vesalius")
    if title:
        pdf.set_title(_latin1(title))
    for film in films:
        geometry = film.geometry
        # fpdf2 takes the format as it is with "P" (and turns it with "L")
        pdf.add_page(orientation="P", format=(geometry.width_mm, geometry.height_mm))
        _fill(pdf, film.border_density, 0, 0, geometry.width_mm, geometry.height_mm)
        filled = {printed.position for printed in film.images}
        for position, box in enumerate(geometry.boxes, start=1):
            if position not in filled:
                _fill(pdf, film.empty_density, box.x, box.y, box.width, box.height)
        for printed in film.images:
            rect = printed.placement.rect
            pdf.image(_picture(film, printed, film.dpi), rect.x, rect.y, rect.width, rect.height)
            if film.trim:
                pdf.set_draw_color(_trim_gray(film))
                pdf.set_line_width(TRIM_MM)
                pdf.rect(rect.x, rect.y, rect.width, rect.height, style="D")
        pdf.set_font("helvetica", size=ANNOTATION_POINTS)
        pdf.set_text_color(_trim_gray(film))
        for rect, text in film.annotations:
            pdf.set_xy(rect.x, rect.y)
            pdf.cell(rect.width, rect.height, _latin1(text), align="L")
    return bytes(pdf.output())


def _fill(pdf: FPDF, density: int, x: float, y: float, width: float, height: float) -> None:
    pdf.set_fill_color(formats.density_level(density))
    pdf.rect(x, y, width, height, style="F")
