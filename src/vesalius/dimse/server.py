"""The DICOM listener: one AE, built from the SOP-class registry, with one handler table.

Several receiving processes may share one listening socket (pre-forked by
``vesalius.app``); each runs a ``DicomServer`` over the inherited socket and
the kernel hands every new connection to whichever accepts it first.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from typing import Any, ClassVar

from pynetdicom import AE, _config, evt
from pynetdicom.presentation import PresentationContext
from pynetdicom.service_class import StorageServiceClass
from pynetdicom.sop_class import register_uid, uid_to_service_class
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, sopclasses
from vesalius.archive.archive import Archive
from vesalius.conformance.statement import Offered
from vesalius.dimse import audit, commandset, messages, policy, printing, reactor, tls
from vesalius.dimse.association import AssociationGate, GatedACSE, on_close, on_open
from vesalius.dimse.commitment import handle_n_action, handle_n_event_report, on_dimse_sent
from vesalius.dimse.dispatch import NRoutes
from vesalius.dimse.echo import handle_echo
from vesalius.dimse.find import handle_find
from vesalius.dimse.get import handle_get
from vesalius.dimse.move import handle_move
from vesalius.dimse.mpps import handle_mpps_create, handle_mpps_set
from vesalius.dimse.mwl import handle_mwl_find
from vesalius.dimse.store import handle_store
from vesalius.settings import Settings

LOG = logging.getLogger("vesalius.dimse")
DRAIN_POLL = 0.05

# pynetdicom logs every PDU at its "standard" level; our own lines say what matters.
_config.LOG_HANDLER_LEVEL = "none"
# It also formats every C-FIND identifier for its log, logged or not: a tenth of a response.
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False


def handler_table(
    settings: Settings, archive: Archive, gate: AssociationGate
) -> list[tuple[Any, ...]]:
    """Every DIMSE service we offer, as (event, handler, extra args) rows.

    N-* services share one handler per event type, routed by SOP class; so do the
    C-FIND of Query/Retrieve and of the modality worklist.
    """
    c_find = NRoutes("C-FIND").route(
        sopclasses.MODALITY_WORKLIST_FIND, handle_mwl_find, archive, settings
    )
    for find_class in sopclasses.query_retrieve_classes("find"):
        c_find.route(find_class.uid, handle_find, archive, settings)
    n_action = NRoutes("N-ACTION").route(
        sopclasses.STORAGE_COMMITMENT_PUSH, handle_n_action, archive, settings
    )
    n_event_report = NRoutes("N-EVENT-REPORT").route(
        sopclasses.STORAGE_COMMITMENT_PUSH, handle_n_event_report, archive
    )
    n_create = NRoutes("N-CREATE").route(sopclasses.MPPS, handle_mpps_create, archive, settings)
    n_set = NRoutes("N-SET").route(sopclasses.MPPS, handle_mpps_set, archive, settings)
    n_get = NRoutes("N-GET")
    n_delete = NRoutes("N-DELETE")
    printer = printing.Printer(settings)
    n_create.route(sopclasses.BASIC_FILM_SESSION, printing.create_film_session, printer)
    n_create.route(sopclasses.BASIC_FILM_BOX, printing.create_film_box, printer)
    n_set.route(sopclasses.BASIC_FILM_SESSION, printing.set_film_session, printer)
    n_set.route(sopclasses.BASIC_FILM_BOX, printing.set_film_box, printer)
    n_set.route(sopclasses.BASIC_GRAYSCALE_IMAGE_BOX, printing.set_image_box, printer)
    n_set.route(sopclasses.BASIC_COLOR_IMAGE_BOX, printing.set_image_box, printer)
    n_set.route(sopclasses.BASIC_ANNOTATION_BOX, printing.set_annotation_box, printer)
    n_action.route(sopclasses.BASIC_FILM_SESSION, printing.print_film_session, printer)
    n_action.route(sopclasses.BASIC_FILM_BOX, printing.print_film_box, printer)
    n_delete.route(sopclasses.BASIC_FILM_SESSION, printing.delete_film_session, printer)
    n_delete.route(sopclasses.BASIC_FILM_BOX, printing.delete_film_box, printer)
    n_get.route(sopclasses.PRINTER, printing.get_printer, printer)
    n_get.route(sopclasses.PRINT_JOB, printing.get_print_job, printer)
    return [
        (evt.EVT_CONN_OPEN, on_open),
        (evt.EVT_CONN_CLOSE, on_close, [gate]),
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, handle_store, [archive]),
        (evt.EVT_C_FIND, audit.audited_find(c_find, archive)),
        (
            evt.EVT_C_MOVE,
            audit.audited_retrieve(handle_move, archive, move=True),
            [archive, settings],
        ),
        (
            evt.EVT_C_GET,
            audit.audited_retrieve(handle_get, archive, move=False),
            [archive, settings],
        ),
        (evt.EVT_N_ACTION, n_action),
        (evt.EVT_DIMSE_SENT, on_dimse_sent),
        (evt.EVT_N_EVENT_REPORT, n_event_report),
        (evt.EVT_N_CREATE, n_create),
        (evt.EVT_N_SET, n_set),
        (evt.EVT_N_GET, n_get),
        (evt.EVT_N_DELETE, n_delete),
        *audit.handlers(archive),
    ]


def _register_storage_classes() -> None:
    """Make pynetdicom route C-STORE of every registry class (retired, trial, DICOS...)
    to its storage service; unmapped, it aborts the association on the first C-STORE."""
    for sop_class in sopclasses.STORAGE_SOP_CLASSES:
        if not issubclass(uid_to_service_class(sop_class.uid), StorageServiceClass):
            keyword = "VesaliusStorage_" + sop_class.uid.replace(".", "_")
            register_uid(sop_class.uid, keyword, StorageServiceClass)


def build_ae(settings: Settings) -> AE:
    """The application entity, with every presentation context of the registry."""
    _register_storage_classes()
    reactor.install()
    commandset.install()
    messages.install()
    policy.install()
    ae = AE(ae_title=settings.dicom.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.maximum_pdu_size = settings.dicom.max_pdu
    ae.maximum_associations = 1 << 16  # the gate enforces the configured limit
    ae.acse_timeout = 30
    ae.dimse_timeout = 120
    ae.network_timeout = 120
    syntaxes = [ts.uid for ts in sopclasses.STORAGE_TRANSFER_SYNTAXES]
    for sop_class in sopclasses.VERIFICATION_SOP_CLASSES:
        ae.add_supported_context(
            sop_class.uid, [ts.uid for ts in sopclasses.UNCOMPRESSED_TRANSFER_SYNTAXES]
        )
    for sop_class in sopclasses.QUERY_RETRIEVE_SOP_CLASSES:
        ae.add_supported_context(
            sop_class.uid, [ts.uid for ts in sopclasses.UNCOMPRESSED_TRANSFER_SYNTAXES]
        )
    for sop_class in sopclasses.STORAGE_COMMITMENT_SOP_CLASSES:
        # Both roles: requesters ask us to commit (we report as SCP), and peers we asked
        # call us back with their report, proposing themselves as SCP (PS3.4 J.3.3).
        ae.add_supported_context(
            sop_class.uid,
            [ts.uid for ts in sopclasses.UNCOMPRESSED_TRANSFER_SYNTAXES],
            scu_role=True,
            scp_role=True,
        )
    for sop_class in sopclasses.WORKLIST_SOP_CLASSES + sopclasses.MPPS_SOP_CLASSES:
        ae.add_supported_context(
            sop_class.uid, [ts.uid for ts in sopclasses.UNCOMPRESSED_TRANSFER_SYNTAXES]
        )
    if settings.print.enabled:
        for sop_class in sopclasses.PRINT_CONTEXT_SOP_CLASSES:
            ae.add_supported_context(
                sop_class.uid, [ts.uid for ts in sopclasses.UNCOMPRESSED_TRANSFER_SYNTAXES]
            )
    for sop_class in sopclasses.STORAGE_SOP_CLASSES:
        # Both roles: we receive C-STORE, and send it back on a C-GET's association
        # when the requestor asks for the SCP role (PS3.7 D.3.3.4).
        ae.add_supported_context(sop_class.uid, syntaxes, scu_role=True, scp_role=True)
    return ae


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket that receiving processes can share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named explicitly: asyncio (the HTTP listener) sets TCP_NODELAY on
    # accepted sockets only when their protocol says TCP, else each answer waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _ContextList(list[PresentationContext]):
    """The server's presentation contexts, copied cheaply for each association.

    pynetdicom deep-copies them for every association; with some 200 storage
    classes of 30 transfer syntaxes each that took about 25 ms per association.
    A context is copied with its own transfer syntax list, which is all an
    association changes.
    """

    def __deepcopy__(self, _memo: dict[int, Any]) -> list[PresentationContext]:
        copies = []
        for context in self:
            duplicate = copy.copy(context)
            duplicate._transfer_syntax = list(context._transfer_syntax)
            copies.append(duplicate)
        return copies


class _GatedRequestHandler(RequestHandler):
    gate: ClassVar[AssociationGate]

    def _create_association(self) -> Any:
        assoc = super()._create_association()
        assoc.acse = GatedACSE(assoc, self.gate)
        return assoc


class _SharedSocketServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, on a socket made (and maybe shared) by us."""

    shared_socket: ClassVar[socket.socket]
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.close()
        self.socket = self.shared_socket
        self.server_address = self.socket.getsockname()

    def server_activate(self) -> None:
        """The shared socket listens already."""

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = self.socket.accept()  # BlockingIOError: a sibling took it
        client.setblocking(True)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context:
            # The handshake happens on the association's own thread, at its first read:
            # a caller that never completes it holds that thread, not the listener.
            client = self.ssl_context.wrap_socket(
                client, server_side=True, do_handshake_on_connect=False
            )
        return client, address

    def server_close(self) -> None:
        """Leave the shared socket open for the siblings; the owner closes it."""


