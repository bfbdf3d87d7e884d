"""C-STORE SCP (Storage, PS3.4 B): translate the request, make one archive call, answer."""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset
from pynetdicom.events import Event

from vesalius.archive.archive import Archive
from vesalius.dimse.association import origin_of
from vesalius.dimse.status import SUCCESS, answering
from vesalius.sopclasses import sop_class_name

LOG = logging.getLogger("vesalius.dimse.store")


def handle_store(event: Event, archive: Archive) -> Dataset | int:
    """Ingest the data set exactly as it came; answer 0000 only once it is durable."""
    request = event.request
    origin = origin_of(event.assoc)

    def store() -> Dataset | int:
        result = archive.store_dataset(
            request.DataSet,
            event.context.transfer_syntax,
            origin,
            sop_class_uid=request.AffectedSOPClassUID,
            sop_instance_uid=request.AffectedSOPInstanceUID,
        )
        LOG.info(
            "%s %s %s from %s: 0000",
            result.outcome,
            sop_class_name(result.sop_class_uid),
            result.sop_instance_uid,
            origin,
        )
        return SUCCESS

    answer = answering(store)
    if not isinstance(answer, int):
        LOG.warning(
            "refused %s %s from %s: %04X %s",
            sop_class_name(str(request.AffectedSOPClassUID)),
            request.AffectedSOPInstanceUID,
            origin,
            answer.Status,
            answer.get("ErrorComment", ""),
        )
    return answer
