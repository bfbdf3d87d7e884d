"""Entry point of the ``vesalius`` command: registers every verb on the one typer app."""

from __future__ import annotations

from vesalius.cli import (  # noqa: F401 - registers verbs
    commitment,
    conformance,
    dump,
    importing,
    listing,
    network,
    query,
    serving,
)
from vesalius.cli.common import app


def main() -> None:
    """Run the command line."""
    app()
