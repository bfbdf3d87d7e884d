"""Blob stores: round trips, names that carry no patient data, and the write journal.

A written blob is *pending* (it has a journal entry) until ``commit``;
``revoke`` removes a pending blob with its entry; ``recover`` settles the
entries that dead writers left: a blob the index references stays, any other
one goes. The filesystem store is checked against real processes that write
and die; the memory store, which has no processes, treats every entry as
settled by ``recover``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import overload

import pytest

from vesalius.storage.base import BlobStore, blob_name_for
from vesalius.storage.filesystem import JOURNAL, FilesystemBlobStore, host_id
from vesalius.storage.memory import MemoryBlobStore

UID = "1.2.826.0.1.3680043.8.498.12345678901234567890"


def _journaled(store: BlobStore) -> set[str]:
    """The blob names that have a journal entry, whoever wrote them."""
    if isinstance(store, MemoryBlobStore):
        return store.journal()
    assert isinstance(store, FilesystemBlobStore)
    names = set()
    for entry in os.listdir(store.journal_dir):
        _pid, _, flat = entry.partition("_")
        folder, leaf = flat.split("_", 1)
        names.add(f"{folder}/{leaf}")
    return names


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.fixture(params=["memory", "filesystem"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each blob store implementation in turn."""
    if request.param == "memory":
        return MemoryBlobStore()
    return FilesystemBlobStore(tmp_path / "storage")


# -- names ----------------------------------------------------------------------


def test_name_is_a_hash_of_the_sop_instance_uid() -> None:
    digest = hashlib.sha256(UID.encode("ascii")).hexdigest()
    name = blob_name_for(UID)
    folder, leaf = name.split("/")
    assert folder == digest[:3]
    stem, token, extension = leaf.split(".")
    assert stem == digest[:32]
    assert len(token) == 8
    assert extension == "dcm"
    assert UID not in name


def test_each_copy_of_an_instance_gets_its_own_name() -> None:
    first, second = blob_name_for(UID), blob_name_for(UID)
    assert first != second
    assert first.rsplit(".", 2)[0] == second.rsplit(".", 2)[0]
    assert blob_name_for(UID + "1").rsplit(".", 2)[0] != first.rsplit(".", 2)[0]


def test_filesystem_blob_lives_under_its_name_only(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "storage")
    name = blob_name_for(UID)
    store.write(name, [b"DICM"])
    store.commit([name])
    assert _files_under(tmp_path / "storage") == [tmp_path / "storage" / name]
    assert store.path(name) == tmp_path / "storage" / name


# -- round trip -----------------------------------------------------------------


def test_write_read_round_trip(store: BlobStore) -> None:
    name = blob_name_for(UID)
    chunks = [b"\x00" * 128 + b"DICM", bytes(range(256)) * 40, b"", b"end"]
    blob = store.write(name, chunks)
    data = b"".join(chunks)
    assert blob.name == name
    assert blob.size == len(data)
    assert store.exists(name)
    assert store.read(name) == data
    with store.open(name) as handle:
        assert handle.read() == data
    assert list(store.names()) == [name]


def test_reading_a_missing_blob_raises_file_not_found(store: BlobStore) -> None:
    name = blob_name_for(UID)
    assert not store.exists(name)
    with pytest.raises(FileNotFoundError):
        store.read(name)
    with pytest.raises(FileNotFoundError):
        store.open(name)
    store.delete(name)  # deleting what is not there is fine


def test_memory_store_counts_free_space() -> None:
    store = MemoryBlobStore(capacity=1000)
    store.write(blob_name_for(UID), [b"x" * 300])
    assert store.free_bytes() == 700


# -- journal ----------------------------------------------------------------------


def test_a_written_blob_is_pending_until_committed(store: BlobStore) -> None:
    name = blob_name_for(UID)
    store.write(name, [b"data"])
    assert _journaled(store) == {name}
    store.commit([name])
    assert _journaled(store) == set()
    assert store.read(name) == b"data"


def test_revoke_removes_the_blob_and_its_journal_entry(store: BlobStore) -> None:
    kept, refused = blob_name_for(UID), blob_name_for(UID + ".2")
    store.write(kept, [b"kept"])
    store.write(refused, [b"refused"])
    store.revoke(refused)
    assert not store.exists(refused)
    assert _journaled(store) == {kept}
    assert list(store.names()) == [kept]


