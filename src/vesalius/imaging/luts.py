"""The grayscale pipeline of PS3.4 N.2.1: Modality LUT, then VOI LUT, down to 8 bits.

* Modality LUT (PS3.3 C.11.1): Rescale Slope/Intercept, or a Modality LUT Sequence.
  In multi-frame functional-group datasets (Enhanced CT/MR, PS3.3 C.7.6.16) the
  Pixel Value Transformation macro of the frame's per-frame item wins over the
  shared item, which wins over the top-level attributes.
* VOI (PS3.3 C.11.2): a window (center, width, VOI LUT Function: LINEAR,
  LINEAR_EXACT or SIGMOID, C.11.2.1.2 and C.11.2.1.3) or a VOI LUT Sequence, found
  the same way (Frame VOI LUT macro per frame, then shared, then top level).

The Modality LUT gives modality values (float64); the VOI functions give display
levels 0..255 (float64), which the caller rounds once at the end.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from vesalius.imaging.errors import RenderError
from vesalius.imaging.pixels import Array

FUNCTIONS = ("linear", "linear_exact", "sigmoid")
"""Our names for the VOI LUT Functions LINEAR, LINEAR_EXACT and SIGMOID."""

TOP = 255.0
"""The highest display level of an 8-bit image."""


@dataclass(frozen=True)
class Window:
    """A VOI window in modality units (e.g. Hounsfield units for CT).

    ``function`` is ``"linear"`` (PS3.3 C.11.2.1.2.1, width >= 1), ``"linear_exact"``
    (C.11.2.1.3.2) or ``"sigmoid"`` (C.11.2.1.3.1), both with width > 0.
    """

    center: float
    width: float
    function: str = "linear"

    def __post_init__(self) -> None:
        if self.function not in FUNCTIONS:
            raise RenderError(
                f"unknown window function {self.function!r} (one of {', '.join(FUNCTIONS)})"
            )
        for name in ("center", "width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise RenderError(f"window {name} {value!r} is not a number")
            if not math.isfinite(value):
                raise RenderError(f"window {name} {value!r} is not a finite number")
        if self.function == "linear" and self.width < 1:
            raise RenderError(f"a linear window needs a width >= 1, not {self.width:g}")
        if self.width <= 0:
            raise RenderError(f"a {self.function} window needs a width > 0, not {self.width:g}")


def apply_window(values: Array, window: Window) -> Array:
    """Display levels 0..255 (float64) of ``values`` seen through ``window``."""
    x = np.asarray(values, dtype=np.float64)
    if window.function == "sigmoid":
        # 255 / (1 + exp(-4 (x - c) / w)), written with tanh so that it never overflows
        return TOP * 0.5 * (1.0 + np.tanh(2.0 * (x - window.center) / window.width))
    if window.function == "linear_exact":
        center, width = window.center, window.width
    else:
        center, width = window.center - 0.5, window.width - 1.0
    if width == 0:  # a linear window of width 1 is a threshold at center - 0.5
        return np.where(x <= center, 0.0, TOP)
    return np.clip(((x - center) / width + 0.5) * TOP, 0.0, TOP)


def min_max_window(values: Array) -> Window | None:
    """The window spanning the frame's lowest to highest value; None if all are equal."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return None
    low, high = float(finite.min()), float(finite.max())
    if not high > low:
        return None
    return Window((low + high) / 2, high - low, "linear_exact")


