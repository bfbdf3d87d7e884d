"""Vesalius: a DICOM archive and workstation server."""

__version__ = "0.1.0"

IMPLEMENTATION_CLASS_UID = "2.25.229373585617473208519932488315441830105"
"""Identifies files and associations made by Vesalius (a UUID-derived UID, PS3.5 B.2)."""

IMPLEMENTATION_VERSION_NAME = "VESALIUS_" + __version__.replace(".", "")
"""Up to 16 characters, sent in associations and written in file meta information."""
