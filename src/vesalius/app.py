"""Composition root: the one place that wires settings, archive and front doors together.

``Node`` runs everything in this process (tests use it). ``serve`` runs the
server for real: it migrates and recovers the archive, opens the DICOM port,
forks the extra receiving processes that share it, and keeps them alive until
told to stop.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

from pydicom import config as pydicom_config

from vesalius.archive.archive import Archive
from vesalius.archive.runner import JobRunner
from vesalius.archive.users import Users
from vesalius.audit.messages import application_activity
from vesalius.audit.trail import AuditTrail, attach
from vesalius.dimse.association import AssociationGate
from vesalius.dimse.remote import DimseRemoteAEs
from vesalius.dimse.server import DicomServer, listening_socket, offered_contexts
from vesalius.hl7.listener import Hl7Listener
from vesalius.hl7.sender import MllpOutbox
from vesalius.settings import ConfigError, Settings
from vesalius.web.app import create_app
from vesalius.web.auth import exposure_refusal
from vesalius.web.server import HttpServer

LOG = logging.getLogger("vesalius")
SHUTDOWN_GRACE_S = 10
"""On SIGTERM: seconds the associations in flight get to end before they are aborted."""
_Bound = TypeVar("_Bound")
PR_SET_PDEATHSIG = 1


def tune_libraries() -> None:
    """Process-wide library settings for serving.

    pydicom validates every value it reads or writes against its VR; the server
    stores data sets as received and builds only command sets, so that check
    (a regular expression per UID of every DIMSE message) buys nothing there.
    """
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE


AUTO_WORKERS_MAX = 4
"""Each receiving process costs about 90 MB; past a few, the index lock is the limit."""


def worker_count(settings: Settings) -> int:
    """How many processes receive on the DICOM port."""
    return settings.dicom.workers or min(os.cpu_count() or 1, AUTO_WORKERS_MAX)


def make_gate(settings: Settings) -> AssociationGate:
    """The association gate of this configuration."""
    return AssociationGate(
        accept_unknown_callers=settings.dicom.accept_unknown_callers,
        peers=settings.peers,
        max_associations=settings.dicom.max_associations,
        unknown_caller_services=settings.dicom.unknown_caller_services,
    )


def record_activity(trail: AuditTrail, *, started: bool) -> None:
    """Audit this application starting or stopping, launched by this OS user."""
    launcher = ""
    with contextlib.suppress(Exception):
        launcher = getpass.getuser()
    trail.record(application_activity(trail.source, started=started, launcher=launcher))


def prepare_archive(settings: Settings) -> None:
    """Migrate the index and settle what a crash left half done, before serving.

    Raises ``ConfigError`` when the HTTP address would be open to other machines
    without users (``web.auth.exposure_refusal``).
    """
    archive = Archive.open(settings)
    try:
        refusal = exposure_refusal(settings, Users(archive.index).exist())
        if refusal is not None:
            raise ConfigError(refusal)
        archive.recover()
        interrupted = archive.jobs.release_own()  # other nodes' jobs: their leases decide
        if interrupted:
            LOG.warning("%d job(s) left running by this node before a restart failed", interrupted)
    finally:
        archive.close()


class Node:
    """An archive with its DICOM listener, and with ``http`` its HTTP one, in this process."""

    def __init__(self, settings: Settings, *, http: bool = False) -> None:
        tune_libraries()
        self.settings = settings
        self.archive = Archive.open(settings)
        self.audit = attach(self.archive, AuditTrail.open(settings))
        self.archive.recover()
        self.gate = make_gate(settings)
        self.socket = listening_socket(settings.dicom.host, settings.dicom.port)
        tls = settings.dicom.tls
        self.tls_socket = listening_socket(settings.dicom.host, tls.port) if tls.enabled else None
        self.dicom = DicomServer(settings, self.archive, self.gate, self.socket, self.tls_socket)
        self.http: HttpServer | None = None
        self.runner: JobRunner | None = None
        self.hl7 = Hl7Listener(self.archive, settings) if settings.hl7.enabled else None
        if http:
            remote = DimseRemoteAEs(self.archive, settings)
            self.runner = JobRunner(self.archive, remote, outbox=MllpOutbox(settings))
            app = create_app(self.archive, settings, remote=remote)
            app.state.dicom_port = self.dicom_port
            app.state.offered = offered_contexts(settings)
            self.http = HttpServer(
                app,
                listening_socket(settings.http.host, settings.http.port),
                tls_cert=settings.http.tls_cert,
                tls_key=settings.http.tls_key,
            )

    @property
    def http_port(self) -> int:
        """The HTTP port actually bound; the node must have been made with ``http``."""
        if self.http is None:
            raise RuntimeError("this node serves no HTTP")
        return self.http.port

    @property
    def base_url(self) -> str:
        """``http(s)://host:port`` of the HTTP listener."""
        scheme = "https" if self.settings.http.tls_cert else "http"
        return f"{scheme}://{self.settings.http.host}:{self.http_port}"

    @property
    def dicom_port(self) -> int:
        """The DICOM port actually bound (useful with port 0)."""
        return int(self.socket.getsockname()[1])

    @property
    def dicom_tls_port(self) -> int:
        """The DICOM TLS port actually bound; ``[dicom.tls] enabled`` must be true."""
        if self.tls_socket is None:
            raise RuntimeError("this node serves no DICOM over TLS")
        return int(self.tls_socket.getsockname()[1])

    @property
    def hl7_port(self) -> int:
        """The MLLP port actually bound; ``[hl7] enabled`` must be true."""
        if self.hl7 is None:
            raise RuntimeError("this node runs no HL7 listener")
        return self.hl7.port

    def start(self) -> Node:
        """Accept associations (and HTTP requests)."""
        self.dicom.start()
        if self.http is not None:
            self.http.start()
        if self.runner is not None:
            self.runner.start()
        if self.hl7 is not None:
            self.hl7.start()
        record_activity(self.audit, started=True)
        LOG.info(
            "%s listening for DICOM on %s:%d",
            self.settings.dicom.ae_title,
            self.settings.dicom.host,
            self.dicom_port,
        )
        return self

    def stop(self) -> None:
        """Stop serving and close the archive."""
        if self.http is not None:
            self.http.stop()
        if self.runner is not None:
            self.runner.stop()
        if self.hl7 is not None:
            self.hl7.stop()
        self.dicom.stop()
        self.socket.close()
        if self.tls_socket is not None:
            self.tls_socket.close()
        record_activity(self.audit, started=False)
        self.audit.close()
        self.archive.close()

    def __enter__(self) -> Node:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for_stop_signal() -> threading.Event:
    stop = threading.Event()

    def _handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)
    return stop


