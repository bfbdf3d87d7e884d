"""Coverage-guided fuzzing of the ingest parser and the C-FIND identifier parser, bounded.

Each target in ``tests/fuzz/`` runs under atheris (libFuzzer) in a child
process, seeded with a few small corpus files or encoded identifiers, for
``RUNS`` inputs (capped at ``MAX_SECONDS``), with a per-input timeout and an
RSS limit: any exception other than the archive's own errors, a hang or a
memory blow-up fails the test. The inputs that once failed are kept in
``tests/fuzz_regressions/<target>/`` and replayed by a plain test.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).parent / "fuzz"
REGRESSIONS = Path(__file__).parent / "fuzz_regressions"
TARGETS = ("ingest", "identifier")
RUNS = 3000
MAX_SECONDS = 20
PER_INPUT_SECONDS = 10
RSS_LIMIT_MB = 1024
MAX_LEN = 8192


def target(name: str) -> ModuleType:
    """A fuzz target module, imported without atheris."""
    sys.path.insert(0, str(FUZZ))
    try:
        spec = importlib.util.spec_from_file_location(f"fuzz_{name}", FUZZ / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FUZZ))


def seeds(name: str, corpus: Path) -> list[bytes]:
    sys.path.insert(0, str(FUZZ))
    try:
        import seeds as seeding
    finally:
        sys.path.remove(str(FUZZ))
    if name == "ingest":
        return seeding.ingest_seeds(corpus, target("ingest").SYNTAXES)
    return seeding.identifier_seeds(corpus)


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target_finds_nothing(name: str, corpus: Path, tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    seed_dir, work_dir = tmp_path / "seeds", tmp_path / "work"
    seed_dir.mkdir()
    work_dir.mkdir()
    for seed in seeds(name, corpus):
        (seed_dir / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    command = [
        sys.executable,
        str(FUZZ / f"{name}.py"),
        f"-runs={RUNS}",
        f"-max_total_time={MAX_SECONDS}",
        f"-timeout={PER_INPUT_SECONDS}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_LEN}",
        "-seed=1",
        f"-artifact_prefix={tmp_path}/",
        str(work_dir),  # new inputs go to the first folder; the seeds stay as written
        str(seed_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS + 100)
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    crashes += sorted(tmp_path.glob("oom-*"))
    report = done.stderr[-4000:]
    assert done.returncode == 0 and not crashes, (
        f"{name}: fuzzing found {[c.name for c in crashes]}; keep the input in "
        f"tests/fuzz_regressions/{name}/ once fixed\n{report}"
    )
    assert "Done " in done.stderr, report


def regression_inputs() -> list[tuple[str, Path]]:
    return [
        (name, path)
        for name in TARGETS
        for path in sorted((REGRESSIONS / name).glob("*"))
        if path.is_file()
    ]


@pytest.mark.parametrize(
    ("name", "path"), regression_inputs(), ids=lambda value: getattr(value, "name", value)
)
def test_fuzz_regression_is_refused_cleanly(name: str, path: Path) -> None:
    target(name).one_input(path.read_bytes())  # raises only on a finding


def test_each_target_has_regressions() -> None:
    assert {name for name, _path in regression_inputs()} == set(TARGETS)
