"""``vesalius find``, ``move``, ``get`` and ``retrieve``: Query/Retrieve as a workstation.

Thin: keys are parsed by ``model.keys``, the protocol is ``dimse.scu_query``,
and this module only prints tables, JSON and progress bars. Exit codes follow
the CLI conventions: 0 all done, 1 fatal (one line on stderr), 2 partial.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vesalius.archive.archive import Archive
from vesalius.archive.filemeta import file_meta_bytes
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    AecOption,
    AetOption,
    ConfigOption,
    DataDirOption,
    LogLevelOption,
    PeerOption,
    TlsCaOption,
    TlsCertOption,
    TlsKeyOption,
    TlsOption,
    app,
    console,
    fail,
    settings_from,
    target_from,
    tls_client,
)
from vesalius.dimse import scu, scu_query
from vesalius.dimse.scu_query import RetrieveReport
from vesalius.model.keys import BadKey, columns_for, identifier_for, keyword
from vesalius.model.origin import Origin
from vesalius.settings import Settings

HostArgument = Annotated[str | None, typer.Argument(help="Remote host.", show_default=False)]
PortArgument = Annotated[int | None, typer.Argument(help="Remote port.", show_default=False)]
KeyOption = Annotated[
    list[str] | None,
    typer.Option(
        "-k",
        "--key",
        help="KEY=VALUE (keyword or gggg,eeee), repeated; KEY= asks for a return key.",
        show_default=False,
    ),
]
LevelOption = Annotated[
    str, typer.Option("--level", help="PATIENT, STUDY, SERIES or IMAGE.", case_sensitive=False)
]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model", help="Information model: patient or study root (PATIENT level: patient)."
    ),
]

SUCCESS_OR_WARNING = (scu_query.SUCCESS, scu_query.WARNING)


def _identifier(keys: list[str] | None, level: str, *, defaults: bool) -> Dataset:
    try:
        return identifier_for(keys or [], level, defaults=defaults)
    except BadKey as exc:
        fail(str(exc))


def _cell(dataset: Dataset, tag: int) -> str:
    if tag not in dataset:
        return ""
    value = dataset[tag].value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list):
        return "\\".join(str(v) for v in value)
    return str(value)


@app.command()
def find(
    host: HostArgument = None,
    port: PortArgument = None,
    key: KeyOption = None,
    level: LevelOption = "STUDY",
    model: ModelOption = "study",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a DICOM JSON array (PS3.18 F.2).")
    ] = False,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """C-FIND a remote AE: HOST PORT --aec AET, or --peer NAME.

    Prints one row per match; the columns are the keys asked plus the level's
    unique key. Without -k, the level's usual return keys are asked for.
    """
    settings = settings_from(config, data_dir, "WARNING")
    target = target_from(
        settings, host, port, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    identifier = _identifier(key, level, defaults=True)
    try:
        matches = scu_query.find(target, identifier, model.lower())
    except scu.ScuError as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps([match.to_json_dict() for match in matches], indent=2))
        return
    columns = columns_for(key or [], level)
    table = Table(title=f"{len(matches)} match(es) at {identifier.QueryRetrieveLevel} level")
    for tag in columns:
        table.add_column(keyword(tag), overflow="fold")
    for match in matches:
        table.add_row(*(_cell(match, tag) for tag in columns))
    console.print(table)


def _progress_bar(label: str) -> tuple[Progress, Callable[[RetrieveReport], None]]:
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, transient=True)
    task = progress.add_task(label, total=None)

    def update(report: RetrieveReport) -> None:
        done = report.completed + report.failed + report.warning
        progress.update(task, completed=done, total=report.total)

    return progress, update


def _summary(verb: str, target: scu.Target, report: RetrieveReport, service: str) -> int:
    """Print what happened; the exit code (or exit 1 when nothing was done at all)."""
    status = report.status
    if status is None:
        fail(f"{target} ended the C-{service.upper()} without a final status")
    done = report.completed + report.warning + len(report.received)
    if status not in SUCCESS_OR_WARNING and status != scu_query.CANCEL and done == 0:
        message = f"{target} answered C-{service.upper()} with status "
        message += scu_query.describe_status(status, service)
        fail(f"{message}: {report.comment}" if report.comment else message)
    completed = max(report.completed, len(report.received))
    failed = report.failed + len(report.refused)
    console.print(
        f"{verb}: completed {completed}, failed {failed}, warning {report.warning} "
        f"(status {scu_query.describe_status(status, service)})",
        highlight=False,
    )
    for instance, reason in report.refused:
        console.print(f"  failed  {instance}: {reason}", highlight=False, markup=False)
    partial = failed > 0 or status not in SUCCESS_OR_WARNING
    return EXIT_PARTIAL if partial else EXIT_OK


@app.command()
def move(
    host: HostArgument = None,
    port: PortArgument = None,
    dest: Annotated[str, typer.Option("--dest", help="AE title that receives the instances.")] = "",
    key: KeyOption = None,
    level: LevelOption = "STUDY",
    model: ModelOption = "study",
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """C-MOVE from a remote AE to --dest: HOST PORT --aec AET, or --peer NAME.

    Exit 2 when some sub-operations failed.
    """
    settings = settings_from(config, data_dir, "WARNING")
    target = target_from(
        settings, host, port, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    if not dest:
        fail("--dest AET is needed: the AE title that receives the instances")
    identifier = _identifier(key, level, defaults=False)
    progress, update = _progress_bar(f"moving to {dest}")
    with progress:
        try:
            report = scu_query.move(target, identifier, dest, model.lower(), update)
        except scu.ScuError as exc:
            fail(str(exc))
    raise typer.Exit(_summary(f"moved to {dest}", target, report, "move"))


def _writer(out: Path, source_aet: str) -> scu_query.Receiver:
    out.mkdir(parents=True, exist_ok=True)

    def write(sop_class: str, sop_instance: str, syntax: str, data: bytes) -> None:
        path = out / f"{sop_instance}.dcm"
        partial = path.with_suffix(".part")
        partial.write_bytes(file_meta_bytes(sop_class, sop_instance, syntax, source_aet) + data)
        partial.replace(path)

    return write


def _storer(archive: Archive, target: scu.Target) -> scu_query.Receiver:
    origin = Origin(
        "dimse", calling_aet=target.ae_title, called_aet=target.calling_aet, address=target.host
    )

    def store(sop_class: str, sop_instance: str, syntax: str, data: bytes) -> None:
        archive.store_dataset(
            data, syntax, origin, sop_class_uid=sop_class, sop_instance_uid=sop_instance
        )

    return store


@app.command()
def get(
    host: HostArgument = None,
    port: PortArgument = None,
    key: KeyOption = None,
    level: LevelOption = "STUDY",
    model: ModelOption = "study",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the instances here as Part 10 files.")
    ] = None,
    into_archive: Annotated[
        bool, typer.Option("--into-archive", help="Store the instances in the local archive.")
    ] = False,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """C-GET from a remote AE: HOST PORT --aec AET, or --peer NAME.

    The instances arrive on the same association and go to --out DIR (as
    SOP-Instance-UID.dcm) or, with --into-archive, into the local archive.
    Exit 2 when some sub-operations failed.
    """
    settings = settings_from(config, data_dir, log_level or "WARNING")
    target = target_from(
        settings, host, port, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    if (out is None) == (not into_archive):
        fail("give either --out DIR or --into-archive")
    identifier = _identifier(key, level, defaults=False)
    archive = Archive.open(settings) if into_archive else None
    try:
        receive = _storer(archive, target) if archive else _writer(out, target.ae_title)  # type: ignore[arg-type]
        progress, update = _progress_bar("getting")
        with progress:
            try:
                report = scu_query.get(target, identifier, receive, model.lower(), update)
            except scu.ScuError as exc:
                fail(str(exc))
    finally:
        if archive is not None:
            archive.close()
    raise typer.Exit(_summary("received", target, report, "get"))


def _our_server(settings: Settings, aet: str | None) -> scu.Target:
    host = settings.dicom.host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    calling = aet or settings.dicom.ae_title
    return scu.Target(host, settings.dicom.port, settings.dicom.ae_title, calling)


@app.command()
def retrieve(
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="Study Instance UID to pull, repeated.", show_default=False),
    ] = None,
    peer: PeerOption = None,
    model: ModelOption = "study",
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Pull studies from a [[peers]] PACS into the local archive.

    C-GET when the peer's services include "get"; otherwise C-MOVE to our own
    AE title, which needs `vesalius serve` running on this archive and our AE
    known to the peer as a move destination.
    """
    settings = settings_from(config, data_dir, "WARNING")
    if not peer:
        fail("retrieve needs --peer NAME")
    if not study:
        fail("give at least one --study UID")
    target = target_from(
        settings,
        None,
        None,
        None,
        peer,
        aet,
        tls_options=tls_client(tls, tls_cert, tls_key, tls_ca),
    )
    by_get = "get" in settings.peer(peer).services
    ours = _our_server(settings, aet)
    if not by_get:
        try:
            scu.echo(scu.Target(ours.host, ours.port, ours.ae_title, ours.calling_aet))
        except scu.ScuError:
            fail(
                f"retrieve by C-MOVE needs `vesalius serve` running on this archive: "
                f"nothing answers at {ours.host}:{ours.port}"
            )
    total = RetrieveReport(status=scu_query.SUCCESS)
    archive = Archive.open(settings) if by_get else None
    try:
        for uid in study:
            identifier = _identifier([f"StudyInstanceUID={uid}"], "STUDY", defaults=False)
            progress, update = _progress_bar(f"study {uid}")
            with progress:
                try:
                    if archive is not None:
                        report = scu_query.get(
                            target, identifier, _storer(archive, target), model.lower(), update
                        )
                    else:
                        report = scu_query.move(
                            target, identifier, ours.ae_title, model.lower(), update
                        )
                except scu.ScuError as exc:
                    fail(str(exc))
            status = report.status if report.status is not None else scu_query.SUCCESS
            if status == 0xA801:
                fail(
                    f"{target} does not know {ours.ae_title} as a move destination (A801): "
                    f"add it to the peer with this archive's address and port {ours.port}"
                )
            _summary(f"study {uid}", target, report, "move" if archive is None else "get")
            total.completed += max(report.completed, len(report.received))
            total.failed += report.failed + len(report.refused)
            total.warning += report.warning
            if status not in SUCCESS_OR_WARNING:
                total.status = status
    finally:
        if archive is not None:
            archive.close()
    console.print(
        f"retrieved {len(study)} study(ies) from {target}: completed {total.completed}, "
        f"failed {total.failed}, warning {total.warning}",
        highlight=False,
    )
    partial = total.failed > 0 or total.status not in SUCCESS_OR_WARNING
    raise typer.Exit(EXIT_PARTIAL if partial else EXIT_OK)
