"""SIGTERM: no new associations, the ones in flight may finish, then exit 0."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import MRImageStorage

from conftest import VESALIUS, corpus_file, free_port, port_open, wait_for
from vesalius.archive.archive import Archive
from vesalius.settings import load_settings

MR = [corpus_file(f"dcm4che/MR-series/MR{n:02d}.dcm") for n in (1, 2)]


def test_an_association_in_flight_finishes_after_sigterm(tmp_path: Path) -> None:
    port, data = free_port(), tmp_path / "data"
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [
                VESALIUS, "serve", "--data-dir", str(data), "--dicom-port", str(port),
                "--http-port", "0", "--workers", "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
    try:
        wait_for(lambda: process.poll() is not None or port_open(port), timeout=60)
        ae = AE(ae_title="LATE")
        ae.add_requested_context(MRImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="VESALIUS")
        assert assoc.is_established
        assert int(assoc.send_c_store(dcmread(MR[0])).Status) == 0
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: not port_open(port), timeout=10)  # no new associations
        started = time.monotonic()
        assert int(assoc.send_c_store(dcmread(MR[1])).Status) == 0  # the one in flight goes on
        assoc.release()
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 10, "the release should end the wait at once"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    archive = Archive.open(load_settings(Path("/dev/null"), {"storage": {"data_dir": str(data)}}))
    try:
        assert archive.index.counts()["instances"] == 2
    finally:
        archive.close()
