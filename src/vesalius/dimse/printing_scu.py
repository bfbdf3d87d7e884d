"""Print images on a DICOM printer (Basic Grayscale or Color Print Management as SCU).

``print_images`` opens one association, asks the printer for its status,
creates a film session, then for each film of the layout: creates a film box,
sets its image boxes (8-bit MONOCHROME2, or RGB by plane for colour), sets the
annotation box when the printer offers one, prints the film box, waits for the
print job to finish (by the printer's N-EVENT-REPORTs, else by N-GET of the
Print Job) and deletes the film box. Images come already rendered to 8 bits
(``vesalius.imaging.render_frame``), each with its own window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pynetdicom import build_context, evt
from pynetdicom.association import Association
from pynetdicom.events import Event

from vesalius import sopclasses
from vesalius.dimse.scu import ScuError, Target, client_ae, open_association

SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
PRINT = 1
JOB_STATES = {1: "PENDING", 2: "PRINTING", 3: "DONE", 4: "FAILURE"}
FINAL_STATES = ("DONE", "FAILURE")
EVENT_GRACE = 10.0
"""Seconds to wait for a first job report before asking for the job's status instead.

Generous on purpose: an N-GET sent while the printer sends a report crosses it,
which pynetdicom-based printers do not untangle."""
POLL_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class PrintOptions:
    """How to print: layout, film, colour, copies, annotation, and how long to wait."""

    columns: int = 1
    rows: int = 1
    film_size: str = "14INX17IN"
    orientation: str = "PORTRAIT"
    color: bool = False
    copies: int = 1
    annotation: str = ""
    wait_s: float = 60.0

    @property
    def per_film(self) -> int:
        """Images on one film."""
        return self.columns * self.rows


@dataclass
class FilmResult:
    """What became of one film: the printer's answer and its print job's last state."""

    number: int
    images: int
    status: int
    job_uid: str | None = None
    execution: str | None = None
    info: str = ""

    @property
    def ok(self) -> bool:
        """True when the printer took the film and its job did not fail."""
        return (self.status == SUCCESS or (self.status & 0xF000) == 0xB000) and (
            self.execution != "FAILURE"
        )


@dataclass
class PrintOutcome:
    """The printer's status before printing, and each film's result."""

    printer_status: str = ""
    printer_info: str = ""
    films: list[FilmResult] = field(default_factory=list)


class _Listener:
    """What the printer tells us on the association: created UIDs and job reports."""

    def __init__(self) -> None:
        self.created: dict[int, str] = {}
        self.jobs: dict[str, list[tuple[str, str]]] = {}
        self.changed = threading.Condition()

    def on_received(self, event: Event) -> None:
        """Note the instance UID each N-CREATE response names, by message ID."""
        command = event.message.command_set
        if "AffectedSOPInstanceUID" in command and "MessageIDBeingRespondedTo" in command:
            self.created[int(command.MessageIDBeingRespondedTo)] = str(
                command.AffectedSOPInstanceUID
            )

    def on_report(self, event: Event) -> tuple[int, None]:
        """Record a Print Job N-EVENT-REPORT (and accept every report)."""
        request = event.request
        if request.AffectedSOPClassUID == sopclasses.PRINT_JOB:
            state = JOB_STATES.get(int(event.event_type), "?")
            info = str((event.event_information or Dataset()).get("ExecutionStatusInfo", ""))
            with self.changed:
                self.jobs.setdefault(str(request.AffectedSOPInstanceUID), []).append((state, info))
                self.changed.notify_all()
        return SUCCESS, None

    def wait_final(self, job_uid: str, timeout: float) -> tuple[str, str] | None:
        """The job's final (or, after ``timeout``, last) reported state; None without any."""
        deadline = time.monotonic() + timeout

        def final() -> bool:
            states = self.jobs.get(job_uid, [])
            return bool(states) and states[-1][0] in FINAL_STATES

        with self.changed:
            if not self.changed.wait_for(lambda: job_uid in self.jobs, min(EVENT_GRACE, timeout)):
                return None
            self.changed.wait_for(final, max(0.0, deadline - time.monotonic()))
            return self.jobs[job_uid][-1]


