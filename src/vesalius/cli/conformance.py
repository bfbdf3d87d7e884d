"""``vesalius conformance``: the DICOM Conformance Statement of this configuration."""

from __future__ import annotations

from typing import Annotated

import typer

from vesalius.cli.common import ConfigOption, DataDirOption, app, fail, settings_from
from vesalius.conformance.render import FORMATS, render
from vesalius.conformance.statement import build_statement


@app.command()
def conformance(
    fmt: Annotated[
        str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")
    ] = "md",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the DICOM Conformance Statement (PS3.2) of this configuration.

    Made from the presentation contexts the AE accepts with these settings,
    so that it says exactly what the server negotiates.
    """
    from vesalius.dimse.server import offered_contexts

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    settings = settings_from(config, data_dir, "WARNING")
    statement = build_statement(settings, offered_contexts(settings))
    typer.echo(render(statement, fmt), nl=False)
