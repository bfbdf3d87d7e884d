"""Ingest benchmark of the Storage SCP: Vesalius against DCMTK storescp, bare pynetdicom, Orthanc.

The same generated files go to every server with DCMTK's storescu, over one
association and over four parallel associations (four storescu processes, a
quarter of the files each). Every measurement starts its server afresh on an
empty data folder: Vesalius and Orthanc keep what they stored and answer a
second copy of an instance as a duplicate, which would not be a fair repeat.
The servers take turns within each repeat, so slow drifts of a busy machine
spread over all of them. The figure kept is the median over ``--repeat`` runs.

With ``--postgres SERVER_URL`` it also measures Vesalius as a cluster: one
node, then two (``--nodes``), each a ``vesalius serve`` over one fresh
PostgreSQL database and one shared data folder, four associations per node.

Usage: ``python bench/ingest.py [--ct N] [--tiny N] [--repeat N] [--only a,b] [--json PATH]
[--postgres postgresql+psycopg://user@host:port [--nodes 1,2]]``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import FrameType

import generate
import report
import servers
from servers import DCMTK_ENV, HOST, Server, TreeSampler

PARALLEL = 4
RSS_TARGET_MIB = 250


def split(files: list[Path], parts: int) -> list[list[Path]]:
    """``files`` cut into ``parts`` contiguous runs (so each sender sends whole series)."""
    size = -(-len(files) // parts)
    return [files[i : i + size] for i in range(0, len(files), size)]


def send(server: Server, folder: Path, files: list[Path], associations: int, logs: Path) -> float:
    """Send the files with ``associations`` storescu processes; return the wall time in s."""
    base = ["storescu", "-aec", server.aet, HOST, str(server.port)]
    if associations == 1:
        commands = [[*base[:3], "+sd", "+r", *base[3:], str(folder)]]
    else:
        commands = [[*base, *map(str, part)] for part in split(files, associations)]
    return run_senders(commands, logs)


def run_senders(commands: list[list[str]], logs: Path) -> float:
    """Run the storescu ``commands`` at once; the wall time in s until the last one exits."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        started = time.perf_counter()
        for number, command in enumerate(commands):
            with (logs / f"storescu-{number}.log").open("wb") as sink:
                processes.append(
                    subprocess.Popen(command, env=DCMTK_ENV, stdout=sink, stderr=subprocess.STDOUT)
                )
        codes = [process.wait() for process in processes]
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    if any(codes):
        print(f"  storescu exit codes {codes}; see {logs}", flush=True)
    return elapsed


def measure(
    name: str, kind: str, data: Path, associations: int, run_dir: Path, args: argparse.Namespace
) -> dict[str, object]:
    """One measurement: a fresh server, one send, its rates and memory peaks."""
    files = sorted(data.glob("*.dcm"))
    size = sum(path.stat().st_size for path in files)
    with servers.launched(name, run_dir, args.vesalius_workers) as server:
        os.sync()  # leave no dirty pages of earlier runs for this server's fsyncs to flush
        idle = TreeSampler(server.pid)
        idle.sample()
        with TreeSampler(server.pid) as sampler:
            elapsed = send(server, data, files, associations, run_dir)
        stored = server.count_stored()
        stopping = time.perf_counter()
    stop_seconds = time.perf_counter() - stopping
    result: dict[str, object] = {
        "server": name,
        "kind": kind,
        "associations": associations,
        "instances": len(files),
        "bytes": size,
        "seconds": round(elapsed, 3),
        "instances_per_s": round(len(files) / elapsed, 1),
        "mb_per_s": round(size / servers.MIB / elapsed, 1),
        "idle_rss_mb": servers.peak_mib(idle.peak_rss),
        "peak_rss_mb": servers.peak_mib(sampler.peak_rss),
        "peak_pss_mb": servers.peak_mib(sampler.peak_pss),
        "peak_processes": sampler.peak_processes,
        "stored": stored,
        "load_before": round(os.getloadavg()[0], 2),
        "exit_code": server.process.returncode,  # after SIGTERM: 0 is a clean stop
        "stop_seconds": round(stop_seconds, 2),
    }
    if name == "vesalius":
        result["log"] = servers.vesalius_log_summary(server.log)
    if server.process.returncode not in {0, -signal.SIGTERM}:
        print(f"  !! {name} exited with {server.process.returncode} on SIGTERM", flush=True)
    if stored != len(files):
        print(f"  !! {name} stored {stored} of {len(files)} instances; see {run_dir}", flush=True)
    return result


