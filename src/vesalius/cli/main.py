"""Entry point of the ``vesalius`` command: registers every verb on the one typer app."""

from __future__ import annotations

from vesalius.cli import dump, importing, listing, network, serving  # noqa: F401 - registers verbs
from vesalius.cli.common import app


def main() -> None:
    """Run the command line."""
    app()
