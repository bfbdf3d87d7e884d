"""Query benchmark: C-FIND at STUDY level with findscu against Vesalius (and Orthanc).

    .venv/bin/python bench/query.py [--studies 100000] [--small 10000] [--runs 10]
        [--postgres postgresql+psycopg://user@host:port]

Vesalius is filled through ``Index.add_instances_bulk`` (10 instance rows per
study, fake blob names, no files), then served by ``vesalius serve``; with
``--postgres`` also on a new PostgreSQL database of that server (vacuumed and
analysed after the fill, as autovacuum would), beside SQLite; Orthanc,
when ``/usr/sbin/Orthanc`` exists, gets the first ``--small`` studies as one
tiny Part 10 instance each over its REST API. Each query is timed as the wall
time of one ``findscu`` process (TCP_NODELAY=1), median of ``--runs``.

The sections are functions over a started ``servers.Server`` so that other
services (C-MOVE) can be timed on the same filled servers.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import servers
from servers import DCMTK_ENV, HOST, Server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from vesalius.index.index import Index
from vesalius.model.record import record_from_values

MAX_RESULTS = 100
INSTANCES_PER_STUDY = 10
SERIES_PER_STUDY = 2
MODALITIES = ("CT", "MR", "US", "CR", "DX")
ROOT = "1.2.826.0.1.3680043.10.997"
FIRST_DAY = datetime.date(2015, 1, 1)
DAYS = 3650
QUERIES: dict[str, list[str]] = {
    "exact PatientID": ["PatientID=P0000123"],
    "PatientName=DOE*": ["PatientName=DOE*"],
    "one-month StudyDate": ["StudyDate=20200301-20200331"],
    "Modality + date range": ["ModalitiesInStudy=CT", "StudyDate=20200301-20200331"],
    f"all studies (max {MAX_RESULTS})": ["PatientID"],
}
RETURN_KEYS = ["StudyInstanceUID", "PatientName", "StudyDate", "AccessionNumber"]


def study_values(number: int) -> dict[str, str]:
    """The patient and study attributes of study ``number`` (deterministic)."""
    patient = number // 2
    day = FIRST_DAY + datetime.timedelta(days=(number * 7919) % DAYS)
    name = f"DOE^JOHN{patient}" if patient % 1000 == 7 else f"NAME{patient:06d}^TEST"
    return {
        "PatientID": f"P{patient:07d}",
        "PatientName": name,
        "PatientBirthDate": "19700101",
        "PatientSex": "MF"[patient % 2],
        "StudyInstanceUID": f"{ROOT}.{number}",
        "StudyDate": day.strftime("%Y%m%d"),
        "StudyTime": f"{8 + number % 10:02d}{number % 60:02d}00",
        "AccessionNumber": f"A{number:08d}",
        "StudyID": str(number % 10000),
        "StudyDescription": "BENCH",
        "Modality": MODALITIES[number % len(MODALITIES)],
    }


def records(first: int, last: int) -> Iterator[tuple[object, str, int, str]]:
    """Bulk-load items of studies ``first`` to ``last - 1``."""
    per_series = INSTANCES_PER_STUDY // SERIES_PER_STUDY
    for number in range(first, last):
        values = study_values(number)
        for s in range(1, SERIES_PER_STUDY + 1):
            for i in range(1, per_series + 1):
                uid = f"{ROOT}.{number}.{s}.{i}"
                values |= {
                    "SeriesInstanceUID": f"{ROOT}.{number}.{s}",
                    "SeriesNumber": str(s),
                    "SOPInstanceUID": uid,
                    "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2",
                    "InstanceNumber": str(i),
                }
                yield (
                    record_from_values(values),
                    f"bench/{number}/{s}/{i}",
                    1,
                    "1.2.840.10008.1.2.1",
                )


def fill_vesalius(data: Path, studies: int, batch: int = 2000, database_url: str = "") -> float:
    """Bulk-load ``studies`` studies into the index of ``data`` (or at ``database_url``);
    seconds taken, PostgreSQL's VACUUM ANALYZE included."""
    started = time.perf_counter()
    index = Index.open(database_url, data)
    try:
        for first in range(0, studies, batch):
            index.add_instances_bulk(records(first, min(first + batch, studies)))
        if database_url:
            with index.writer.connect() as connection:
                autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
                autocommit.exec_driver_sql("VACUUM ANALYZE")
    finally:
        index.close()
    return time.perf_counter() - started


def tiny_instance(number: int) -> bytes:
    """A small Part 10 CT instance of study ``number`` (for Orthanc)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    values = study_values(number)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.SeriesInstanceUID = f"{ROOT}.{number}.1"
    ds.SOPInstanceUID = f"{ROOT}.{number}.1.1"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def fill_orthanc(http_port: int, studies: int, threads: int = 4) -> float:
    """POST one tiny instance per study to Orthanc's /instances; seconds taken."""
    started = time.perf_counter()

    def upload(numbers: range) -> None:
        connection = http.client.HTTPConnection(HOST, http_port, timeout=60)
        for number in numbers:
            connection.request("POST", "/instances", body=tiny_instance(number))
            answer = connection.getresponse()
            answer.read()
            if answer.status != 200:
                raise RuntimeError(f"Orthanc refused study {number}: {answer.status}")
        connection.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(upload, [range(t, studies, threads) for t in range(threads)]))
    return time.perf_counter() - started


