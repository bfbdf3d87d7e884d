"""A bare pynetdicom Storage SCP: the floor of the Python stack Vesalius is built on.

It is the SCP a user would write from the pynetdicom documentation: every
storage SOP class of ``AllStoragePresentationContexts`` with pynetdicom's
default transfer syntaxes (implicit and explicit VR little endian, explicit
VR big endian: the benchmark data is explicit VR little endian), a threaded
server, and a C-STORE handler that only writes
the received data set (with file meta information) to one file per instance
and fsyncs it before answering 0000. No index, no header parsing, no policy;
whatever Vesalius costs above this is the price of being an archive.

It leaves Nagle's algorithm on: an SCP only answers each request with one
small PDU, so unlike a sender it does not wait on delayed ACKs.

Usage: ``python bench/bare_scp.py --port N --out DIR [--no-fsync]``
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import Verification


def store_handler(out: Path, fsync: bool) -> Callable[[Event], int]:
    """The C-STORE handler: write the encoded data set to ``out``, then answer success."""

    def handle(event: Event) -> int:
        uid = str(event.request.AffectedSOPInstanceUID)
        path = out / f"{uid}.dcm"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, event.encoded_dataset())
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return 0x0000

    return handle


def build_ae(max_pdu: int | None) -> AE:
    """An AE accepting every storage SOP class, and C-ECHO."""
    ae = AE(ae_title="BARE_SCP")
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context(Verification)
    if max_pdu is not None:
        ae.maximum_pdu_size = max_pdu
    return ae


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for received files")
    parser.add_argument("--no-fsync", action="store_true", help="do not fsync each file")
    parser.add_argument("--max-pdu", type=int, help="largest PDU accepted [pynetdicom default]")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ae = build_ae(args.max_pdu)
    handlers = [(evt.EVT_C_STORE, store_handler(args.out, not args.no_fsync))]
    server = ae.start_server((args.host, args.port), block=False, evt_handlers=handlers)
    print(f"bare SCP listening on {args.host}:{args.port}, files in {args.out}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