def measure_nodes(
    kind: str, data: Path, nodes: int, run_dir: Path, args: argparse.Namespace
) -> dict[str, object]:
    """One cluster measurement: ``nodes`` fresh Vesalius processes over a new PostgreSQL
    database and one data folder, ``PARALLEL`` storescu processes per node, each sending
    a contiguous part of the files (whole series) to its node."""
    files = sorted(data.glob("*.dcm"))
    size = sum(path.stat().st_size for path in files)
    name = f"vesalius_bench_{uuid.uuid4().hex[:10]}"
    with (
        servers.postgres_database(args.postgres, name) as url,
        servers.launched_nodes(run_dir, nodes, url, args.vesalius_workers) as cluster,
    ):
        os.sync()
        parts = split(files, PARALLEL * nodes)
        commands = [
            ["storescu", "-aec", node.aet, HOST, str(node.port), *map(str, part)]
            for number, part in enumerate(parts)
            for node in [cluster[number % nodes]]
        ]
        samplers = [TreeSampler(node.pid) for node in cluster]
        for sampler in samplers:
            sampler.__enter__()
        try:
            elapsed = run_senders(commands, run_dir)
        finally:
            for sampler in samplers:
                sampler.__exit__()
        stored = cluster[0].count_stored()
        indexed = _count_instances(url)
        logs = {node.name: servers.vesalius_log_summary(node.log) for node in cluster}
    result: dict[str, object] = {
        "nodes": nodes,
        "kind": kind,
        "associations": PARALLEL * nodes,
        "instances": len(files),
        "seconds": round(elapsed, 3),
        "instances_per_s": round(len(files) / elapsed, 1),
        "mb_per_s": round(size / servers.MIB / elapsed, 1),
        "peak_rss_mb": servers.peak_mib(sum(s.peak_rss for s in samplers)),
        "stored": stored,
        "indexed": indexed,
        "load_before": round(os.getloadavg()[0], 2),
        "logs": logs,
    }
    if stored != len(files) or indexed != len(files):
        print(f"  !! {nodes} node(s): {stored} files, {indexed} rows of {len(files)}", flush=True)
    return result