def test_delete_removes_a_committed_blob(store: BlobStore) -> None:
    name = blob_name_for(UID)
    store.write(name, [b"data"])
    store.commit([name])
    store.delete(name)
    assert not store.exists(name)
    assert list(store.names()) == []
    assert _journaled(store) == set()


class _FailingChunks(Sequence[bytes]):
    """Chunks of which the second cannot be produced (a reader that fails midway)."""

    def __init__(self) -> None:
        self.produced = 0

    def __len__(self) -> int:
        return 3

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | Sequence[bytes]:
        if isinstance(index, slice):
            raise TypeError("no slicing")
        if index >= 3:
            raise IndexError(index)
        if index == 1:
            raise OSError(errno.EIO, "the sender went away")
        self.produced += 1
        return b"x" * 1000

    def __iter__(self) -> Iterator[bytes]:
        for index in range(len(self)):
            yield self[index]


def test_a_write_failing_midway_leaves_nothing(store: BlobStore, tmp_path: Path) -> None:
    name = blob_name_for(UID)
    chunks = _FailingChunks()
    with pytest.raises(OSError, match="went away"):
        store.write(name, chunks)
    assert chunks.produced == 1  # the failure came after a first chunk
    assert not store.exists(name)
    assert list(store.names()) == []
    assert _journaled(store) == set()
    if isinstance(store, FilesystemBlobStore):
        assert _files_under(tmp_path / "storage") == []


def test_memory_capacity_gives_enospc_and_stores_nothing() -> None:
    store = MemoryBlobStore(capacity=100)
    store.write(blob_name_for("1.1"), [b"a" * 60])
    with pytest.raises(OSError) as caught:
        store.write(blob_name_for("1.2"), [b"b" * 30, b"c" * 30])
    assert caught.value.errno == errno.ENOSPC
    assert len(list(store.names())) == 1
    assert len(_journaled(store)) == 1
    assert store.free_bytes() == 40


# -- recovery ----------------------------------------------------------------------


class _Referenced:
    """What the index answers ``recover``: which of the asked names it references."""

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.asked: list[str] = []

    def __call__(self, candidates: list[str]) -> set[str]:
        self.asked.extend(candidates)
        return self.names & set(candidates)


WRITER = textwrap.dedent(
    """
    import os, sys
    from vesalius.storage.filesystem import FilesystemBlobStore

    root, pending_a, pending_b, retired, settled = sys.argv[1:6]
    store = FilesystemBlobStore(root)
    store.write(settled, [b"settled"])
    store.commit([settled])
    store.write(retired, [b"retired"])
    store.commit([retired])
    store.retire(retired)
    store.write(pending_a, [b"pending a"])
    store.write(pending_b, [b"pending b"])
    print("written", flush=True)
    if sys.argv[6] == "wait":
        sys.stdin.read()
    os._exit(0)  # as if killed: nothing settled
    """
)


