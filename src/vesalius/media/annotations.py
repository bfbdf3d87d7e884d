"""Burned-in corner annotations on exported pictures and movies (``--annotate``).

Four corners, as a reading workstation shows them::

    DOE^JOHN                     2024-01-01
    ID 12345                     CHEST PA
    Se 3  Im 12  Fr 4/30         W 400  C 40

White text with a black outline, sized to the image, drawn on the 8-bit
rendering after windowing (the values are those of the image's header).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset

from vesalius.imaging import Window
from vesalius.imaging.luts import own_window
from vesalius.imaging.pixels import Array

MIN_FONT = 9
MAX_FONT = 28


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ValueError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    return "" if value is None else str(value).strip()


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


def corner_texts(
    dataset: Dataset, frame: int, frames: int, window: Window | None
) -> tuple[str, str, str, str]:
    """Top-left, top-right, bottom-left and bottom-right text for one frame."""
    top_left = "\n".join(
        line
        for line in (_text(dataset, "PatientName"), f"ID {_text(dataset, 'PatientID')}".strip())
        if line and line != "ID"
    )
    top_right = "\n".join(
        line
        for line in (_date(_text(dataset, "StudyDate")), _text(dataset, "StudyDescription")[:40])
        if line
    )
    place = [f"Se {_text(dataset, 'SeriesNumber')}", f"Im {_text(dataset, 'InstanceNumber')}"]
    if frames > 1:
        place.append(f"Fr {frame + 1}/{frames}")
    bottom_left = "  ".join(part for part in place if not part.endswith(" "))
    shown = window or own_window(dataset, frame)
    bottom_right = f"W {shown.width:g}  C {shown.center:g}" if shown is not None else ""
    return top_left, top_right, bottom_left, bottom_right


def annotate(
    pixels: Array, dataset: Dataset, frame: int, frames: int, window: Window | None
) -> Array:
    """A copy of an 8-bit rendering with the corner texts drawn on it."""
    image = Image.fromarray(np.ascontiguousarray(pixels))
    rows, cols = pixels.shape[:2]
    size = max(MIN_FONT, min(MAX_FONT, min(rows, cols) // 24))
    font = _font(size)
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255) if image.mode == "RGB" else 255
    black = (0, 0, 0) if image.mode == "RGB" else 0
    margin = max(2, size // 3)
    texts = corner_texts(dataset, frame, frames, window)
    anchors = (("la", "left"), ("ra", "right"), ("ld", "left"), ("rd", "right"))
    places = ((margin, margin), (cols - margin, margin), (margin, rows - margin),
              (cols - margin, rows - margin))  # fmt: skip
    for text, (anchor, align), place in zip(texts, anchors, places, strict=True):
        if text:
            draw.multiline_text(place, text, fill=white, font=font, anchor=anchor, align=align,
                                stroke_width=1, stroke_fill=black)  # fmt: skip
    return np.asarray(image)
