"""PALETTE COLOR: indices through the Red, Green and Blue Palette Color LUTs.

PS3.3 C.7.6.3.1.5 and C.7.6.3.1.6. Plain LUT data is read here, in the byte
order of the dataset (pydicom 3.0's ``apply_color_lut`` reads it in the machine's
order, which turns big-endian palettes to black); segmented LUTs (C.7.9.2) go to
pydicom, which expands them correctly.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut

from vesalius.imaging.errors import RenderError
from vesalius.imaging.luts import TOP, is_little_endian
from vesalius.imaging.pixels import Array

COLOURS = ("Red", "Green", "Blue")


def palette_levels(indices: Array, dataset: Dataset) -> Array:
    """RGB display levels 0..255 (float64, samples last) of a PALETTE COLOR frame."""
    descriptor = dataset.get("RedPaletteColorLookupTableDescriptor")
    if not descriptor or len(descriptor) < 3:
        raise RenderError("a PALETTE COLOR image without a Red Palette Color LUT Descriptor")
    if "RedPaletteColorLookupTableData" not in dataset:
        return _segmented(indices, dataset)
    entries = int(descriptor[0]) or 65536
    first, bits = int(descriptor[1]), int(descriptor[2])
    tables = [_table(dataset, colour, entries) for colour in COLOURS]
    largest = max(int(table.max()) for table in tables)
    if bits == 16 and largest <= 255:
        bits = 8  # 8-bit values under a 16-bit descriptor, a common encoder mistake
    scale = TOP / (2 ** max(bits, largest.bit_length(), 1) - 1)
    positions = np.clip(indices.astype(np.int64) - first, 0, entries - 1)
    return np.stack([table[positions] for table in tables], axis=-1) * scale


def _table(dataset: Dataset, colour: str, entries: int) -> Array:
    """One colour's LUT entries as float64, 8 or 16 bits each as the data length says."""
    element = dataset[f"{colour}PaletteColorLookupTableData"]
    data = element.value
    if not isinstance(data, bytes | bytearray):
        return np.asarray(data, dtype=np.float64).ravel()[:entries]  # US: one int or a list
    little = is_little_endian(dataset)
    if len(data) >= 2 * entries:
        return np.frombuffer(data, dtype="<u2" if little else ">u2")[:entries].astype(np.float64)
    raw = np.frombuffer(data, dtype=np.uint8)
    if not little and element.VR == "OW" and raw.size % 2 == 0:
        raw = raw.reshape(-1, 2)[:, ::-1].ravel()  # 8-bit entries in big-endian 16-bit words
    if raw.size < entries:
        raise RenderError(f"the {colour.lower()} palette holds fewer than {entries} entries")
    return raw[:entries].astype(np.float64)


def _segmented(indices: Array, dataset: Dataset) -> Array:
    """Levels through segmented palettes, which pydicom expands."""
    if "SegmentedRedPaletteColorLookupTableData" not in dataset:
        raise RenderError("a PALETTE COLOR image without palette data")
    try:
        rgb = apply_color_lut(indices, dataset)
    except Exception as exc:
        raise RenderError(f"cannot apply the palette: {' '.join(str(exc).split())}") from exc
    depth = 8 if rgb.dtype == np.uint8 else 16
    return rgb[..., :3].astype(np.float64) * (TOP / (2**depth - 1))
