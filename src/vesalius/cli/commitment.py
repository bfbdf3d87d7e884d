"""``vesalius commit``: ask a peer to commit to keeping instances (storage commitment)."""

from __future__ import annotations

from typing import Annotated

import typer

from vesalius.archive.archive import Archive
from vesalius.archive.commitment import Reference, Verdict
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
    tls_client,
)
from vesalius.dimse import scu
from vesalius.dimse.commitment_scu import CommitOutcome, request_commitment
from vesalius.settings import Settings

WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        help="Seconds to wait for the report on the association [default: [commitment] wait_s].",
        show_default=False,
    ),
]


@app.command()
def commit(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[HOST PORT] [PATH]...",
            help="HOST PORT of the peer (unless --peer), then files and folders whose "
            "instances to commit.",
            show_default=False,
        ),
    ] = None,
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="Commit the instances of this local study, repeated."),
    ] = None,
    aec: AecOption = None,
    peer: PeerOption = None,
    aet: AetOption = None,
    tls: TlsOption = False,
    tls_cert: TlsCertOption = None,
    tls_key: TlsKeyOption = None,
    tls_ca: TlsCaOption = None,
    wait: WaitOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    log_level: LogLevelOption = None,
) -> None:
    """Ask a peer to commit to keeping instances (Storage Commitment Push Model).

    Waits for the peer's report on the association; a report that comes later
    reaches `vesalius serve` on this archive and is kept in the request's job.
    """
    settings = settings_from(config, data_dir, log_level or "WARNING")
    target, paths = target_and_paths(
        settings, arguments, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    references: list[Reference] = []
    for path, described in scu.describe_files(files_under(paths)):
        if isinstance(described, str):
            fail(f"{path}: {described}")
        references.append(Reference(described.sop_class_uid, described.sop_instance_uid))
    archive = Archive.open(settings) if study or settings.data_dir.exists() else None
    try:
        if study and archive is not None:
            stored = archive.instances(study_uids=study)
            if not stored:
                fail(f"no instance of {', '.join(study)} in the local archive")
            references += [Reference(i.sop_class_uid, i.sop_instance_uid) for i in stored]
        if not references:
            fail("nothing to commit: give files, folders or --study UID")
        outcome = ask(settings, target, references, wait, archive)
    finally:
        if archive is not None:
            archive.close()
    raise typer.Exit(EXIT_OK if outcome.verdict and not outcome.verdict.failed else EXIT_PARTIAL)


def ask(
    settings: Settings,
    target: scu.Target,
    references: list[Reference],
    wait: float | None,
    archive: Archive | None,
) -> CommitOutcome:
    """Request the commitment, wait for the report, print what was committed."""
    wait_s = settings.commitment.wait_s if wait is None else wait
    try:
        outcome = request_commitment(target, references, wait_s=wait_s, archive=archive)
    except scu.ScuError as exc:
        fail(str(exc))
    print_verdict(target, outcome, len(references))
    return outcome


def print_verdict(target: scu.Target, outcome: CommitOutcome, asked: int) -> None:
    """One summary line, then one line per failed instance."""
    verdict: Verdict | None = outcome.verdict
    if verdict is None:
        later = f" (job {outcome.job_id})" if outcome.job_id is not None else ""
        console.print(
            f"asked {target} to commit {asked} instance(s), transaction {outcome.transaction_uid}: "
            f"no report yet; `vesalius serve` records it when it comes{later}",
            highlight=False,
        )
        return
    console.print(
        f"{target} committed {len(verdict.committed)} of {asked} instance(s), "
        f"failed {len(verdict.failed)} (transaction {outcome.transaction_uid})",
        highlight=False,
    )
    for reference, reason in verdict.failed:
        console.print(
            f"  not committed  {reference.sop_instance_uid}: reason {reason:04X}",
            highlight=False,
            markup=False,
        )
