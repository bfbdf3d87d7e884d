"""Print SCP on the DICOM port: a virtual film printer (PS3.4 H, Basic Print Management).

Each handler translates one N-* request into a call on the association's
``PrintSession`` (``vesalius.printing.session``) and answers its status; a
``PrintError`` carries the status that refuses a request, with its reason in
the Error Comment. An N-ACTION (print) records a PENDING job and answers with
its Referenced Print Job Sequence; a thread then prints it, one job at a time,
and, when the caller negotiated the Print Job SOP Class, reports each state
(PENDING, PRINTING, DONE or FAILURE) by N-EVENT-REPORT on the same
association, after our answer has left and unless the caller has already sent
its next request (so that the two never cross). A change of the printer's
status seen after a job is reported by a Printer N-EVENT-REPORT.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pynetdicom.association import Association
from pynetdicom.events import Event

from vesalius import IMPLEMENTATION_VERSION_NAME, __version__, sopclasses
from vesalius.dimse.association import origin_of
from vesalius.printing import rules
from vesalius.printing.compose import Film
from vesalius.printing.jobs import (
    DONE,
    FAILURE,
    PENDING,
    PRINTING,
    PrintJob,
    PrintJobs,
    print_folder,
)
from vesalius.printing.rules import PrintError
from vesalius.printing.session import PrintSession
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse.printing")

PRINT = 1
"""Action Type ID of Print (PS3.4 H.4.1.2.4, H.4.2.2.4)."""
JOB_EVENTS = {PENDING: 1, PRINTING: 2, DONE: 3, FAILURE: 4}
PRINTER_EVENTS = {"NORMAL": 1, "WARNING": 2, "FAILURE": 3}
ANSWER_TIMEOUT = 10.0
"""Seconds a job's reports wait for our N-ACTION answer to leave."""
REPORT_TIMEOUT = 10.0
"""Seconds to wait for the caller's answer to one report."""

Answer = tuple[Dataset | int, Dataset | None]


class Printer:
    """The printer of this process: its jobs folder, its name, its queue."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.dicom.ae_title
        self.jobs = PrintJobs(print_folder(settings), command=settings.print.command)

    def attributes(self) -> Dataset:
        """The Printer SOP Instance's attributes (PS3.3 C.13.9)."""
        status, info = self.jobs.status()
        printer = Dataset()
        printer.Manufacturer = "Vesalius"
        printer.ManufacturerModelName = "Virtual film printer (PDF and PNG)"
        printer.SoftwareVersions = [__version__, IMPLEMENTATION_VERSION_NAME]
        printer.PrinterStatus = status
        printer.PrinterStatusInfo = info
        printer.PrinterName = self.name
        return printer


def _status(code: int, comment: str = "") -> Dataset:
    answer = Dataset()
    answer.Status = code
    if comment and code != rules.SUCCESS:
        answer.ErrorComment = comment.replace("\\", "/")[:64]  # LO: no backslash
    return answer


def _answering(operation: Callable[[], Answer], what: str) -> Answer:
    """Run one request; a refusal or failure becomes its status, never a crash."""
    try:
        return operation()
    except PrintError as refused:
        LOG.warning("%s refused (%04X): %s", what, refused.status, refused)
        return _status(refused.status, str(refused)), None
    except Exception:
        LOG.exception("%s failed", what)
        return _status(rules.PROCESSING_FAILURE, "internal error"), None


def _session(event: Event) -> PrintSession:
    assoc = event.assoc
    session = getattr(assoc, "_vesalius_print", None)
    if session is None:
        meta = str(event.context.abstract_syntax)
        session = PrintSession(color=meta == sopclasses.BASIC_COLOR_PRINT_META)
        assoc._vesalius_print = session  # type: ignore[attr-defined]
        assoc._vesalius_print_meta = meta  # type: ignore[attr-defined]
    return session


