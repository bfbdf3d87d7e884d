"""``vesalius echo`` and ``vesalius send``: the archive as a DIMSE client."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from vesalius.archive.archive import Archive
from vesalius.archive.commitment import Reference
from vesalius.cli.commitment import ask
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
    files_under,
    settings_from,
    target_and_paths,
    target_from,
    tls_client,
)
from vesalius.dimse import scu
from vesalius.settings import Settings

HostArgument = Annotated[str | None, typer.Argument(help="Remote host.", show_default=False)]
PortArgument = Annotated[int | None, typer.Argument(help="Remote port.", show_default=False)]


@app.command()
def echo(
    host: HostArgument = None,
    port: PortArgument = None,
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
    """C-ECHO a remote AE: HOST PORT --aec AET, or --peer NAME."""
    settings = settings_from(config, data_dir, "WARNING")
    target = target_from(
        settings, host, port, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    try:
        code = scu.echo(target)
    except scu.ScuError as exc:
        fail(str(exc))
    if code != 0:
        fail(f"{target} answered C-ECHO with status {code:04X}")
    console.print(f"{target}: C-ECHO succeeded", highlight=False)


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
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    commit: Annotated[
        bool, typer.Option("--commit", help="Then ask the peer to commit to keeping them.")
    ] = False,
    delete_after_commit: Annotated[
        bool,
        typer.Option(
            "--delete-after-commit",
            help="With --commit: delete the local copies (files, or archive instances) that "
            "the peer committed.",
        ),
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """C-STORE files, or studies of the local archive, to a remote AE.

    The target is HOST PORT --aec AET, or --peer NAME (then every positional
    argument is a path). With --commit, the sent instances are then given to
    storage commitment (see `vesalius commit`).
    """
    if delete_after_commit and not commit:
        fail("--delete-after-commit needs --commit")
    settings = settings_from(config, data_dir, log_level or "WARNING")
    target, files = target_and_paths(
        settings, arguments, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    items: list[scu.Outgoing] = []
    failed: list[tuple[str, str]] = []
    for path, described in scu.describe_files(files_under(files)):
        if isinstance(described, str):
            failed.append((str(path), described))
        else:
            items.append(described)
    from_files = len(items)
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
    if commit and report.sent:
        committed = _commit_sent(settings, target, items, set(report.sent), study)
        if committed is None:
            raise typer.Exit(EXIT_PARTIAL)
        if delete_after_commit:
            _delete_committed(settings, items[:from_files], items[from_files:], committed)
        if len(committed) < len(report.sent):
            raise typer.Exit(EXIT_PARTIAL)
    raise typer.Exit(EXIT_PARTIAL if failed else EXIT_OK)


def _commit_sent(
    settings: Settings,
    target: scu.Target,
    items: list[scu.Outgoing],
    sent: set[str],
    study: list[str] | None,
) -> set[str] | None:
    """Ask for the commitment of what was sent; the committed SOP Instance UIDs, or None
    when no report came in time."""
    references = [
        Reference(i.sop_class_uid, i.sop_instance_uid) for i in items if i.sop_instance_uid in sent
    ]
    archive = Archive.open(settings) if study or settings.data_dir.exists() else None
    try:
        outcome = ask(settings, target, references, None, archive)
    finally:
        if archive is not None:
            archive.close()
    if outcome.verdict is None:
        return None
    return {r.sop_instance_uid for r in outcome.verdict.committed}


def _delete_committed(
    settings: Settings,
    files: list[scu.Outgoing],
    stored: list[scu.Outgoing],
    committed: set[str],
) -> None:
    """Delete the local copies of committed instances: files, and archive instances."""
    deleted = 0
    for item in files:
        if item.sop_instance_uid in committed:
            item.path.unlink(missing_ok=True)
            deleted += 1
    if stored:
        archive = Archive.open(settings)
        try:
            for item in stored:
                if item.sop_instance_uid in committed:
                    archive.delete("IMAGE", item.sop_instance_uid)
                    deleted += 1
        finally:
            archive.close()
    console.print(f"deleted {deleted} local copie(s) the peer committed", highlight=False)
