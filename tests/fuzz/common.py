"""What the fuzz targets share: running one under atheris, with libFuzzer's bounds.

A target module defines ``one_input(data: bytes)``, which must return or raise
one of the archive's own errors; anything else is a finding. Run a target as a
script (``python tests/fuzz/ingest.py -runs=3000 CORPUS_DIR SEED_DIR``): the
arguments are libFuzzer's. ``tests/test_fuzz.py`` runs each for a bounded
number of inputs and replays ``tests/fuzz_regressions/<target>/``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

INSTRUMENTED = ("vesalius", "pydicom.filereader", "pydicom.charset", "pydicom.values")
"""Modules whose branches guide the fuzzer (the rest of pydicom only costs time)."""


def fuzz(one_input: Callable[[bytes], None]) -> None:
    """Hand ``one_input`` to atheris with the command line's libFuzzer options."""
    import atheris

    warnings.simplefilter("ignore")  # pydicom warns about every odd value it meets
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