def _writer(root: Path, names: list[str], wait: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), *names, "wait" if wait else "die"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_recover_settles_the_journal_of_a_dead_writer(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    pending_a, pending_b, retired, settled = (blob_name_for(f"1.2.3.{i}") for i in range(4))
    child = _writer(root, [pending_a, pending_b, retired, settled], wait=False)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    store = FilesystemBlobStore(root)
    assert _journaled(store) == {pending_a, pending_b, retired}

    referenced = _Referenced({pending_a, retired, settled})
    kept, removed = store.recover(referenced)

    assert sorted(referenced.asked) == sorted([pending_a, pending_b, retired])
    assert (kept, removed) == (2, 1)
    assert store.read(pending_a) == b"pending a"
    assert store.read(retired) == b"retired"
    assert store.read(settled) == b"settled"
    assert not store.exists(pending_b)
    assert os.listdir(root / JOURNAL) == []
    assert sorted(store.names()) == sorted([pending_a, retired, settled])


def test_recover_removes_a_retired_blob_the_index_let_go(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    names = [blob_name_for(f"1.2.4.{i}") for i in range(4)]
    child = _writer(root, names, wait=False)
    child.communicate(timeout=60)
    store = FilesystemBlobStore(root)
    kept, removed = store.recover(_Referenced(set()))
    assert (kept, removed) == (0, 3)
    assert list(store.names()) == [names[3]]  # only the settled one is left
    assert os.listdir(root / JOURNAL) == []


DEAD_WRITER = textwrap.dedent(
    """
    import os, sys
    from vesalius.storage.filesystem import FilesystemBlobStore

    store = FilesystemBlobStore(sys.argv[1])
    store.write("00/00/probe.dcm", [b"probe"])
    [entry] = os.listdir(store.journal_dir)
    print(entry.partition("_")[0], flush=True)
    os._exit(0)
    """
)


def test_a_renamed_entry_of_an_exited_process_is_stale(tmp_path: Path) -> None:
    """Entries made by this process, renamed as a process that has exited would name them."""
    store = FilesystemBlobStore(tmp_path / "storage")
    keep, drop = blob_name_for("1.2.5.1"), blob_name_for("1.2.5.2")
    store.write(keep, [b"keep"])
    store.write(drop, [b"drop"])
    exited = subprocess.run(
        [sys.executable, "-c", DEAD_WRITER, str(tmp_path / "elsewhere")],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_writer = exited.stdout.strip()
    assert dead_writer.split(".")[1].isdigit()
    for entry in os.listdir(store.journal_dir):
        own, _, flat = entry.partition("_")
        assert own.split(".")[:2] == [host_id(), str(os.getpid())]
        os.rename(store.journal_dir / entry, store.journal_dir / f"{dead_writer}_{flat}")
    assert store.recover(_Referenced({keep})) == (1, 1)
    assert store.exists(keep)
    assert not store.exists(drop)
    assert os.listdir(store.journal_dir) == []


def test_recover_leaves_a_running_writer_alone(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    names = [blob_name_for(f"1.2.6.{i}") for i in range(4)]
    child = _writer(root, names, wait=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "written"
        store = FilesystemBlobStore(root)
        referenced = _Referenced(set())
        assert store.recover(referenced) == (0, 0)
        assert referenced.asked == []
        assert _journaled(store) == set(names[:3])
        assert all(store.exists(name) for name in names)
    finally:
        child.communicate(input="", timeout=60)


def test_recover_leaves_the_pending_writes_of_another_host_alone(tmp_path: Path) -> None:
    """On a shared volume, a journal entry of another node's writer may be in flight."""
    root = tmp_path / "storage"
    store = FilesystemBlobStore(root)
    elsewhere, here = blob_name_for("1.2.7.1"), blob_name_for("1.2.7.2")
    store.write(elsewhere, [b"another node"])
    store.write(here, [b"a dead process here"])
    dead_here = f"{host_id()}.999999.1"
    for entry in os.listdir(store.journal_dir):
        _own, _, flat = entry.partition("_")
        writer = "other-node.1.1" if flat == elsewhere.replace("/", "_") else dead_here
        os.rename(store.journal_dir / entry, store.journal_dir / f"{writer}_{flat}")
    assert store.recover(_Referenced(set())) == (0, 1)
    assert store.exists(elsewhere) and not store.exists(here)
    assert [entry.partition("_")[0] for entry in os.listdir(store.journal_dir)] == [
        "other-node.1.1"
    ]


def test_recover_leaves_this_process_pending_writes_alone(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "storage")
    name = blob_name_for(UID)
    store.write(name, [b"in flight"])
    assert store.recover(_Referenced(set())) == (0, 0)
    assert store.exists(name)
    assert _journaled(store) == {name}


def test_memory_recover_keeps_referenced_and_drops_the_rest() -> None:
    store = MemoryBlobStore()
    pending_a, pending_b, retired, settled = (blob_name_for(f"1.2.7.{i}") for i in range(4))
    store.write(settled, [b"settled"])
    store.commit([settled])
    store.write(retired, [b"retired"])
    store.commit([retired])
    store.retire(retired)
    store.write(pending_a, [b"a"])
    store.write(pending_b, [b"b"])
    referenced = _Referenced({pending_a, settled})
    assert store.recover(referenced) == (1, 2)
    assert sorted(referenced.asked) == sorted([pending_a, pending_b, retired])
    assert sorted(store.names()) == sorted([pending_a, settled])
    assert store.journal() == set()