def findscu(server: Server, keys: list[str]) -> tuple[float, int]:
    """Wall time of one findscu process at STUDY level, and the number of matches."""
    command = ["findscu", "-S", "-aec", server.aet, "-k", "QueryRetrieveLevel=STUDY"]
    for key in [*RETURN_KEYS, *keys]:
        command += ["-k", key]
    command += [HOST, str(server.port)]
    started = time.perf_counter()
    done = subprocess.run([*command, "-v"], env=DCMTK_ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"findscu failed on {server.name}: {done.stderr[-500:]}")
    return elapsed, done.stdout.count("Find Response") + done.stderr.count("Find Response") - 1


def time_queries(server: Server, runs: int) -> dict[str, dict[str, float]]:
    """Median (and min) milliseconds of each query of ``QUERIES`` on ``server``."""
    results = {}
    for name, keys in QUERIES.items():
        findscu(server, keys)  # warm the caches
        timings, matches = [], 0
        for _ in range(runs):
            elapsed, matches = findscu(server, keys)
            timings.append(elapsed * 1000)
        results[name] = {
            "median_ms": round(statistics.median(timings), 1),
            "min_ms": round(min(timings), 1),
            "matches": matches,
        }
    return results


def start_vesalius_on(run_dir: Path, database_url: str = "") -> Server:
    """``vesalius serve`` on the filled ``run_dir/data`` (index at ``database_url`` if set),
    one process, ``max_results`` set."""
    (run_dir / "vesalius.toml").write_text(f"[query]\nmax_results = {MAX_RESULTS}\n")
    server = servers.start_vesalius(run_dir, workers=1, database_url=database_url)
    servers.wait_ready(server, timeout=120)
    return server


def start_orthanc_on(run_dir: Path) -> Server:
    """Orthanc as ``servers.start_orthanc`` configures it, plus the same truncation
    (``LimitFindResults``) and C-FIND from any caller."""
    port, http_port = servers.free_port(), servers.free_port()
    config_path = servers.orthanc_config(run_dir, port, http_port)
    config = json.loads(config_path.read_text())
    config["LimitFindResults"] = MAX_RESULTS
    config["DicomAlwaysAllowFind"] = True  # findscu is not a declared modality
    config_path.write_text(json.dumps(config, indent=2))
    log = run_dir / "orthanc.log"
    process = servers.spawn([servers.ORTHANC, str(config_path)], log, run_dir, DCMTK_ENV)
    server = Server("orthanc", process, port, "ORTHANC", log, lambda: 0, 1, http_port)
    servers.wait_ready(server, timeout=120)
    return server


def vesalius_section(
    root: Path, studies: int, runs: int, database_url: str = ""
) -> dict[str, object]:
    """Fill, serve and time Vesalius with ``studies`` studies (SQLite, or the database at
    ``database_url``)."""
    run_dir = root / f"vesalius-{studies}{'-pg' if database_url else ''}"
    run_dir.mkdir()
    fill_s = fill_vesalius(run_dir / "data", studies, database_url=database_url)
    server = start_vesalius_on(run_dir, database_url)
    try:
        return {"fill_s": round(fill_s, 1), "queries": time_queries(server, runs)}
    finally:
        servers.stop(server)


def postgres_section(server_url: str, root: Path, studies: int, runs: int) -> dict[str, object]:
    """``vesalius_section`` on a new database of the PostgreSQL server, dropped after."""
    with servers.postgres_database(server_url, f"vesalius_query_bench_{studies}") as url:
        return vesalius_section(root, studies, runs, url)


def orthanc_section(root: Path, studies: int, runs: int) -> dict[str, object] | None:
    """Fill, serve and time Orthanc with ``studies`` studies (None without Orthanc)."""
    if not Path(servers.ORTHANC).exists():
        return None
    run_dir = root / f"orthanc-{studies}"
    run_dir.mkdir()
    server = start_orthanc_on(run_dir)
    try:
        fill_s = fill_orthanc(int(server.http_port or 0), studies)
        return {"fill_s": round(fill_s, 1), "queries": time_queries(server, runs)}
    finally:
        servers.stop(server)


def table(results: dict[str, dict[str, object] | None]) -> str:
    """Medians side by side, one row per query."""
    names = [n for n, r in results.items() if r is not None]
    lines = ["| query | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for query in QUERIES:
        cells = []
        for name in names:
            found = results[name]["queries"][query]  # type: ignore[index]
            cells.append(f"{found['median_ms']} ms ({found['matches']})")
        lines.append(f"| {query} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--postgres",
        default="",
        help="also time Vesalius on this PostgreSQL server (postgresql+psycopg://user@host:port)",
    )
    parser.add_argument("--skip", default="", help="sections to leave out: orthanc,small,sqlite")
    args = parser.parse_args(argv)
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    with tempfile.TemporaryDirectory(prefix="vesalius-query-bench-") as folder:
        root = Path(folder)
        results: dict[str, dict[str, object] | None] = {}
        if "orthanc" not in skip:
            results[f"orthanc {args.small:,}"] = orthanc_section(root, args.small, args.runs)
        if "small" not in skip:
            results[f"vesalius {args.small:,}"] = vesalius_section(root, args.small, args.runs)
        if "sqlite" not in skip:
            results[f"vesalius {args.studies:,}"] = vesalius_section(root, args.studies, args.runs)
        if args.postgres:
            results[f"vesalius pg {args.studies:,}"] = postgres_section(
                args.postgres, root, args.studies, args.runs
            )
    print(table(results))
    for name, result in results.items():
        if result is not None:
            print(f"{name}: filled in {result['fill_s']} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
