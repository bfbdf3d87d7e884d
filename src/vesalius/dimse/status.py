"""Archive errors become DIMSE statuses here, and nowhere else (PS3.4 B.2.3, PS3.7 C)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydicom.dataset import Dataset

from vesalius.model.errors import ArchiveError

LOG = logging.getLogger("vesalius.dimse")
SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
ERROR_COMMENT_LENGTH = 64


def status(code: int, comment: str = "") -> Dataset:
    """A status data set, with an Error Comment (0000,0902) on failures."""
    answer = Dataset()
    answer.Status = code
    if comment and code != SUCCESS:
        answer.ErrorComment = comment[:ERROR_COMMENT_LENGTH]
    return answer


def status_of(error: BaseException) -> Dataset:
    """The status that answers a failed operation."""
    if isinstance(error, ArchiveError):
        return status(error.dimse_status, str(error))
    LOG.exception("unexpected failure", exc_info=error)
    return status(PROCESSING_FAILURE, f"internal error: {type(error).__name__}")


def answering(operation: Callable[[], Dataset | int]) -> Dataset | int:
    """Run a service operation; failures of any kind become a status, never a crash."""
    try:
        return operation()
    except Exception as error:
        return status_of(error)