class DicomServer:
    """A running DICOM listener of one process."""

    def __init__(
        self,
        settings: Settings,
        archive: Archive,
        gate: AssociationGate,
        sock: socket.socket,
        tls_socket: socket.socket | None = None,
    ) -> None:
        self.settings = settings
        self.ae = build_ae(settings)
        handler = type("Handler", (_GatedRequestHandler,), {"gate": gate})
        handlers = handler_table(settings, archive, gate)
        self.servers: list[ThreadedAssociationServer] = []
        self._threads: list[threading.Thread] = []
        for listening, ssl_context in (
            (sock, None),
            (tls_socket, tls.server_context(settings.dicom.tls) if tls_socket else None),
        ):
            if listening is None:
                continue
            server_class = type("Server", (_SharedSocketServer,), {"shared_socket": listening})
            server = self.ae.make_server(
                listening.getsockname()[:2],
                ssl_context=ssl_context,
                evt_handlers=handlers,
                server_class=server_class,
                request_handler=handler,
            )
            server.contexts = _ContextList(server.contexts)
            self.ae._servers.append(server)
            self.servers.append(server)
            name = "dicom-tls-accept" if ssl_context else "dicom-accept"
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=name
            )
            thread.daemon = True
            self._threads.append(thread)
        self.server = self.servers[0]

    @property
    def port(self) -> int:
        """The TCP port we listen on."""
        return int(self.server.server_address[1])

    @property
    def tls_port(self) -> int | None:
        """The TCP port of the TLS listener, None without one."""
        return int(self.servers[1].server_address[1]) if len(self.servers) > 1 else None

    def start(self) -> DicomServer:
        """Start accepting associations in the background."""
        for thread in self._threads:
            thread.start()
        return self

    def _open_associations(self) -> list[Any]:
        return [assoc for server in self.servers for assoc in server.active_associations]

    def stop(self, drain_s: float = 0.0) -> None:
        """Stop accepting; give the associations still open ``drain_s`` seconds to end
        (a store in flight finishes and is answered), then abort those left."""
        for server in self.servers:
            server.shutdown()
        deadline = time.monotonic() + drain_s
        while self._open_associations() and time.monotonic() < deadline:
            time.sleep(DRAIN_POLL)
        for assoc in self._open_associations():
            assoc.abort()
        for thread in self._threads:
            thread.join(timeout=5)


def offered_contexts(settings: Settings) -> list[Offered]:
    """What the AE of ``settings`` accepts, context by context: the conformance
    statement is made from this, so that it says what the AE negotiates."""
    return [
        Offered(
            str(context.abstract_syntax),
            tuple(str(ts) for ts in context.transfer_syntax),
            bool(context.scu_role),
            bool(context.scp_role),
        )
        for context in build_ae(settings).supported_contexts
    ]