def _created(uid: str, warnings: rules.Warnings, attributes: Dataset, requested: bool) -> Answer:
    """An N-CREATE answer naming the new instance, also when it is a warning: pynetdicom
    takes the UID from the attribute list on success only, from the status otherwise."""
    answer = _status(warnings.status, warnings.comment)
    if not requested:
        answer.AffectedSOPInstanceUID = uid
        if warnings.status == rules.SUCCESS:
            attributes.AffectedSOPInstanceUID = uid
    return answer, attributes


# -- N-CREATE -------------------------------------------------------------------
def create_film_session(event: Event, printer: Printer) -> Answer:
    """N-CREATE Basic Film Session: one per association (PS3.4 H.4.1.2.1)."""

    def create() -> Answer:
        session = _session(event)
        requested = event.request.AffectedSOPInstanceUID
        uid, warnings = session.create_session(requested, event.attribute_list)
        LOG.info("film session %s created for %s", uid, origin_of(event.assoc).calling_aet)
        return _created(uid, warnings, session.attributes.copy(), bool(requested))

    return _answering(create, "film session N-CREATE")


def create_film_box(event: Event, printer: Printer) -> Answer:
    """N-CREATE Basic Film Box: answers its attributes and Referenced Image Box Sequence."""

    def create() -> Answer:
        requested = event.request.AffectedSOPInstanceUID
        film_box, warnings = _session(event).create_film_box(requested, event.attribute_list)
        return _created(film_box.uid, warnings, film_box.attributes.copy(), bool(requested))

    return _answering(create, "film box N-CREATE")


# -- N-SET ----------------------------------------------------------------------
def _set(
    event: Event, change: Callable[[str, Dataset | None], rules.Warnings], what: str
) -> Answer:
    def set_() -> Answer:
        warnings = change(str(event.request.RequestedSOPInstanceUID), event.modification_list)
        echoed = Dataset()
        for element in event.modification_list or []:
            if element.VR != "SQ":
                echoed.add(element)
        return _status(warnings.status, warnings.comment), echoed

    return _answering(set_, what)


def set_film_session(event: Event, printer: Printer) -> Answer:
    """N-SET Basic Film Session."""
    return _set(event, _session(event).set_session, "film session N-SET")


def set_film_box(event: Event, printer: Printer) -> Answer:
    """N-SET Basic Film Box (densities, magnification, trim; not the layout)."""
    return _set(event, _session(event).set_film_box, "film box N-SET")


def set_image_box(event: Event, printer: Printer) -> Answer:
    """N-SET Basic Grayscale or Color Image Box: the image, polarity, sizing."""
    return _set(event, _session(event).set_image_box, "image box N-SET")


def set_annotation_box(event: Event, printer: Printer) -> Answer:
    """N-SET Basic Annotation Box: its text."""
    return _set(event, _session(event).set_annotation_box, "annotation box N-SET")


# -- N-DELETE -------------------------------------------------------------------
def delete_film_session(event: Event, printer: Printer) -> Dataset | int:
    """N-DELETE Basic Film Session, with its film boxes."""
    status, _ = _answering(
        lambda: _deleted(_session(event).delete_session, event), "film session N-DELETE"
    )
    return status


def delete_film_box(event: Event, printer: Printer) -> Dataset | int:
    """N-DELETE Basic Film Box."""
    status, _ = _answering(
        lambda: _deleted(_session(event).delete_film_box, event), "film box N-DELETE"
    )
    return status


def _deleted(delete: Callable[[str], None], event: Event) -> Answer:
    delete(str(event.request.RequestedSOPInstanceUID))
    return _status(rules.SUCCESS), None


# -- N-GET ----------------------------------------------------------------------
def _only(attributes: Dataset, identifiers: Any) -> tuple[int, Dataset]:
    """The attributes asked for (all when none is named); 0107 when some are unknown."""
    if not identifiers:
        return rules.SUCCESS, attributes
    chosen = Dataset()
    unknown = False
    for identifier in identifiers:
        tag = Tag(identifier)
        if tag in attributes:
            chosen.add(attributes[tag])
        else:
            unknown = True
    return (rules.ATTRIBUTE_LIST_ERROR if unknown else rules.SUCCESS), chosen


