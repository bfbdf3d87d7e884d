"""Off-line media and export: DICOMDIR File-sets, ISO images, ZIP, pictures and movies.

Pure core-side code over the ``Archive`` (no front door, FastAPI or network
class is imported here). The modules, each of one purpose::

    selection    what to export, from the index: patients/studies/series -> instances
    naming       the readable Patient/Study/Series/ tree (also the ZIP downloads')
    sinks        where files go: a folder or a ZIP written as it goes
    dicomdir     directory records and the DICOMDIR encoding (PS3.10, PS3.3 F)
    fileset      a File-set from the archive, STD-GEN-CD or STD-GEN-USB (PS3.11)
    iso          an ISO 9660 image of a File-set (pycdlib)
    viewerpage   INDEX.HTM, the page that lists a medium's content
    pictures     JPEG / PNG / TIFF per frame, through the shared imaging package
    annotations  burned-in corner text
    movies       MP4 (imageio-ffmpeg) and GIF per cine loop or series
    export       one export, any format: export(archive, request, target, tracker)
    jobs         exports as background jobs with a downloadable file
    reading      import side: a folder or ISO with a DICOMDIR, file by file
    tracking     progress counts, cancel, and the export errors

Details: ``docs/media.md``.
"""

from __future__ import annotations

from vesalius.media.export import FORMATS, ExportRequest, ExportResult, export
from vesalius.media.selection import Selection
from vesalius.media.tracking import ExportCancelled, ExportError, Tracker

__all__ = [
    "FORMATS",
    "ExportCancelled",
    "ExportError",
    "ExportRequest",
    "ExportResult",
    "Selection",
    "Tracker",
    "export",
]
