"""``vesalius echo`` and ``vesalius send``: the archive as a DIMSE client."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vesalius.archive.archive import Archive
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    AecOption,
    AetOption,
    ConfigOption,
    DataDirOption,
    LogLevelOption,
    PeerOption,
    app,
    console,
    fail,
    settings_from,
    target_from,
)
from vesalius.dimse import scu

HostArgument = Annotated[str | None, typer.Argument(help="Remote host.", show_default=False)]
PortArgument = Annotated[int | None, typer.Argument(help="Remote port.", show_default=False)]


@app.command()
def echo(
    host: HostArgument = None,
    port: PortArgument = None,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """C-ECHO a remote AE: HOST PORT --aec AET, or --peer NAME."""
    settings = settings_from(config, data_dir, "WARNING")
    target = target_from(settings, host, port, aec, peer, aet)
    try:
        code = scu.echo(target)
    except scu.ScuError as exc:
        fail(str(exc))
    if code != 0:
        fail(f"{target} answered C-ECHO with status {code:04X}")
    console.print(f"{target}: C-ECHO succeeded", highlight=False)


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                found.extend(Path(folder) / name for name in sorted(files))
        else:
            found.append(path)
    return found


def _from_archive(settings: object, studies: list[str]) -> list[scu.Outgoing]:
    archive = Archive.open(settings)  # type: ignore[arg-type]
    try:
        stored = archive.instances(study_uids=studies)
        path_of = getattr(archive.blobs, "path", None)
        if path_of is None:
            fail("send --study needs a filesystem blob store")
        return [
            scu.Outgoing(
                path_of(i.blob_name), i.sop_class_uid, i.sop_instance_uid, i.transfer_syntax_uid
            )
            for i in stored
        ]
    finally:
        archive.close()


@app.command()
def send(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[HOST PORT] [PATH]...",
            help="HOST PORT of the target (unless --peer), then files and folders to send.",
            show_default=False,
        ),
    ] = None,
    study: Annotated[
        list[str] | None, typer.Option("--study", help="Send this study from the local archive.")
    ] = None,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """C-STORE files, or studies of the local archive, to a remote AE.

    The target is HOST PORT --aec AET, or --peer NAME (then every positional
    argument is a path).
    """
    settings = settings_from(config, data_dir, log_level or "WARNING")
    words = list(arguments or [])
    host = port = None
    if not peer:
        if len(words) < 2 or not words[1].isdigit():
            fail("a target is needed: HOST PORT --aec AET, or --peer NAME")
        host, port, words = words[0], int(words[1]), words[2:]
    files = [Path(word) for word in words]
    target = target_from(settings, host, port, aec, peer, aet)
    items: list[scu.Outgoing] = []
    failed: list[tuple[str, str]] = []
    for path, described in scu.describe_files(_files(files)):
        if isinstance(described, str):
            failed.append((str(path), described))
        else:
            items.append(described)
    if study:
        items.extend(_from_archive(settings, study))
        if not items:
            fail(f"no instance of {', '.join(study)} in the local archive")
    if not items and not failed:
        fail("nothing to send: give files, folders or --study UID")
    columns = (TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("send", total=len(items))
        try:
            report = scu.send(target, items, lambda _item, _error: progress.advance(task))
        except scu.ScuError as exc:
            fail(str(exc))
    failed.extend(report.failed)
    console.print(
        f"sent {len(report.sent)} to {target} ({len(report.transcoded)} decompressed), "
        f"failed {len(failed)}",
        highlight=False,
    )
    for label, reason in failed:
        console.print(f"  failed  {label}: {reason}", highlight=False, markup=False)
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)
