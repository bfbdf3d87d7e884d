"""The Storage SCPs under test: how to start each, know it is ready, count what it stored, stop it.

Every server runs as its own process tree on a free port with its own data
folder (the run folder), started in a new session so that Ctrl-C reaches the
benchmark first and the benchmark stops the servers in order. ``launched``
is the only way in: it stops the server (and any child it left) on the way
out, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}  # Debian's DCMTK keeps Nagle on otherwise
ORTHANC = "/usr/sbin/Orthanc"
SERVERS = ("vesalius", "storescp", "bare", "orthanc")
MIB = 2**20


@dataclass
class Server:
    """One running server: its process, where it listens and how to count what it stored."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    aet: str
    log: Path
    count_stored: Callable[[], int]
    processes: int = 1  # how many processes the tree has once it is ready
    http_port: int | None = None

    @property
    def pid(self) -> int:
        """The PID of the main process."""
        return int(self.process.pid)


def free_port() -> int:
    """A TCP port that was free on every interface a moment ago."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def missing(name: str) -> str | None:
    """Why server ``name`` cannot run on this machine, or None when it can."""
    needs = {"storescp": "storescp", "orthanc": ORTHANC}.get(name)
    if needs and shutil.which(needs) is None:
        return f"{needs} is not installed"
    if name == "vesalius" and not vesalius_command().exists():
        return f"{vesalius_command()} does not exist (run make first)"
    return None


def vesalius_command() -> Path:
    """The ``vesalius`` script of the virtualenv running this benchmark."""
    return Path(sys.executable).parent / "vesalius"


def spawn(command: list[str], log: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session, with stdout and stderr going to ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def count_files(folder: Path, skip: str | None = None) -> int:
    """Regular files below ``folder``, not counting the subfolder named ``skip``."""
    total = 0
    for _root, dirs, files in os.walk(folder):
        if skip in dirs:
            dirs.remove(skip)
        total += len(files)
    return total


def tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def start_vesalius(
    run_dir: Path,
    workers: int | None,
    *,
    database_url: str = "",
    data: Path | None = None,
    name: str = "vesalius",
) -> Server:
    """``vesalius serve`` on a fresh data folder, defaults otherwise (no VESALIUS_* variables
    but ``[database] url`` when ``database_url`` is given); ``data`` another data folder than
    ``run_dir/data`` (nodes sharing one)."""
    data, port = data or run_dir / "data", free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("VESALIUS_")}
    if database_url:
        env["VESALIUS_DATABASE__URL"] = database_url
    command = [str(vesalius_command()), "serve", "--data-dir", str(data)]
    command += ["--dicom-port", str(port), "--http-port", str(free_port())]
    if workers:
        command += ["--workers", str(workers)]
    log = run_dir / "vesalius.log"
    process = spawn(command, log, run_dir, env)
    count = lambda: count_files(data / "storage", skip=".journal")  # noqa: E731
    processes = workers or min(os.cpu_count() or 1, 4)
    return Server(name, process, port, "VESALIUS", log, count, processes)


def start_storescp(run_dir: Path) -> Server:
    """DCMTK storescp, one forked process per association, writing each file as received."""
    out, port = run_dir / "out", free_port()
    out.mkdir()
    # --fork: serve the parallel associations at once (the default serves one at a time);
    # +B: write the received bytes to the file unchanged; -dhl: no reverse DNS lookup.
    command = ["storescp", "--fork", "-od", str(out), "+B", "-dhl", "-aet", "STORESCP", str(port)]
    log = run_dir / "storescp.log"
    process = spawn(command, log, run_dir, DCMTK_ENV)
    return Server("storescp", process, port, "STORESCP", log, lambda: count_files(out))


def start_bare(run_dir: Path) -> Server:
    """The bare pynetdicom SCP of ``bare_scp.py`` (fsync on)."""
    out, port = run_dir / "out", free_port()
    command = [sys.executable, str(BENCH / "bare_scp.py"), "--port", str(port), "--out", str(out)]
    log = run_dir / "bare.log"
    process = spawn(command, log, run_dir, dict(os.environ))
    return Server("bare", process, port, "BARE_SCP", log, lambda: count_files(out))


def orthanc_config(run_dir: Path, dicom_port: int, http_port: int) -> Path:
    """A JSON configuration for a private Orthanc in ``run_dir``; returns its path."""
    config = {
        "Name": "vesalius-bench",
        "StorageDirectory": str(run_dir / "storage"),
        "IndexDirectory": str(run_dir / "index"),
        "StorageCompression": False,
        "SyncStorageArea": True,
        "Plugins": [],
        "DicomServerEnabled": True,
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SaveJobs": False,
    }
    path = run_dir / "orthanc.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def orthanc_count(http_port: int) -> int:
    """CountInstances of Orthanc's /statistics."""
    url = f"http://{HOST}:{http_port}/statistics"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return int(json.load(answer)["CountInstances"])


def start_orthanc(run_dir: Path) -> Server:
    """Debian's Orthanc with SQLite index and uncompressed, fsynced storage."""
    port, http_port = free_port(), free_port()
    config = orthanc_config(run_dir, port, http_port)
    log = run_dir / "orthanc.log"
    # Orthanc speaks DICOM through Debian's DCMTK libraries: it needs TCP_NODELAY=1 as well.
    process = spawn([ORTHANC, str(config)], log, run_dir, DCMTK_ENV)
    return Server(
        "orthanc", process, port, "ORTHANC", log, lambda: orthanc_count(http_port), 1, http_port
    )