def _count_instances(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM instances")).scalar_one())
    finally:
        engine.dispose()


def cluster_section(data: dict[str, Path], root: Path, args: argparse.Namespace) -> list[dict]:
    """Every cluster measurement: per repeat, kind and number of nodes."""
    samples: list[dict[str, object]] = []
    for repeat in range(1, args.repeat + 1):
        for kind, folder in data.items():
            for nodes in args.nodes:
                run_dir = root / "runs" / f"cluster-{kind}-{nodes}-r{repeat}"
                sample = measure_nodes(kind, folder, nodes, run_dir, args)
                sample["repeat"] = repeat
                samples.append(sample)
                print(
                    f"  r{repeat} {nodes} node(s) {kind:<4} x{sample['associations']}: "
                    f"{sample['instances_per_s']:>7.1f} inst/s {sample['mb_per_s']:>6.1f} MB/s  "
                    f"peak RSS {sample['peak_rss_mb']:>6.1f} MB  "
                    f"stored {sample['stored']}/{sample['instances']}",
                    flush=True,
                )
                if not args.keep:
                    shutil.rmtree(run_dir, ignore_errors=True)
    return samples


def cluster_table(samples: list[dict]) -> str:
    """Medians per kind and number of nodes, and the speed-up over one node."""
    medians: dict[tuple[str, int], float] = {}
    for kind, nodes in dict.fromkeys((s["kind"], s["nodes"]) for s in samples):
        rates = [s["instances_per_s"] for s in samples if (s["kind"], s["nodes"]) == (kind, nodes)]
        medians[kind, nodes] = statistics.median(rates)
    lines = [
        "| kind | nodes | associations | inst/s (median) | runs | x one node |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (kind, nodes), median in medians.items():
        runs = [s for s in samples if (s["kind"], s["nodes"]) == (kind, nodes)]
        one = medians.get((kind, 1))
        speedup = f"{median / one:.2f}" if one else "-"
        rates = ", ".join(str(s["instances_per_s"]) for s in runs)
        lines.append(
            f"| {kind} | {nodes} | {PARALLEL * nodes} | {median:.1f} | {rates} | {speedup} |"
        )
    return "\n".join(lines)


def rss_check(data: Path, root: Path, args: argparse.Namespace) -> dict[str, object]:
    """Peak memory of Vesalius while it ingests the RSS data set over 4 associations."""
    print(f"RSS check: Vesalius ingesting {args.rss_ct} CT instances, {PARALLEL} associations")
    result = measure("vesalius", "ct", data, PARALLEL, root / "rss-check", args)
    result["target_mb"] = RSS_TARGET_MIB
    result["within_target"] = float(str(result["peak_rss_mb"])) < RSS_TARGET_MIB
    return result


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    versions: dict[str, str] = {"python": sys.version.split()[0]}
    for tool, flag in (("storescp", "--version"), (servers.ORTHANC, "--version")):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(
                [tool, flag], capture_output=True, text=True, timeout=10, check=False
            )
            out = done.stdout
            versions[Path(tool).name] = out.strip().splitlines()[0].strip("$ ")
    with contextlib.suppress(ImportError):
        import pydicom
        import pynetdicom

        versions["pydicom"] = pydicom.__version__
        versions["pynetdicom"] = pynetdicom.__version__
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_at_start": [round(value, 2) for value in os.getloadavg()],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "versions": versions,
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ct", type=int, default=1000, help="CT instances [1000]")
    parser.add_argument("--tiny", type=int, default=5000, help="tiny instances [5000]")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median kept [3]")
    parser.add_argument("--only", default=",".join(servers.SERVERS), help="servers to measure")
    parser.add_argument("--vesalius-workers", type=int, help="[vesalius default: 1 per core]")
    parser.add_argument("--rss-ct", type=int, default=2000, help="CT instances of the RSS check")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--tmp", type=Path, default=Path("/tmp"), help="temporary root [/tmp]")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--postgres",
        default="",
        help="PostgreSQL server (postgresql+psycopg://user@host:port): also measure nodes",
    )
    parser.add_argument("--nodes", default="1,2", help="node counts to measure [1,2]")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    args.nodes = [int(count) for count in args.nodes.split(",") if count.strip()]
    unknown = set(args.only) - set(servers.SERVERS)
    if unknown:
        parser.error(f"unknown server(s) {', '.join(sorted(unknown))}")
    return args


def _raise_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace, root: Path) -> dict[str, object]:
    """Generate the data sets, measure every server, return everything measured."""
    names = []
    for name in args.only:
        reason = servers.missing(name)
        if reason:
            print(f"note: skipping {name}: {reason}")
        else:
            names.append(name)
    kinds = {kind: count for kind, count in (("ct", args.ct), ("tiny", args.tiny)) if count}
    data: dict[str, Path] = {}
    for kind, count in kinds.items():
        data[kind] = root / "data" / f"{kind}-{count}"
        files, size = generate.generate(kind, count, data[kind])
        print(f"generated {files} {kind} instances, {size / servers.MIB:.1f} MB")
    results: dict[str, object] = {"machine": machine(), "servers": names}
    samples: list[dict[str, object]] = []
    results["samples"] = samples
    for repeat in range(1, args.repeat + 1):
        for kind, folder in data.items():
            for associations in (1, PARALLEL):
                for name in names:
                    run_dir = root / "runs" / f"{name}-{kind}-{associations}-r{repeat}"
                    sample = measure(name, kind, folder, associations, run_dir, args)
                    sample["repeat"] = repeat
                    samples.append(sample)
                    print(report.progress_line(sample), flush=True)
                    if not args.keep:
                        shutil.rmtree(run_dir, ignore_errors=True)
    if args.postgres:
        print(f"cluster: {', '.join(map(str, args.nodes))} node(s) over PostgreSQL")
        results["cluster"] = cluster_section(data, root, args)
    if args.rss_ct and "vesalius" in names:
        rss_data = root / "data" / f"ct-{args.rss_ct}"
        generate.generate("ct", args.rss_ct, rss_data)
        results["rss_check"] = rss_check(rss_data, root, args)
    results["summary"] = report.summarize(samples)
    results["ratios"] = report.ratios(results["summary"])
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print (and maybe save) the results."""
    args = parse(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    args.tmp.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="vesalius-bench-", dir=args.tmp))
    print(f"temporary folder: {root}{' (kept)' if args.keep else ''}")
    try:
        results = run(args, root)
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    if results["samples"]:
        print(report.render(results))
    if results.get("cluster"):
        print("\nVesalius nodes over one PostgreSQL database and one data folder:\n")
        print(cluster_table(results["cluster"]))  # type: ignore[arg-type]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
