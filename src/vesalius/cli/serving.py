"""``vesalius serve``: run the archive's DICOM listener until stopped."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vesalius.archive import inuse
from vesalius.cli.common import (
    AetOption,
    ConfigOption,
    DataDirOption,
    LogLevelOption,
    app,
    fail,
    settings_from,
)
from vesalius.settings import ConfigError


@app.command()
def serve(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    aet: AetOption = None,
    dicom_port: Annotated[int | None, typer.Option(help="DICOM port [default: 11112].")] = None,
    http_port: Annotated[
        int | None,
        typer.Option(help="HTTP port (DICOMweb, WADO-URI, /api) [default: 8080]."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind [default: 127.0.0.1].")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Receiving processes on the DICOM port [default: 1 per core, at most 4]."
        ),
    ] = None,
    log_level: LogLevelOption = None,
) -> None:
    """Serve the archive until stopped: DICOM (C-ECHO, C-STORE, C-FIND, C-MOVE, C-GET) and HTTP."""
    from vesalius.app import serve as run

    dicom: dict[str, Any] = {}
    http: dict[str, Any] = {}
    if aet:
        dicom["ae_title"] = aet
    if dicom_port is not None:
        dicom["port"] = dicom_port
    if workers is not None:
        dicom["workers"] = workers
    if host:
        dicom["host"] = host
        http["host"] = host
    if http_port is not None:
        http["port"] = http_port
    settings = settings_from(config, data_dir, log_level, dicom=dicom, http=http)
    try:
        with inuse.serving(Path(settings.data_dir)):  # vesalius reindex waits for no server
            code = run(settings)
    except OSError as exc:
        fail(f"cannot serve {exc.strerror or exc}")
    except ConfigError as exc:
        fail(f"will not serve: {exc}")
    raise typer.Exit(code)