def get_printer(event: Event, printer: Printer) -> Answer:
    """N-GET Printer: status, status info, name (PS3.4 H.4.6)."""

    def get() -> Answer:
        if event.request.RequestedSOPInstanceUID != sopclasses.PRINTER_INSTANCE:
            raise PrintError(rules.NO_SUCH_INSTANCE, "the printer is 1.2.840.10008.5.1.1.17")
        code, attributes = _only(printer.attributes(), event.attribute_identifiers)
        return _status(code), attributes

    return _answering(get, "printer N-GET")


def job_attributes(job: PrintJob, printer: Printer) -> Dataset:
    """The Print Job SOP Instance's attributes (PS3.3 C.13.8)."""
    attributes = Dataset()
    attributes.ExecutionStatus = job.state
    attributes.ExecutionStatusInfo = job.info or "NORMAL"
    attributes.PrintPriority = job.priority
    attributes.CreationDate = job.created[:10].replace("-", "")
    attributes.CreationTime = job.created[11:19].replace(":", "")
    attributes.PrinterName = printer.name
    attributes.Originator = job.originator
    return attributes


def get_print_job(event: Event, printer: Printer) -> Answer:
    """N-GET Print Job: its execution status (PS3.4 H.4.4)."""

    def get() -> Answer:
        uid = str(event.request.RequestedSOPInstanceUID)
        job = printer.jobs.by_uid(uid)
        if job is None:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no print job {uid}")
        code, attributes = _only(job_attributes(job, printer), event.attribute_identifiers)
        return _status(code), attributes

    return _answering(get, "print job N-GET")


# -- N-ACTION -------------------------------------------------------------------
def print_film_session(event: Event, printer: Printer) -> Answer:
    """N-ACTION Print of the film session: every film box, as one job (collated)."""
    return _print(event, printer, _session(event).films_of_session, "film session N-ACTION")


def print_film_box(event: Event, printer: Printer) -> Answer:
    """N-ACTION Print of one film box; B603 when it holds no image (an empty page)."""
    return _print(event, printer, _session(event).films_of_box, "film box N-ACTION")


def _print(
    event: Event,
    printer: Printer,
    films_of: Callable[[str], tuple[list[Film], int]],
    what: str,
) -> Answer:
    def act() -> Answer:
        if event.action_type != PRINT:
            raise PrintError(rules.NO_SUCH_ACTION, f"action type {event.action_type}")
        session = _session(event)
        films, code = films_of(str(event.request.RequestedSOPInstanceUID))
        job = printer.jobs.create(
            originator=origin_of(event.assoc).calling_aet,
            session={
                k: session.attributes.get(k, "")
                for k in ("PrintPriority", "NumberOfCopies", "FilmSessionLabel")
            },
            films=films,
            color=session.color,
        )
        sent = _expect_answer(event.assoc, int(event.request.MessageID))
        worker = threading.Thread(
            target=_run_job,
            args=(event.assoc, printer, job, films, sent),
            daemon=True,
            name=f"print-{job.id}",
        )
        worker.start()
        reply = Dataset()
        if _accepted(event.assoc, sopclasses.PRINT_JOB):
            item = Dataset()
            item.ReferencedSOPClassUID = sopclasses.PRINT_JOB
            item.ReferencedSOPInstanceUID = job.uid
            reply.ReferencedPrintJobSequence = [item]
        LOG.info("print job %s: %d film(s) queued (%s)", job.id, len(films), what)
        comment = (
            "empty page" if code in (rules.FILM_BOX_EMPTY_PAGE, rules.SESSION_EMPTY_PAGE) else ""
        )
        return _status(code, comment), reply

    return _answering(act, what)


