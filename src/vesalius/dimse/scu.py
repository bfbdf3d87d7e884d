"""The client side of DIMSE: verification and storage toward a remote AE.

Query/Retrieve (C-FIND, C-MOVE, C-GET) lives next door, in ``scu_query``.

C-STORE proposes, for each SOP class, the object's own transfer syntax and
both little-endian uncompressed ones. An object goes out as it is stored when
its own syntax is accepted (its bytes are streamed, never decoded), and is
decompressed to an accepted uncompressed syntax otherwise.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context

from vesalius import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, sopclasses
from vesalius.dimse import commandset, messages, reactor
from vesalius.dimse.association import on_open
from vesalius.dimse.tls import TlsClient, TlsError

LOG = logging.getLogger("vesalius.dimse.scu")
MAX_CONTEXTS = 128
LITTLE_ENDIAN = (sopclasses.EXPLICIT_VR_LE, sopclasses.IMPLICIT_VR_LE)

# Stream files from disk as they are instead of decoding them to send.
_config.STORE_SEND_CHUNKED_DATASET = True


class ScuError(Exception):
    """The remote AE could not be reached or refused the association."""


@dataclass(frozen=True, slots=True)
class Target:
    """A remote AE: where it listens and what it is called."""

    host: str
    port: int
    ae_title: str
    calling_aet: str = "VESALIUS"
    tls: TlsClient | None = None
    """Call over TLS with these credentials; None: plain TCP."""

    def __str__(self) -> str:
        scheme = "tls://" if self.tls else ""
        return f"{self.ae_title}@{scheme}{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One object to send: a Part 10 file on disk, with what the contexts need."""

    path: Path
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    as_stored: bool = True
    """False when the file's meta information disagrees with its data set: send it decoded."""


@dataclass(slots=True)
class SendReport:
    """What a send did: instances sent, and each failure with its reason."""

    sent: list[str] = field(default_factory=list)
    transcoded: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def client_ae(calling_aet: str) -> AE:
    """An AE for calling out, with our implementation identity and fast message paths."""
    reactor.install()
    commandset.install()
    messages.install()
    ae = AE(ae_title=calling_aet)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.acse_timeout = 30
    ae.dimse_timeout = 120
    ae.network_timeout = 120
    return ae


def open_association(
    ae: AE,
    target: Target,
    contexts: list,
    *,
    ext_neg: list | None = None,
    handlers: list | None = None,
) -> Association:
    """Open an association (Nagle off); ``ScuError`` when refused or unreachable.

    ``ext_neg`` carries extended negotiation items (SCP/SCU role selection for
    C-GET); ``handlers`` are extra event handlers bound to the association.
    """
    try:
        tls_args = (target.tls.context(), None) if target.tls else None
    except TlsError as exc:
        raise ScuError(str(exc)) from None
    assoc = ae.associate(
        target.host,
        target.port,
        contexts=contexts,
        ae_title=target.ae_title,
        ext_neg=ext_neg,
        evt_handlers=[(evt.EVT_CONN_OPEN, on_open), *(handlers or [])],
        tls_args=tls_args,
    )
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise ScuError(f"{target} rejected the association")
    raise ScuError(f"{target} could not be reached or aborted the association")


def echo(target: Target) -> int:
    """C-ECHO the target; return its status (0 is success). ``ScuError`` if unreachable."""
    ae = client_ae(target.calling_aet)
    assoc = open_association(ae, target, [build_context(sopclasses.VERIFICATION)])
    try:
        answer = assoc.send_c_echo()
    finally:
        assoc.release()
    if "Status" not in answer:
        raise ScuError(f"{target} did not answer the C-ECHO")
    return int(answer.Status)


def contexts_by_class(pairs: Iterable[tuple[str, str]]) -> dict[str, list[PresentationContext]]:
    """The contexts to propose for stored objects, given as (SOP class, stored syntax) pairs.

    For each SOP class: first both little endians in one context (any peer
    takes one, decompressing if need be), then each stored syntax alone (so
    that an object goes out as it is stored when the peer accepts that).
    """
    stored: dict[str, set[str]] = {}
    for sop_class, syntax in pairs:
        stored.setdefault(sop_class, set()).add(syntax)
    return {
        sop_class: [
            build_context(sop_class, list(LITTLE_ENDIAN)),
            *(build_context(sop_class, [syntax]) for syntax in sorted(syntaxes)),
        ]
        for sop_class, syntaxes in sorted(stored.items())
    }


