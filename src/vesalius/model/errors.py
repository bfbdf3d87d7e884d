"""Errors of the archive, each knowing the DIMSE and HTTP status it maps to.

::

    ArchiveError                     0110 Processing failure   / 500
    +-- InvalidObject                C000 Cannot understand    / 400
    |   +-- UidMismatch              A900 Data set does not match SOP class / 409
    +-- UnsupportedSopClass          0122 SOP class not supported / 415
    +-- OutOfResources               A700 Out of resources     / 507
    +-- NotFound                     C000 (no such object)     / 404
    +-- IdentifierMismatch           A900 Identifier does not match SOP class / 400
    +-- InvalidQuery                 A900 Identifier does not match SOP class / 400

The front doors map an error to a status through these attributes only
(PS3.4 B.2.3 for C-STORE statuses, PS3.7 C for their meaning).
"""

from __future__ import annotations


class ArchiveError(Exception):
    """Something the archive could not do; the message is meant for the caller."""

    dimse_status: int = 0x0110
    http_status: int = 500


class InvalidObject(ArchiveError):
    """The object cannot be parsed, or lacks what an archive needs (its UIDs)."""

    dimse_status = 0xC000
    http_status = 400


class UidMismatch(InvalidObject):
    """The data set's SOP Class or Instance UID differs from the one announced."""

    dimse_status = 0xA900
    http_status = 409


class UnsupportedSopClass(ArchiveError):
    """A SOP class this archive does not store."""

    dimse_status = 0x0122
    http_status = 415


class OutOfResources(ArchiveError):
    """The disk is full or below the configured free-space floor."""

    dimse_status = 0xA700
    http_status = 507


class NotFound(ArchiveError):
    """No such patient, study, series or instance."""

    dimse_status = 0xC000
    http_status = 404


class IdentifierMismatch(ArchiveError):
    """A retrieve identifier lacks a unique key, or names a level its model lacks."""

    dimse_status = 0xA900
    http_status = 400


class InvalidQuery(ArchiveError):
    """A query identifier that does not fit its information model (level, unique keys)."""

    dimse_status = 0xA900
    http_status = 400
