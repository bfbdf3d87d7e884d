"""DICOMweb benchmark: QIDO-RS, WADO-RS retrieval and metadata, Vesalius beside Orthanc.

    .venv/bin/python bench/web.py [--studies 10000] [--count 100] [--runs 10]

- QIDO-RS ``/studies`` with an exact PatientID, ``PatientName=DOE*`` and a
  one-month StudyDate range, on the query benchmark's index (``query.py``):
  Vesalius filled through ``Index.add_instances_bulk``, Orthanc with one tiny
  instance per study; each query over one kept-alive HTTP connection, median
  of ``--runs``.
- WADO-RS of one study of ``--count`` generated CT instances (0.5 MB each; 2000
  make a 1 GB study),
  ``Accept: multipart/related; type="application/dicom"; transfer-syntax=*``
  (as stored), read to the end and thrown away: MB/s of the body, median of
  ``--runs``; the server's peak RSS while it streams.
- ``/metadata`` of that study: median milliseconds (Vesalius: after the first
  request, which reads the files and keeps their JSON; its time is given too).

Orthanc is Debian's ``orthanc`` with the ``orthanc-dicomweb`` plugin; its part
is skipped when either is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import query
import servers
from servers import DCMTK_ENV, HOST, ORTHANC, Server

DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
QIDO: dict[str, dict[str, str]] = {
    "PatientID": {"PatientID": "P0000123"},
    "PatientName=DOE*": {"PatientName": "DOE*"},
    "one-month StudyDate": {"StudyDate": "20200301-20200331"},
}


def median_ms(client: httpx.Client, url: str, params: dict[str, str], runs: int) -> float:
    """Median wall time of GET ``url``, after one warm-up."""
    client.get(url, params=params).raise_for_status()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1)


class PeakRss:
    """The highest resident set size of a process tree while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            total = 0
            for process in servers.tree(self.pid):
                with contextlib.suppress(psutil.Error):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def retrieve_rate(client: httpx.Client, url: str, runs: int, pid: int) -> dict[str, float]:
    """MB/s of a streamed WADO-RS retrieval (median) and the server's peak RSS in MB."""
    rates, size = [], 0
    with PeakRss(pid) as rss:
        for run in range(runs + 1):
            started = time.perf_counter()
            size = 0
            with client.stream("GET", url, headers={"Accept": AS_STORED}) as answer:
                answer.raise_for_status()
                for chunk in answer.iter_raw(1 << 20):
                    size += len(chunk)
            if run:  # the first is a warm-up
                rates.append(size / (time.perf_counter() - started) / 1e6)
    return {
        "mb_per_s": round(statistics.median(rates), 1),
        "body_mb": round(size / 1e6, 1),
        "peak_rss_mb": round(rss.peak / 1e6, 1),
    }


def measure(server: Server, base: str, study: str, runs: int) -> dict[str, object]:
    """Every figure of one server."""
    results: dict[str, object] = {}
    with httpx.Client(timeout=120) as client:
        started = time.perf_counter()
        client.get(f"{base}/studies/{study}/metadata").raise_for_status()
        results["metadata_first_ms"] = round((time.perf_counter() - started) * 1000, 1)
        results["metadata_ms"] = median_ms(client, f"{base}/studies/{study}/metadata", {}, runs)
        results["qido_ms"] = {
            name: median_ms(client, f"{base}/studies", params, runs)
            for name, params in QIDO.items()
        }
        results["wado"] = retrieve_rate(client, f"{base}/studies/{study}", runs, server.pid)
    return results


