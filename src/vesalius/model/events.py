"""What happened in the archive, announced after the fact to whoever listens."""

from __future__ import annotations

from dataclasses import dataclass

from vesalius.model.origin import Origin


@dataclass(frozen=True, slots=True)
class InstanceStored:
    """An instance is durably stored and indexed (``outcome``: stored or replaced)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    transfer_syntax_uid: str
    size: int
    outcome: str
    origin: Origin