def _context_groups(items: Iterable[Outgoing]) -> list[list[PresentationContext]]:
    """The contexts for these objects, in groups of at most 128 (one association each)."""
    flat = [
        context
        for contexts in contexts_by_class(
            (item.sop_class_uid, item.transfer_syntax_uid) for item in items
        ).values()
        for context in contexts
    ]
    return [flat[i : i + MAX_CONTEXTS] for i in range(0, len(flat), MAX_CONTEXTS)]


def can_store(assoc: Association, sop_class: str, syntax: str) -> bool:
    """True when we may C-STORE ``sop_class`` in ``syntax`` as is on this association
    (as its requestor, or as the SCP-role acceptor of a C-GET's association)."""
    return any(
        cx.abstract_syntax == sop_class and cx.transfer_syntax[0] == syntax and cx.as_scu
        for cx in assoc.accepted_contexts
    )


def _decoded(item: Outgoing) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(item.path)


def decompressed(source: Path | BinaryIO, transfer_syntax_uid: str) -> Dataset:
    """A stored object as a data set any little-endian receiver can take.

    Compressed pixel data is decoded; the SOP Instance UID stays the same (the
    receiver gets the same instance, not a derived one).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = dcmread(source)
        if sopclasses.is_compressed(transfer_syntax_uid):
            dataset.decompress(generate_instance_uid=False)
        dataset.file_meta.TransferSyntaxUID = sopclasses.EXPLICIT_VR_LE
    return dataset


def send(
    target: Target,
    items: list[Outgoing],
    progress: Callable[[Outgoing, str | None], None] | None = None,
) -> SendReport:
    """C-STORE every item to the target; failures are collected, not raised.

    ``progress(item, error)`` is called after each item. Raises ``ScuError``
    only when no association at all can be made.
    """
    report = SendReport()
    ae = client_ae(target.calling_aet)
    classes_sent: set[str] = set()
    for contexts in _context_groups(items):
        wanted = {cx.abstract_syntax for cx in contexts}
        batch = [item for item in items if item.sop_class_uid in wanted - classes_sent]
        classes_sent |= wanted
        assoc = open_association(ae, target, contexts)
        try:
            for item in batch:
                error = _send_one(assoc, item, report)
                if error:
                    report.failed.append((str(item.path), error))
                else:
                    report.sent.append(item.sop_instance_uid)
                if progress:
                    progress(item, error)
                if not assoc.is_established:
                    assoc = open_association(ae, target, contexts)
        finally:
            if assoc.is_established:
                assoc.release()
    return report


def _send_one(assoc: Association, item: Outgoing, report: SendReport) -> str | None:
    try:
        if can_store(assoc, item.sop_class_uid, item.transfer_syntax_uid):
            answer = assoc.send_c_store(item.path if item.as_stored else _decoded(item))
        elif any(can_store(assoc, item.sop_class_uid, ts) for ts in LITTLE_ENDIAN):
            answer = assoc.send_c_store(decompressed(item.path, item.transfer_syntax_uid))
            if sopclasses.is_compressed(item.transfer_syntax_uid):
                report.transcoded.append(item.sop_instance_uid)
        else:
            return "the peer accepted no transfer syntax for this SOP class"
    except Exception as exc:
        return f"could not be sent: {exc}"
    if "Status" not in answer:
        return "no answer (association aborted or timed out)"
    code = int(answer.Status)
    if code == 0 or (code & 0xF000) == 0xB000:
        return None
    comment = answer.get("ErrorComment", "")
    return f"status {code:04X} {comment}".strip()


def describe_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Outgoing | str]]:
    """For each file, what a send needs to know of it, or why it cannot be sent."""
    for path in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = dcmread(
                    path, stop_before_pixels=True, specific_tags=["SOPClassUID", "SOPInstanceUID"]
                )
            meta = header.file_meta
            sop_class = str(header.get("SOPClassUID") or meta.MediaStorageSOPClassUID)
            sop_instance = str(header.get("SOPInstanceUID") or meta.MediaStorageSOPInstanceUID)
            as_stored = (
                meta.get("MediaStorageSOPClassUID") == sop_class
                and meta.get("MediaStorageSOPInstanceUID") == sop_instance
            )
            yield (
                path,
                Outgoing(path, sop_class, sop_instance, str(meta.TransferSyntaxUID), as_stored),
            )
        except Exception as exc:
            yield path, f"not a DICOM file with meta information: {exc}"