@contextlib.contextmanager
def vesalius(root: Path, studies: int, source: Path) -> Iterator[tuple[Server, str]]:
    """Vesalius with the query index of ``studies`` studies and the CT study imported."""
    run_dir = root / "vesalius"
    run_dir.mkdir()
    query.fill_vesalius(run_dir / "data", studies)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VESALIUS_")}
    command = [str(servers.vesalius_command()), "import", "--data-dir", str(run_dir / "data")]
    subprocess.run([*command, str(source)], env=env, check=True, capture_output=True)
    http_port = servers.free_port()
    dicom_port = servers.free_port()
    serve = [str(servers.vesalius_command()), "serve", "--data-dir", str(run_dir / "data")]
    serve += ["--dicom-port", str(dicom_port), "--http-port", str(http_port), "--workers", "1"]
    (run_dir / "vesalius.toml").write_text(f"[query]\nmax_results = {query.MAX_RESULTS}\n")
    serve += ["--config", str(run_dir / "vesalius.toml")]
    process = servers.spawn(serve, run_dir / "vesalius.log", run_dir, env)
    server = Server("vesalius", process, dicom_port, "VESALIUS", run_dir / "vesalius.log",
                    lambda: 0, 1, http_port)  # fmt: skip
    try:
        servers.wait_ready(server, timeout=120)
        yield server, f"http://{HOST}:{http_port}/dicomweb"
    finally:
        servers.stop(server)


@contextlib.contextmanager
def orthanc(root: Path, studies: int, source: Path) -> Iterator[tuple[Server, str]]:
    """Orthanc with its DICOMweb plugin, the same query studies and the CT study."""
    run_dir = root / "orthanc"
    run_dir.mkdir()
    port, http_port = servers.free_port(), servers.free_port()
    path = servers.orthanc_config(run_dir, port, http_port)
    config = json.loads(path.read_text())
    config["Plugins"] = [str(DICOMWEB_PLUGIN)]
    config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/"}
    config["LimitFindResults"] = query.MAX_RESULTS
    path.write_text(json.dumps(config, indent=2))
    process = servers.spawn([ORTHANC, str(path)], run_dir / "orthanc.log", run_dir, DCMTK_ENV)
    server = Server("orthanc", process, port, "ORTHANC", run_dir / "orthanc.log",
                    lambda: servers.orthanc_count(http_port), 1, http_port)  # fmt: skip
    try:
        servers.wait_ready(server, timeout=120)
        query.fill_orthanc(http_port, studies)
        with httpx.Client(timeout=60) as client:
            for file in sorted(source.iterdir()):
                client.post(f"http://{HOST}:{http_port}/instances", content=file.read_bytes())
        yield server, f"http://{HOST}:{http_port}/dicom-web"
    finally:
        servers.stop(server)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10_000, help="studies for QIDO")
    parser.add_argument("--count", type=int, default=100, help="CT instances to retrieve")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--only", default="vesalius,orthanc")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="vesalius-web-bench-") as folder:
        root = Path(folder)
        source = root / "study"
        generate.generate("ct", args.count, source)
        study = one_study(source)
        for name in args.only.split(","):
            if name == "orthanc" and (servers.missing("orthanc") or not DICOMWEB_PLUGIN.exists()):
                print("orthanc: orthanc or orthanc-dicomweb not installed, skipped")
                continue
            starting = vesalius if name == "vesalius" else orthanc
            with starting(root, args.studies, source) as (server, base):
                results[name] = measure(server, base, study, args.runs)
            print(name, json.dumps(results[name]))
            shutil.rmtree(root / name, ignore_errors=True)
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def one_study(folder: Path) -> str:
    """Put every generated file in the study of the first (``generate`` makes studies of
    200 instances) and return its Study Instance UID."""
    from pydicom import dcmread

    files = sorted(folder.iterdir())
    study = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    for path in files:
        dataset = dcmread(path)
        if dataset.StudyInstanceUID != study:
            dataset.StudyInstanceUID = study
            dataset.save_as(path, enforce_file_format=True)
    return study


def report(results: dict[str, object]) -> str:
    """The figures side by side as a Markdown table."""
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]

    def row(label: str, pick: object) -> None:
        lines.append(f"| {label} | " + " | ".join(str(pick(results[n])) for n in names) + " |")  # type: ignore[operator]

    for query_name in QIDO:
        row(f"QIDO {query_name}", lambda r, q=query_name: f"{r['qido_ms'][q]} ms")
    row("WADO-RS study (MB/s)", lambda r: r["wado"]["mb_per_s"])
    row("WADO-RS body (MB)", lambda r: r["wado"]["body_mb"])
    row("peak RSS while streaming (MB)", lambda r: r["wado"]["peak_rss_mb"])
    row("/metadata (ms)", lambda r: r["metadata_ms"])
    row("/metadata, first request (ms)", lambda r: r["metadata_first_ms"])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