def _image_item(pixels: np.ndarray, color: bool) -> Dataset:
    """A Basic Grayscale (8-bit MONOCHROME2) or Color (RGB by plane) Image Sequence item."""
    if color and pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    elif not color and pixels.ndim == 3:
        pixels = np.asarray(Image.fromarray(pixels).convert("L"))
    item = Dataset()
    item.SamplesPerPixel = 3 if color else 1
    item.PhotometricInterpretation = "RGB" if color else "MONOCHROME2"
    if color:
        item.PlanarConfiguration = 1
    item.Rows, item.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    item.PixelAspectRatio = [1, 1]
    item.BitsAllocated = 8
    item.BitsStored = 8
    item.HighBit = 7
    item.PixelRepresentation = 0
    data = pixels.transpose(2, 0, 1) if color else pixels
    item.PixelData = np.ascontiguousarray(data, dtype=np.uint8).tobytes()
    return item


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def _chunks(images: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    iterator = iter(images)
    while chunk := list(islice(iterator, size)):
        yield chunk


class _Printing:
    """One association to a printer, and the requests of ``print_images`` on it."""

    def __init__(self, assoc: Association, listener: _Listener, options: PrintOptions) -> None:
        self.assoc = assoc
        self.listener = listener
        self.options = options
        self.meta = (
            sopclasses.BASIC_COLOR_PRINT_META
            if options.color
            else sopclasses.BASIC_GRAYSCALE_PRINT_META
        )
        self.message_id = 0

    def _next_id(self) -> int:
        self.message_id += 1
        return self.message_id

    def accepted(self, sop_class: str) -> bool:
        """True when the printer accepted a context for ``sop_class``."""
        return any(cx.abstract_syntax == sop_class for cx in self.assoc.accepted_contexts)

    def _checked(self, status: Dataset, what: str) -> int:
        if "Status" not in status:
            raise ScuError(f"the printer did not answer the {what}")
        code = int(status.Status)
        if code != SUCCESS and (code & 0xF000) != 0xB000 and code not in (0x0107, 0x0116):
            comment = str(status.get("ErrorComment", "") or "")
            raise ScuError(f"the printer refused the {what}: status {code:04X} {comment}".strip())
        return code

    def create(self, sop_class: str, attributes: Dataset, what: str) -> tuple[str, Dataset]:
        """N-CREATE; the UID the printer gave the instance, and its attributes."""
        message_id = self._next_id()
        status, reply = self.assoc.send_n_create(
            attributes, sop_class, None, msg_id=message_id, meta_uid=self.meta
        )
        self._checked(status, what)
        uid = self.listener.created.get(message_id)
        if not uid:
            raise ScuError(f"the printer did not name the instance of the {what}")
        return uid, reply or Dataset()

    def printer_status(self) -> tuple[str, str]:
        """N-GET of the Printer: (Printer Status, Printer Status Info)."""
        status, reply = self.assoc.send_n_get(
            [0x21100010, 0x21100020],
            sopclasses.PRINTER,
            sopclasses.PRINTER_INSTANCE,
            msg_id=self._next_id(),
            meta_uid=self.meta,
        )
        self._checked(status, "printer N-GET")
        reply = reply or Dataset()
        return str(reply.get("PrinterStatus", "")), str(reply.get("PrinterStatusInfo", ""))

    def film_session(self) -> str:
        """N-CREATE of the film session (copies as asked, the rest the printer's)."""
        attributes = Dataset()
        attributes.NumberOfCopies = str(self.options.copies)
        uid, _ = self.create(sopclasses.BASIC_FILM_SESSION, attributes, "film session N-CREATE")
        return uid

    def film(self, number: int, session_uid: str, images: list[np.ndarray]) -> FilmResult:
        """One film: create the film box, set its boxes, print it, delete it."""
        options = self.options
        attributes = Dataset()
        attributes.ImageDisplayFormat = f"STANDARD\\{options.columns},{options.rows}"
        attributes.FilmOrientation = options.orientation
        attributes.FilmSizeID = options.film_size
        annotate = bool(options.annotation) and self.accepted(sopclasses.BASIC_ANNOTATION_BOX)
        if annotate:
            attributes.AnnotationDisplayFormatID = "ANNOTATION"
        attributes.ReferencedFilmSessionSequence = [
            _reference(sopclasses.BASIC_FILM_SESSION, session_uid)
        ]
        box_uid, reply = self.create(sopclasses.BASIC_FILM_BOX, attributes, "film box N-CREATE")
        try:
            boxes = list(reply.get("ReferencedImageBoxSequence") or [])
            if len(boxes) < len(images):
                raise ScuError(f"the printer made {len(boxes)} image boxes for {len(images)}")
            for position, (box, pixels) in enumerate(zip(boxes, images, strict=False), start=1):
                self.set_image(box, position, pixels)
            if annotate:
                for item in reply.get("ReferencedBasicAnnotationBoxSequence") or []:
                    self.set_annotation(item)
                    break
            return self.print_box(number, box_uid, len(images))
        finally:
            if self.assoc.is_established:
                self.assoc.send_n_delete(
                    sopclasses.BASIC_FILM_BOX, box_uid, msg_id=self._next_id(), meta_uid=self.meta
                )

    def set_image(self, box: Dataset, position: int, pixels: np.ndarray) -> None:
        """N-SET of one image box with its image."""
        modification = Dataset()
        modification.ImageBoxPosition = position
        keyword = "BasicColorImageSequence" if self.options.color else "BasicGrayscaleImageSequence"
        setattr(modification, keyword, [_image_item(pixels, self.options.color)])
        status, _ = self.assoc.send_n_set(
            modification,
            str(box.ReferencedSOPClassUID),
            str(box.ReferencedSOPInstanceUID),
            msg_id=self._next_id(),
            meta_uid=self.meta,
        )
        self._checked(status, f"image box {position} N-SET")

    def set_annotation(self, item: Dataset) -> None:
        """N-SET of the first annotation box with the annotation text."""
        modification = Dataset()
        modification.AnnotationPosition = 1
        modification.TextString = self.options.annotation[:64]
        status, _ = self.assoc.send_n_set(
            modification,
            sopclasses.BASIC_ANNOTATION_BOX,
            str(item.ReferencedSOPInstanceUID),
            msg_id=self._next_id(),
        )
        self._checked(status, "annotation box N-SET")

    def print_box(self, number: int, box_uid: str, count: int) -> FilmResult:
        """N-ACTION Print of a film box, then its job's final state."""
        status, reply = self.assoc.send_n_action(
            None,
            PRINT,
            sopclasses.BASIC_FILM_BOX,
            box_uid,
            msg_id=self._next_id(),
            meta_uid=self.meta,
        )
        code = self._checked(status, f"film {number} N-ACTION")
        result = FilmResult(number, count, code)
        jobs = (reply or Dataset()).get("ReferencedPrintJobSequence") or []
        if jobs and self.accepted(sopclasses.PRINT_JOB):
            result.job_uid = str(jobs[0].ReferencedSOPInstanceUID)
            result.execution, result.info = self.job_state(result.job_uid)
        return result

    def job_state(self, job_uid: str) -> tuple[str | None, str]:
        """The job's final state, from its reports, else by asking (N-GET) until it ends."""
        reported = self.listener.wait_final(job_uid, self.options.wait_s)
        if reported is not None:
            return reported
        deadline = time.monotonic() + self.options.wait_s
        while True:
            status, reply = self.assoc.send_n_get(
                [0x21000020, 0x21000030], sopclasses.PRINT_JOB, job_uid, msg_id=self._next_id()
            )
            if "Status" not in status or (int(status.Status) & 0xF000) not in (0x0000, 0xB000):
                return None, "the printer did not tell the job's status"
            reply = reply or Dataset()
            state = str(reply.get("ExecutionStatus", "") or "") or None
            if state in FINAL_STATES or time.monotonic() >= deadline:
                return state, str(reply.get("ExecutionStatusInfo", "") or "")
            time.sleep(POLL_INTERVAL)


def print_images(
    target: Target,
    images: Iterable[np.ndarray],
    options: PrintOptions,
    progress: Callable[[FilmResult], None] | None = None,
) -> PrintOutcome:
    """Print 8-bit images on ``target``, ``options.per_film`` to a film.

    ``ScuError`` when the printer cannot be reached, refuses the association or
    the film session, or reports FAILURE before printing.
    """
    listener = _Listener()
    meta = (
        sopclasses.BASIC_COLOR_PRINT_META
        if options.color
        else sopclasses.BASIC_GRAYSCALE_PRINT_META
    )
    contexts = [build_context(meta), build_context(sopclasses.PRINT_JOB)]
    if options.annotation:
        contexts.append(build_context(sopclasses.BASIC_ANNOTATION_BOX))
    handlers: list[Any] = [
        (evt.EVT_DIMSE_RECV, listener.on_received),
        (evt.EVT_N_EVENT_REPORT, listener.on_report),
    ]
    assoc = open_association(client_ae(target.calling_aet), target, contexts, handlers=handlers)
    outcome = PrintOutcome()
    try:
        printing = _Printing(assoc, listener, options)
        if not printing.accepted(meta):
            kind = "Color" if options.color else "Grayscale"
            raise ScuError(f"{target} does not accept Basic {kind} Print Management")
        outcome.printer_status, outcome.printer_info = printing.printer_status()
        if outcome.printer_status == "FAILURE":
            raise ScuError(f"{target} reports printer FAILURE ({outcome.printer_info})")
        session_uid = printing.film_session()
        for number, chunk in enumerate(_chunks(images, options.per_film), start=1):
            try:
                result = printing.film(number, session_uid, chunk)
            except ScuError as refused:
                if not assoc.is_established:
                    raise
                result = FilmResult(number, len(chunk), PROCESSING_FAILURE, info=str(refused))
            outcome.films.append(result)
            if progress is not None:
                progress(result)
        if assoc.is_established:
            assoc.send_n_delete(
                sopclasses.BASIC_FILM_SESSION,
                session_uid,
                msg_id=printing._next_id(),
                meta_uid=meta,
            )
    finally:
        if assoc.is_established:
            assoc.release()
    return outcome
