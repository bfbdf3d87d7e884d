"""Ingest benchmark of the Storage SCP: Vesalius against DCMTK storescp, bare pynetdicom, Orthanc.

The same generated files go to every server with DCMTK's storescu, over one
association and over four parallel associations (four storescu processes, a
quarter of the files each). Every measurement starts its server afresh on an
empty data folder: Vesalius and Orthanc keep what they stored and answer a
second copy of an instance as a duplicate, which would not be a fair repeat.
The servers take turns within each repeat, so slow drifts of a busy machine
spread over all of them. The figure kept is the median over ``--repeat`` runs.

Usage: ``python bench/ingest.py [--ct N] [--tiny N] [--repeat N] [--only a,b] [--json PATH]``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
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
    print(report.render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
