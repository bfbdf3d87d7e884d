"""Decoding and rendering of DICOM pixel data: the one implementation everybody calls.

WADO-RS /rendered, /thumbnail and /frames, WADO-URI, the viewer, export and print
all go through these functions, so an image decodes and looks the same everywhere.

::

    frame_count(ds)                      how many frames (0: no pixel data)
    decode_frame(ds, i)                  stored values of one frame, colour as RGB
    render_frame(ds, i, window, viewport)  8-bit display image (numpy)
    encode_image(pixels, media_type)     PNG or JPEG bytes
    render(ds, i, media_type=...)        render_frame + encode_image
    thumbnail(ds, size=128)              middle frame, fitted in size x size
    native_frame(ds, i)                  uncompressed little-endian frame bytes
    encapsulated_frame(ds, i)            the compressed bitstream of a frame, as stored
    parse_window(text), parse_viewport(text)   DICOMweb query parameters

Frame indices are 0-based (DICOMweb frame numbers are 1-based: subtract one).
Everything that goes wrong raises :class:`RenderError`, a ``ValueError`` with a
one-line message. Details: ``docs/imaging.md``.
"""

from __future__ import annotations

from vesalius.imaging.errors import RenderError
from vesalius.imaging.luts import Window
from vesalius.imaging.params import parse_viewport, parse_window
from vesalius.imaging.pixels import decode_frame, encapsulated_frame, frame_count, native_frame
from vesalius.imaging.render import encode_image, render, render_frame, thumbnail

__all__ = [
    "RenderError",
    "Window",
    "decode_frame",
    "encapsulated_frame",
    "encode_image",
    "frame_count",
    "native_frame",
    "parse_viewport",
    "parse_window",
    "render",
    "render_frame",
    "thumbnail",
]
