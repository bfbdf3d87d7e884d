"""The DICOMweb rendering parameters ``window`` and ``viewport`` (PS3.18 8.3.5.1).

``window=center,width,function`` (8.3.5.1.3), function ``linear``, ``linear-exact``
or ``sigmoid``; ``viewport=vw,vh[,sx,sy,sw,sh]`` (8.3.5.1.2). Both raise
:class:`RenderError` on text that does not parse, for the endpoint to answer 400.
"""

from __future__ import annotations

import math

from vesalius.imaging.errors import RenderError
from vesalius.imaging.luts import Window

WINDOW_FUNCTIONS = {
    "linear": "linear",
    "linear-exact": "linear_exact",
    "linear_exact": "linear_exact",
    "sigmoid": "sigmoid",
}
"""DICOMweb function names (and the VOI LUT Function spelling) -> ours."""


def parse_window(text: str) -> Window:
    """``"center,width"`` or ``"center,width,function"`` -> :class:`Window`.

    The function defaults to linear; names are case-insensitive.
    """
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) not in (2, 3):
        raise RenderError(f"window {text!r} is not center,width[,function]")
    center, width = (_number(part, "window", text) for part in parts[:2])
    function = "linear"
    if len(parts) == 3:
        name = parts[2].lower()
        if name not in WINDOW_FUNCTIONS:
            raise RenderError(
                f"window function {parts[2]!r} is not one of linear, linear-exact, sigmoid"
            )
        function = WINDOW_FUNCTIONS[name]
    return Window(center, width, function)


def parse_viewport(text: str) -> tuple[int, int]:
    """``"vw,vh"`` or ``"vw,vh,sx,sy,sw,sh"`` -> ``(vw, vh)``, the largest width and height.

    The source rectangle ``sx,sy,sw,sh`` (cropping) is checked to be numbers where
    given, and otherwise ignored: the whole frame is always rendered.
    """
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) not in (2, 6):
        raise RenderError(f"viewport {text!r} is not vw,vh or vw,vh,sx,sy,sw,sh")
    sizes = []
    for part in parts[:2]:
        if not part.isdigit() or int(part) < 1:
            raise RenderError(f"viewport {text!r}: vw and vh must be positive whole numbers")
        sizes.append(int(part))
    for part in parts[2:]:
        if part:
            _number(part, "viewport", text)
    return sizes[0], sizes[1]


def _number(part: str, name: str, text: str) -> float:
    """A finite number from one comma-separated value, or RenderError."""
    try:
        value = float(part)
    except ValueError:
        raise RenderError(f"{name} {text!r}: {part!r} is not a number") from None
    if not math.isfinite(value):
        raise RenderError(f"{name} {text!r}: {part!r} is not a finite number")
    return value
