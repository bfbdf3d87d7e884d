"""Entry point of the ``vesalius`` command: registers every verb on the one typer app."""

from __future__ import annotations

from vesalius.cli import (  # noqa: F401 - registers verbs
    anonymize,
    backup,
    check,
    commitment,
    conformance,
    db,
    dump,
    exporting,
    importing,
    listing,
    mpps,
    network,
    printing,
    query,
    reindex,
    report,
    serving,
    users,
    worklist,
)
from vesalius.cli.common import EXIT_FATAL, app, errors
from vesalius.index.migrate import SchemaError


def main() -> None:
    """Run the command line; an index at another schema than ours ends any verb with exit 1."""
    try:
        app()
    except SchemaError as exc:
        errors.print(f"vesalius: {exc}", highlight=False, markup=False)
        raise SystemExit(EXIT_FATAL) from None
