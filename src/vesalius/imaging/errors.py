"""The one error of ``vesalius.imaging``.

::

    ValueError
    +-- RenderError    no pixel data, a syntax we cannot decode, a frame number out of
                       range, a bad window, size, quality or media type

The message is one line meant for the caller (an HTTP 400/404/406 body, a CLI error).
"""

from __future__ import annotations


class RenderError(ValueError):
    """Pixel data that cannot be decoded or rendered as asked; the message says why."""
