"""Modality Performed Procedure Step SCP (PS3.4 F.7): N-CREATE and N-SET.

Each handler translates the request, makes one core call
(``archive.mpps.create`` or ``update``) and answers its status: 0000 with the
step's attributes, or the status and Error Comment of the rule that refused
it (``model.mpps``: 0106, 0110 with Error ID A710, 0111, 0112, 0120, 0121).
An N-CREATE without an Affected SOP Instance UID gets one made here, and
the answer carries it (PS3.7 10.1.5.1.4).
"""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom.events import Event

from vesalius.archive import mpps
from vesalius.archive.archive import Archive
from vesalius.dimse.status import SUCCESS, status, status_of
from vesalius.model.mpps import MISSING_ATTRIBUTE, MppsError
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse.mpps")


def _refusal(error: MppsError) -> Dataset:
    answer = status(error.status, str(error))
    if error.error_id is not None:
        answer.ErrorID = error.error_id
    return answer


def handle_mpps_create(
    event: Event, archive: Archive, _settings: Settings
) -> tuple[Dataset | int, Dataset | None]:
    """Record a new step IN PROGRESS; answer 0000 with its attributes, or the refusal."""
    request = event.request
    uid = str(request.AffectedSOPInstanceUID or "") or generate_uid()
    try:
        attributes = event.attribute_list
        if attributes is None:
            raise MppsError(MISSING_ATTRIBUTE, "the N-CREATE carries no attribute list")
        mpps.create(archive, uid, attributes)
    except MppsError as error:
        LOG.info("N-CREATE of step %s refused: %04X %s", uid, error.status, error)
        return _refusal(error), None
    except Exception as error:
        return status_of(error), None
    answer = Dataset()
    answer.update(attributes)
    if request.AffectedSOPInstanceUID is None:
        answer.AffectedSOPInstanceUID = uid  # pynetdicom moves it into the command
    return SUCCESS, answer


def handle_mpps_set(
    event: Event, archive: Archive, _settings: Settings
) -> tuple[Dataset | int, Dataset | None]:
    """Apply an N-SET to a step; answer 0000 with what changed, or the refusal."""
    uid = str(event.request.RequestedSOPInstanceUID or "")
    try:
        modifications = event.modification_list
        if modifications is None:
            raise MppsError(MISSING_ATTRIBUTE, "the N-SET carries no modification list")
        mpps.update(archive, uid, modifications)
    except MppsError as error:
        LOG.info("N-SET of step %s refused: %04X %s", uid, error.status, error)
        return _refusal(error), None
    except Exception as error:
        return status_of(error), None
    return SUCCESS, modifications
