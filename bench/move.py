"""C-MOVE benchmark: how fast Vesalius and Orthanc send a stored CT study to a peer.

Usage: ``python bench/move.py [--count N] [--repeat N] [--only vesalius,orthanc] [--json PATH]``

One study of ``--count`` generated CT instances (0.5 MB each, Explicit VR
Little Endian) is stored into each server (``vesalius import`` before
``vesalius serve``; storescu into Orthanc), and a DCMTK ``storescp`` (forked,
``+B``, no fsync) is the move destination of both. Each measurement empties the
destination folder, runs ``movescu`` (TCP_NODELAY=1) for the study, checks that
every instance arrived, and takes the wall time of the movescu process;
instances/s is ``count / time``, and the median of ``--repeat`` runs is reported.
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
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
import servers
from servers import DCMTK_ENV, HOST, ORTHANC, Server

MOVE_AET = "MOVESCU"


def study_uid(folder: Path) -> str:
    """The Study Instance UID of the generated files (one study)."""
    from pydicom import dcmread

    first = next(iter(sorted(folder.iterdir())))
    return str(dcmread(first, stop_before_pixels=True).StudyInstanceUID)


@contextlib.contextmanager
def vesalius(run_dir: Path, source: Path, dest: Server) -> Iterator[Server]:
    """``vesalius serve`` over a data folder holding ``source``, with the destination as peer."""
    run_dir.mkdir(parents=True)
    data, port = run_dir / "data", servers.free_port()
    config = run_dir / "vesalius.toml"
    config.write_text(
        f'[[peers]]\nname = "dest"\nae_title = "{dest.aet}"\nhost = "{HOST}"\nport = {dest.port}\n',
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("VESALIUS_")}
    imported = subprocess.run(
        [
            str(servers.vesalius_command()),
            "import",
            "--config",
            str(config),
            "--data-dir",
            str(data),
            str(source),
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    if imported.returncode != 0:
        raise RuntimeError(f"vesalius import failed: {imported.stderr.decode()}")
    serve = [str(servers.vesalius_command()), "serve", "--config", str(config)]
    serve += ["--data-dir", str(data), "--dicom-port", str(port)]
    serve += ["--http-port", str(servers.free_port())]
    log = run_dir / "vesalius.log"
    process = servers.spawn(serve, log, run_dir, env)
    count = lambda: servers.count_files(data / "storage", skip=".journal")  # noqa: E731
    server = Server("vesalius", process, port, "VESALIUS", log, count, os.cpu_count() or 1)
    try:
        servers.wait_ready(server)
        yield server
    finally:
        servers.stop(server)


@contextlib.contextmanager
def orthanc(run_dir: Path, source: Path, dest: Server, count: int) -> Iterator[Server]:
    """Orthanc holding ``source`` (sent with storescu), the destination in DicomModalities."""
    run_dir.mkdir(parents=True)
    port, http_port = servers.free_port(), servers.free_port()
    path = servers.orthanc_config(run_dir, port, http_port)
    config = json.loads(path.read_text(encoding="utf-8"))
    config["DicomModalities"] = {
        "dest": [dest.aet, HOST, dest.port],
        "mover": [MOVE_AET, HOST, 104],
    }
    config["DicomAlwaysAllowMove"] = True
    config["SynchronousCMove"] = True
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    log = run_dir / "orthanc.log"
    process = servers.spawn([ORTHANC, str(path)], log, run_dir, DCMTK_ENV)
    server = Server(
        "orthanc", process, port, "ORTHANC", log,
        lambda: servers.orthanc_count(http_port), 1, http_port,
    )  # fmt: skip
    try:
        servers.wait_ready(server)
        sent = subprocess.run(
            ["storescu", "-aec", "ORTHANC", "+sd", HOST, str(port), str(source)],
            env=DCMTK_ENV,
            capture_output=True,
            check=False,
        )
        if sent.returncode != 0 or server.count_stored() != count:
            raise RuntimeError(f"upload to Orthanc failed: {sent.stderr.decode()[-500:]}")
        yield server
    finally:
        servers.stop(server)


def measure(server: Server, dest: Server, out: Path, study: str, count: int) -> float:
    """One C-MOVE of the study to the destination: instances per second."""
    shutil.rmtree(out)
    out.mkdir()
    command = ["movescu", "-S", "-aet", MOVE_AET, "-aec", server.aet, "-aem", dest.aet]
    command += ["-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}"]
    command += [HOST, str(server.port)]
    started = time.perf_counter()
    done = subprocess.run(command, env=DCMTK_ENV, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    arrived = servers.count_files(out)
    if done.returncode != 0 or arrived != count:
        raise RuntimeError(
            f"{server.name}: movescu exit {done.returncode}, {arrived}/{count} arrived:\n"
            f"{done.stderr.decode()[-800:]}"
        )
    return count / elapsed


def run(args: argparse.Namespace, root: Path) -> dict[str, object]:
    """Generate the study, start the destination, measure each server."""
    source = root / "study"
    generate.generate("ct", args.count, source)
    study = study_uid(source)
    results: dict[str, object] = {"count": args.count, "repeat": args.repeat}
    with servers.launched("storescp", root / "dest") as dest:
        out = root / "dest" / "out"
        for name in args.only:
            if name == "vesalius":
                starting = vesalius(root / name, source, dest)
            elif servers.missing("orthanc") is None:
                starting = orthanc(root / name, source, dest, args.count)
            else:
                print("orthanc: not installed, skipped")
                continue
            with starting as server:
                measure(server, dest, out, study, args.count)  # warm-up, not counted
                rates = [measure(server, dest, out, study, args.count) for _ in range(args.repeat)]
            median = statistics.median(rates)
            results[name] = {"median": median, "runs": rates}
            runs = ", ".join(f"{rate:.1f}" for rate in rates)
            print(f"{name:9s} {median:8.1f} instances/s  (runs: {runs})")
    if "vesalius" in results and "orthanc" in results:
        ratio = results["vesalius"]["median"] / results["orthanc"]["median"]  # type: ignore[index]
        results["ratio"] = ratio
        print(f"vesalius / orthanc: {ratio:.2f}x")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="CT instances in the study")
    parser.add_argument("--repeat", type=int, default=5, help="measurements; median reported")
    parser.add_argument("--only", default="vesalius,orthanc", help="servers to measure")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    with tempfile.TemporaryDirectory(prefix="vesalius-move-bench-") as temp:
        results = run(args, Path(temp))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