def _run_worker(settings: Settings, gate: AssociationGate, sock: object) -> None:
    _die_with_parent()
    stop = _wait_for_stop_signal()
    archive = Archive.open(settings)
    trail = attach(archive, AuditTrail.open(settings))
    server = DicomServer(settings, archive, gate, sock)  # type: ignore[arg-type]
    server.start()
    stop.wait()
    server.stop(drain_s=SHUTDOWN_GRACE_S)
    trail.close()
    archive.close()


def _spawn(settings: Settings, gate: AssociationGate, sock: object, not_ours: socket.socket) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        not_ours.close()  # the HTTP listener is the parent's
        try:
            _run_worker(settings, gate, sock)
        except BaseException:
            LOG.exception("receiving process failed")
            code = 1
        finally:
            logging.shutdown()
            os._exit(code)
    return pid


def _bound(door: str, host: str, port: int, bind: Callable[[str, int], _Bound]) -> _Bound:
    """``bind(host, port)``; an OSError names the front door and address that failed."""
    try:
        return bind(host, port)
    except OSError as exc:
        raise OSError(exc.errno, f"{door} on {host}:{port}: {exc.strerror or exc}") from exc


def serve(settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; return the exit code."""
    tune_libraries()
    prepare_archive(settings)
    sock = _bound("DICOM", settings.dicom.host, settings.dicom.port, listening_socket)
    tls_socket = None
    if settings.dicom.tls.enabled:
        tls_port = settings.dicom.tls.port
        tls_socket = _bound("DICOM TLS", settings.dicom.host, tls_port, listening_socket)
    http_socket = _bound("HTTP", settings.http.host, settings.http.port, listening_socket)
    gate = make_gate(settings)
    extra = worker_count(settings) - 1
    children = {_spawn(settings, gate, sock, http_socket) for _ in range(extra)}
    stop = _wait_for_stop_signal()
    archive = Archive.open(settings)
    trail = attach(archive, AuditTrail.open(settings))
    record_activity(trail, started=True)
    server = DicomServer(settings, archive, gate, sock, tls_socket).start()
    remote = DimseRemoteAEs(archive, settings)
    app = create_app(archive, settings, remote=remote)
    app.state.dicom_port = sock.getsockname()[1]
    app.state.offered = offered_contexts(settings)
    http = HttpServer(
        app, http_socket, tls_cert=settings.http.tls_cert, tls_key=settings.http.tls_key
    ).start()
    runner = JobRunner(archive, remote, outbox=MllpOutbox(settings)).start()  # jobs of /api, HL7
    hl7 = None
    if settings.hl7.enabled:
        hl7 = _bound("HL7", settings.hl7.host, settings.hl7.port,
                     lambda _h, _p: Hl7Listener(archive, settings)).start()  # fmt: skip
    LOG.info(
        "%s listening for DICOM on %s:%d with %d receiving process(es), HTTP on %s:%d; data in %s",
        settings.dicom.ae_title,
        settings.dicom.host,
        sock.getsockname()[1],
        extra + 1,
        settings.http.host,
        http.port,
        settings.data_dir,
    )
    if tls_socket is not None:
        LOG.info("DICOM over TLS on %s:%d", settings.dicom.host, tls_socket.getsockname()[1])
    while not stop.wait(0.5):
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                LOG.error("receiving process %d ended (%d); starting another", pid, status)
                children.discard(pid)
                archive.recover()  # settle what the dead process left half done
                children.add(_spawn(settings, gate, sock, http_socket))
    LOG.info("stopping: %d s for what is in flight", SHUTDOWN_GRACE_S)
    http.stop()
    runner.stop()
    if hl7 is not None:
        hl7.stop()
    server.stop(drain_s=SHUTDOWN_GRACE_S)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in children:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    sock.close()
    if tls_socket is not None:
        tls_socket.close()
    record_activity(trail, started=False)
    trail.close()
    archive.close()
    return 0
