"""Text in the Specific Character Set: which VRs carry it, what splits it (PS3.5 6.1.2.3)."""

from __future__ import annotations

CHARSET_VRS = frozenset(("SH", "LO", "ST", "LT", "UC", "UT", "PN"))
"""VRs whose values are encoded in the data set's Specific Character Set."""

TEXT_DELIMITERS = {0x5C}
"""Backslash separates values; it resets the character set after code extensions."""

PN_DELIMITERS = {0x5C, 0x3D, 0x5E}
"""A person name also resets at its component group (=) and component (^) delimiters."""


def delimiters_for(vr: str) -> set[int]:
    """The delimiters that reset the character set within a value of this VR."""
    return PN_DELIMITERS if vr == "PN" else TEXT_DELIMITERS
