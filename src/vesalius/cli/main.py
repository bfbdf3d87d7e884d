"""Entry point of the ``vesalius`` command: registers every verb on the one typer app."""

from __future__ import annotations

from vesalius.cli import (  # noqa: F401 - registers verbs
    anonymize,
    check,
    commitment,
    conformance,
    dump,
    exporting,
    importing,
    listing,
    mpps,
    network,
    printing,
    query,
    report,
    serving,
    users,
    worklist,
)
from vesalius.cli.common import app


def main() -> None:
    """Run the command line."""
    app()