def functional_items(dataset: Dataset, index: int) -> Iterator[Dataset]:
    """Where frame ``index`` finds its attributes: per-frame item, shared item, dataset."""
    for keyword, position in (
        ("PerFrameFunctionalGroupsSequence", index),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        items = dataset.get(keyword)
        if items and 0 <= position < len(items):
            yield items[position]
    yield dataset


def _macro(item: Dataset, keyword: str, dataset: Dataset) -> Dataset | None:
    """The first item of a functional-group macro, or the dataset itself at top level."""
    if item is dataset:
        return dataset
    sequence = item.get(keyword)
    return sequence[0] if sequence else None


def modality_lut(values: Array, dataset: Dataset, index: int) -> Array:
    """Stored values -> modality values (PS3.3 C.11.1), as float64."""
    for item in functional_items(dataset, index):
        source = _macro(item, "PixelValueTransformationSequence", dataset)
        if source is None:
            continue
        if source is dataset and dataset.get("ModalityLUTSequence"):
            lut = read_lut(dataset.ModalityLUTSequence[0], dataset)
            if lut is not None:
                return lut_lookup(values, lut)
        rescale = _rescale(source)
        if rescale is not None:
            slope, intercept = rescale
            return np.asarray(values, dtype=np.float64) * slope + intercept
    return np.asarray(values, dtype=np.float64)


def _rescale(source: Dataset) -> tuple[float, float] | None:
    """(slope, intercept) when both are present and numbers."""
    slope, intercept = source.get("RescaleSlope"), source.get("RescaleIntercept")
    if slope in (None, "") or intercept in (None, ""):
        return None
    try:
        return float(slope), float(intercept)
    except (TypeError, ValueError):
        return None


def own_window(dataset: Dataset, index: int) -> Window | None:
    """The image's first usable Window Center/Width with its VOI LUT Function, if any."""
    for item in functional_items(dataset, index):
        source = _macro(item, "FrameVOILUTSequence", dataset)
        if source is None:
            continue
        center = _first_number(source.get("WindowCenter"))
        width = _first_number(source.get("WindowWidth"))
        if center is None or width is None:
            continue
        function = str(source.get("VOILUTFunction") or "LINEAR").strip().lower()
        try:
            return Window(center, width, function)
        except RenderError:
            return None  # e.g. width 0: fall back to a VOI LUT or the frame's range
    return None


def own_voi_lut(dataset: Dataset, index: int) -> tuple[int, int, Array] | None:
    """The first VOI LUT Sequence item that applies to frame ``index``, read."""
    for item in functional_items(dataset, index):
        source = _macro(item, "FrameVOILUTSequence", dataset)
        if source is not None and source.get("VOILUTSequence"):
            return read_lut(source.VOILUTSequence[0], dataset)
    return None


def voi_lut_levels(values: Array, lut: tuple[int, int, Array]) -> Array:
    """Display levels 0..255 through a VOI LUT, scaled from the LUT's output depth.

    The depth is the third LUT Descriptor value, unless the LUT holds larger entries
    (a known encoder mistake), when the depth of its largest entry is used.
    """
    _first, bits, table = lut
    largest = int(table.max()) if table.size else 0
    bits = max(bits, largest.bit_length(), 1)
    return lut_lookup(values, lut) * (TOP / (2**bits - 1))


def read_lut(item: Dataset, dataset: Dataset) -> tuple[int, int, Array] | None:
    """(first value mapped, bits per entry, entries) of a LUT item (PS3.3 C.11.1.1.1)."""
    descriptor = item.get("LUTDescriptor")
    if not descriptor or len(descriptor) < 3 or "LUTData" not in item:
        return None
    element = item["LUTData"]
    if element.value is None:
        return None
    entries = int(descriptor[0]) or 65536
    first, bits = int(descriptor[1]), int(descriptor[2])
    data = element.value
    if isinstance(data, bytes | bytearray):
        order = "<" if is_little_endian(dataset) else ">"
        table = np.frombuffer(data, dtype=f"{order}u2")[:entries]
    else:
        table = np.asarray(data, dtype=np.int64).ravel()  # US/SS: one int or a list
    if table.size == 0:
        return None
    return first, bits, table.astype(np.float64)


def lut_lookup(values: Array, lut: tuple[int, int, Array]) -> Array:
    """Map values through a LUT: below the first entry -> first, past the last -> last."""
    first, _bits, table = lut
    positions = np.rint(np.asarray(values, dtype=np.float64)) - first
    indices = np.clip(np.nan_to_num(positions), 0, table.size - 1).astype(np.intp)
    return table[indices]


def is_little_endian(dataset: Dataset) -> bool:
    """Whether OW values in the dataset were encoded little endian."""
    meta = getattr(dataset, "file_meta", None)
    uid = meta.get("TransferSyntaxUID") if meta is not None else None
    if uid is not None and str(uid) == "1.2.840.10008.1.2.2":
        return False
    return dataset.original_encoding[1] is not False


def _first_number(value: Any) -> float | None:
    """The first value of a DS attribute (VM 1-n) as float, or None."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        value = value[0] if len(value) else None
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