def echo(port: int, aet: str) -> bool:
    """True when a C-ECHO to ``aet`` on ``port`` succeeds."""
    command = ["echoscu", "-to", "2", "-ta", "5", "-aec", aet, HOST, str(port)]
    try:
        done = subprocess.run(command, env=DCMTK_ENV, capture_output=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on ``port`` of the loopback address."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file."""
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def wait_until(condition: Callable[[], bool], timeout: float, server: Server, what: str) -> None:
    """Poll ``condition`` until it holds; fail early if the server died, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited ({server.process.returncode}) before {what}:\n"
                f"{tail(server.log)}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{server.name}: no {what} within {timeout:.0f} s:\n{tail(server.log)}"
            )
        time.sleep(0.05)


def wait_ready(server: Server, timeout: float = 60) -> None:
    """Wait until the server accepts connections, answers C-ECHO and has all its processes."""
    wait_until(lambda: port_open(server.port), timeout, server, "open port")
    wait_until(lambda: echo(server.port, server.aet), timeout, server, "C-ECHO")
    wait_until(
        lambda: len(tree(server.pid)) >= server.processes, timeout, server, "receiving processes"
    )
    if server.http_port is not None:
        wait_until(lambda: port_open(int(server.http_port)), timeout, server, "HTTP port")


def stop(server: Server, timeout: float = 20) -> None:
    """SIGTERM the server, SIGKILL it after ``timeout``; then end any child it left behind."""
    children = tree(server.pid)[1:]
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _gone, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@contextlib.contextmanager
def launched(name: str, run_dir: Path, vesalius_workers: int | None = None) -> Iterator[Server]:
    """Start server ``name`` in ``run_dir``, wait until it is ready, stop it on exit."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if name == "vesalius":
        server = start_vesalius(run_dir, vesalius_workers)
    elif name == "storescp":
        server = start_storescp(run_dir)
    elif name == "bare":
        server = start_bare(run_dir)
    elif name == "orthanc":
        server = start_orthanc(run_dir)
    else:
        raise ValueError(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
    try:
        wait_ready(server)
        yield server
    finally:
        stop(server)


@contextlib.contextmanager
def launched_nodes(
    run_dir: Path, nodes: int, database_url: str, workers: int | None = None
) -> Iterator[list[Server]]:
    """``nodes`` Vesalius processes over one data folder (``run_dir/data``) and the
    database at ``database_url``, each on its own ports with its own log folder; the first
    is ready (schema created) before the next starts. All are stopped on exit."""
    data = run_dir / "data"
    started: list[Server] = []
    try:
        for number in range(1, nodes + 1):
            node_dir = run_dir / f"node{number}"
            node_dir.mkdir(parents=True, exist_ok=True)
            server = start_vesalius(
                node_dir, workers, database_url=database_url, data=data, name=f"node{number}"
            )
            started.append(server)
            wait_ready(server, timeout=120)
        yield started
    finally:
        for server in started:
            stop(server)


def postgres_admin(server_url: str):  # type: ignore[no-untyped-def]
    """An autocommit psycopg connection to the ``postgres`` database of ``server_url``
    (a SQLAlchemy URL without database, ``postgresql+psycopg://user@host:port``)."""
    import psycopg

    dsn = server_url.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
    return psycopg.connect(dsn + "/postgres", autocommit=True, connect_timeout=10)


@contextlib.contextmanager
def postgres_database(server_url: str, name: str) -> Iterator[str]:
    """A new, empty database ``name`` on ``server_url``; its URL; dropped on exit."""
    with postgres_admin(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rstrip('/')}/{name}"
    finally:
        with postgres_admin(server_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class TreeSampler:
    """Samples the memory of a process tree in a thread, keeping the peaks.

    RSS is summed over the processes (what the spec of the benchmark asks);
    PSS is summed too, because forked workers share pages that a sum of RSS
    counts once per process.
    """

    pid: int
    interval: float = 0.05
    peak_rss: int = 0
    peak_pss: int = 0
    peak_processes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        """Take one sample of the whole tree."""
        rss = pss = 0
        processes = tree(self.pid)
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                memory = process.memory_full_info()
                rss += memory.rss
                pss += memory.pss
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(processes))
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


LOG_LEVEL = re.compile(r"^\S+ \S+ \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def vesalius_log_summary(log: Path, keep: int = 8) -> dict[str, object]:
    """Counts of a Vesalius log by level and outcome, with its first unusual lines.

    ``storescu_per_process`` counts the storescu associations each receiving
    process served: they share one listening socket, so the split is up to
    whichever process accepts first.
    """
    levels: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    per_process: dict[str, int] = {}
    unusual: list[str] = []
    with contextlib.suppress(OSError), log.open(errors="replace") as lines:
        for line in lines:
            match = LOG_LEVEL.match(line)
            level = match.group(1) if match else "OTHER"
            levels[level] = levels.get(level, 0) + 1
            stored = re.search(r"vesalius\.dimse\.store: (\w+) ", line)
            if stored:
                outcomes[stored.group(1)] = outcomes.get(stored.group(1), 0) + 1
            served = re.search(r"^\S+ \S+ (\d+) .*association STORESCU@.* established", line)
            if served:
                per_process[served.group(1)] = per_process.get(served.group(1), 0) + 1
            if level not in {"DEBUG", "INFO"} and len(unusual) < keep:
                unusual.append(line.rstrip())
    return {
        "levels": levels,
        "outcomes": outcomes,
        "storescu_per_process": sorted(per_process.values(), reverse=True),
        "unusual": unusual,
    }


def peak_mib(value: int) -> float:
    """Bytes as MiB, rounded for the report."""
    return round(value / MIB, 1)
