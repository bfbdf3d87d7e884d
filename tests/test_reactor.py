"""The association reactor's pause: a response is never taken by the reactor as a request."""

from __future__ import annotations

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification

from conftest import wait_for
from vesalius.app import Node


def client(node: Node) -> Association:
    ae = AE(ae_title="PAUSER")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title=node.settings.dicom.ae_title)
    assert assoc.is_established
    return assoc


def test_a_resumed_reactor_is_not_reported_paused(node: Node) -> None:
    assoc = client(node)
    try:
        checkpoint = assoc._reactor_checkpoint
        checkpoint.clear()
        wait_for(lambda: assoc._is_paused, timeout=5)
        checkpoint.set()
        # The reactor has been let go but may not have run yet: a sender that pauses it
        # now must wait for it to stop again rather than trust the flag of a moment ago.
        assert not assoc._is_paused
        checkpoint.clear()
        wait_for(lambda: assoc._is_paused, timeout=5)
        checkpoint.set()
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()
