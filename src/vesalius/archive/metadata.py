"""Metadata of stored instances as DICOM JSON, made once per stored file and kept.

Reading every file's header for each request is what makes a study's
metadata slow; the first request parses each file (pixel data and other bulk
values are skipped, not read) and keeps the JSON in the index, keyed by the
file's blob name, so later requests read it back as text. URIs of bulk data
come from the caller's ``bulk_uri``, which must be the same for every call:
the text is kept as first made.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable

from pydicom import dcmread

from vesalius.index import metadata as kept_metadata
from vesalius.index.index import Index, StoredInstance
from vesalius.model.dicomjson import dataset_to_json
from vesalius.storage.base import BlobStore

BulkUri = Callable[[str, str, str, str], str]
"""(study UID, series UID, SOP instance UID, attribute path) -> URI of a bulk value."""
DEFER = 1024


def metadata_bodies(
    index: Index, blobs: BlobStore, instances: list[StoredInstance], bulk_uri: BulkUri
) -> list[str]:
    """The DICOM JSON object of each instance, as text, in the order given."""
    names = [instance.blob_name for instance in instances]
    bodies = kept_metadata.kept(index, names)
    made = {
        instance.blob_name: _made(blobs, instance, bulk_uri)
        for instance in instances
        if instance.blob_name not in bodies
    }
    if made:
        kept_metadata.keep(index, made)
    return [bodies.get(name) or made[name] for name in names]


def _made(blobs: BlobStore, instance: StoredInstance, bulk_uri: BulkUri) -> str:
    with blobs.open(instance.blob_name) as stored, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(stored, defer_size=DEFER, force=True)
        study = str(dataset.get("StudyInstanceUID", ""))
        series = str(dataset.get("SeriesInstanceUID", ""))
        uid = instance.sop_instance_uid
        body = dataset_to_json(dataset, lambda path: bulk_uri(study, series, uid, path))
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