def _accepted(assoc: Association, sop_class: str) -> bool:
    return any(cx.abstract_syntax == sop_class for cx in assoc.accepted_contexts)


class _Sender:
    """The association's DIMSE sends, one whole message at a time, telling a print job's
    thread when our response to its N-ACTION is queued.

    pynetdicom announces a message (EVT_DIMSE_SENT) before it queues its
    fragments, and lets other threads send while a handler runs; two messages
    queued at once could have their fragments mixed. So the association's DIMSE
    provider is wrapped, while it holds a film session, to queue each message
    whole and to say when a given response has been queued.
    """

    def __init__(self, assoc: Association) -> None:
        self.dimse = assoc.dimse
        self.lock = threading.Lock()
        self.waiting: dict[int, threading.Event] = {}
        self.dimse.send_msg = self.send_msg  # type: ignore[method-assign]

    def send_msg(self, primitive: Any, context_id: int) -> None:
        """Queue one message whole; wake whoever waits for this response."""
        with self.lock:
            type(self.dimse).send_msg(self.dimse, primitive, context_id)
        sent = self.waiting.pop(getattr(primitive, "MessageIDBeingRespondedTo", None) or -1, None)
        if sent is not None:
            sent.set()

    def expect(self, message_id: int) -> threading.Event:
        """An event set once our response to request ``message_id`` is queued whole."""
        sent = threading.Event()
        self.waiting[message_id] = sent
        return sent


def _expect_answer(assoc: Association, message_id: int) -> threading.Event:
    sender = getattr(assoc, "_vesalius_print_sender", None)
    if sender is None:
        sender = _Sender(assoc)
        assoc._vesalius_print_sender = sender  # type: ignore[attr-defined]
    return sender.expect(message_id)


def _run_job(
    assoc: Association, printer: Printer, job: PrintJob, films: list[Film], sent: threading.Event
) -> None:
    """Print the job; report its states on the association while that is possible."""
    before = printer.jobs.status()[0]
    answered = sent.wait(ANSWER_TIMEOUT)

    def report(current: PrintJob) -> None:
        if answered and _accepted(assoc, sopclasses.PRINT_JOB):
            information = Dataset()
            information.ExecutionStatusInfo = current.info or "NORMAL"
            information.FilmSessionLabel = current.label
            information.PrinterName = printer.name
            _report(
                assoc, information, JOB_EVENTS[current.state], sopclasses.PRINT_JOB, current.uid
            )

    report(job)
    printer.jobs.run(job, films, report)
    status, info = printer.jobs.status()
    if answered and status != before:
        information = Dataset()
        information.PrinterStatusInfo = info
        information.PrinterName = printer.name
        meta = getattr(assoc, "_vesalius_print_meta", sopclasses.BASIC_GRAYSCALE_PRINT_META)
        _report(
            assoc, information, PRINTER_EVENTS[status], sopclasses.PRINTER,
            sopclasses.PRINTER_INSTANCE, meta=meta,
        )  # fmt: skip


def _idle(assoc: Association) -> bool:
    """True when the caller has sent nothing we have not answered yet."""
    return assoc.dul.peek_next_pdu() is None and assoc.dimse.msg_queue.empty()


def _report(
    assoc: Association,
    information: Dataset,
    event_type: int,
    sop_class: str,
    instance: str,
    *,
    meta: str | None = None,
) -> None:
    """One N-EVENT-REPORT, unless the association is gone or its caller has moved on."""
    if not assoc.is_established or not _idle(assoc):
        LOG.info("print report %d on %s not sent: the caller has moved on", event_type, instance)
        return
    previous = assoc.dimse_timeout
    assoc.dimse_timeout = REPORT_TIMEOUT
    try:
        assoc.send_n_event_report(information, event_type, sop_class, instance, meta_uid=meta)
    except Exception as exc:
        LOG.info("print report %d on %s not sent: %s", event_type, instance, exc)
    finally:
        assoc.dimse_timeout = previous
