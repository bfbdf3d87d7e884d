"""``vesalius worklist add|ls|rm|query``: the local modality worklist, and a remote one.

``add``, ``ls`` and ``rm`` work on this archive's worklist (the items the RIS
sends over HL7 and the API edits), also while the server runs. ``query``
asks a remote worklist SCP (a RIS, or another Vesalius) as a modality would.
Fields are worklist keywords (``-k PatientName=DOE^JOHN -k Modality=CT``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from vesalius.archive import worklist
from vesalius.archive.archive import Archive
from vesalius.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    AecOption,
    AetOption,
    ConfigOption,
    DataDirOption,
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
from vesalius.dimse import scu
from vesalius.dimse.scu_workflow import worklist_find
from vesalius.model.errors import ArchiveError, NotFound
from vesalius.model.worklist import FIELDS, item_dataset, item_fields

worklist_app = typer.Typer(
    help="The modality worklist: local items (add, ls, rm) and remote queries (query).",
    no_args_is_help=True,
)
app.add_typer(worklist_app, name="worklist")

FieldOption = Annotated[
    list[str] | None,
    typer.Option("-k", "--key", help="KEYWORD=VALUE of a worklist field, repeated."),
]
ModalityOption = Annotated[str | None, typer.Option("--modality", help="Modality, e.g. CT.")]
DateOption = Annotated[
    str | None,
    typer.Option(
        "--date", help="Scheduled start date: today, YYYYMMDD or a range (20240101-20240131)."
    ),
]
StationOption = Annotated[str | None, typer.Option("--station", help="Scheduled Station AE Title.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
COLUMNS = (
    ("ScheduledProcedureStepStatus", "Status"),
    ("ScheduledProcedureStepStartDate", "Date"),
    ("ScheduledProcedureStepStartTime", "Time"),
    ("Modality", "Modality"),
    ("ScheduledStationAETitle", "Station"),
    ("PatientName", "Patient"),
    ("PatientID", "Patient ID"),
    ("AccessionNumber", "Accession"),
    ("RequestedProcedureDescription", "Procedure"),
    ("StudyInstanceUID", "Study Instance UID"),
)


def parse_fields(pairs: list[str] | None) -> dict[str, str]:
    """``KEYWORD=VALUE`` pairs as fields; exit 1 for one that is not a worklist field."""
    fields: dict[str, str] = {}
    for pair in pairs or []:
        keyword, sep, value = pair.partition("=")
        if not sep or keyword.strip() not in FIELDS:
            fail(f"{pair!r}: not KEYWORD=VALUE of a worklist field ({', '.join(FIELDS)})")
        fields[keyword.strip()] = value
    return fields


def date_value(text: str) -> str:
    """``today`` (also inside a range) as YYYYMMDD; other values as they are."""
    return text.replace("today", dt.date.today().strftime("%Y%m%d"))


def filters(
    fields: dict[str, str], modality: str | None, date: str | None, station: str | None
) -> dict[str, str]:
    """The fields a query matches, with the shortcuts given as options."""
    found = dict(fields)
    if modality:
        found["Modality"] = modality
    if date:
        found["ScheduledProcedureStepStartDate"] = date_value(date)
    if station:
        found["ScheduledStationAETitle"] = station
    return found


def print_items(rows: list[dict[str, str]], title: str, ids: list[int] | None = None) -> None:
    """A table of worklist items."""
    table = Table(title=title)
    if ids is not None:
        table.add_column("id")
    for _keyword, label in COLUMNS:
        table.add_column(label, overflow="fold")
    for number, row in enumerate(rows):
        cells = [row.get(keyword, "") for keyword, _label in COLUMNS]
        table.add_row(*([str(ids[number])] if ids is not None else []), *cells)
    console.print(table)


@worklist_app.command("add")
def add(
    key: FieldOption = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add an item to the local worklist (PatientName and PatientID are required; the
    start date may be given as today)."""
    settings = settings_from(config, data_dir, "WARNING")
    fields = parse_fields(key)
    if "ScheduledProcedureStepStartDate" in fields:
        fields["ScheduledProcedureStepStartDate"] = date_value(
            fields["ScheduledProcedureStepStartDate"]
        )
    archive = Archive.open(settings)
    try:
        row = worklist.add(archive, fields)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    console.print(
        f"worklist item {row.id}: study {row.fields['StudyInstanceUID']}", highlight=False
    )


@worklist_app.command("ls")
def ls(
    key: FieldOption = None,
    modality: ModalityOption = None,
    date: DateOption = None,
    station: StationOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="SCHEDULED, IN PROGRESS, COMPLETED...")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most items listed.")] = 500,
    as_json: JsonOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List the local worklist, by scheduled start; -k filters with C-FIND matching."""
    settings = settings_from(config, data_dir, "WARNING")
    wanted = filters(parse_fields(key), modality, date, station)
    if status:
        wanted["ScheduledProcedureStepStatus"] = status
    archive = Archive.open(settings)
    try:
        rows, total = worklist.listing(archive, filters=wanted, limit=limit)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    if as_json:
        typer.echo(json.dumps([{"id": r.id, **r.fields} for r in rows], indent=2))
        return
    print_items([r.fields for r in rows], f"{total} worklist item(s)", [r.id for r in rows])


@worklist_app.command("rm")
def rm(
    ids: Annotated[list[int], typer.Argument(help="Ids of the items to delete.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete local worklist items by id; exit 2 when some did not exist."""
    settings = settings_from(config, data_dir, "WARNING")
    archive = Archive.open(settings)
    missing = []
    try:
        for item_id in ids:
            try:
                worklist.remove(archive, item_id)
            except NotFound:
                missing.append(item_id)
    finally:
        archive.close()
    console.print(f"deleted {len(ids) - len(missing)} worklist item(s)", highlight=False)
    for item_id in missing:
        console.print(f"  no item {item_id}", highlight=False)
    raise typer.Exit(EXIT_PARTIAL if missing else EXIT_OK)


@worklist_app.command("query")
def query(
    host: Annotated[str | None, typer.Argument(help="Remote host.", show_default=False)] = None,
    port: Annotated[int | None, typer.Argument(help="Remote port.", show_default=False)] = None,
    modality: ModalityOption = None,
    date: DateOption = None,
    station: StationOption = None,
    key: FieldOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the matches as DICOM JSON.")
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
    """Query a remote modality worklist (C-FIND): HOST PORT --aec AET, or --peer NAME."""
    settings = settings_from(config, data_dir, "WARNING")
    target = target_from(
        settings, host, port, aec, peer, aet, tls_options=tls_client(tls, tls_cert, tls_key, tls_ca)
    )
    identifier = item_dataset(filters(parse_fields(key), modality, date, station))
    try:
        matches, status = worklist_find(target, identifier)
    except scu.ScuError as exc:
        fail(str(exc))
    if status not in (0x0000, 0xB000):
        fail(f"{target} answered the worklist query with status {status:04X}")
    if as_json:
        typer.echo(json.dumps([m.to_json_dict() for m in matches], indent=2))
        return
    print_items([item_fields(m) for m in matches], f"{len(matches)} worklist item(s) at {target}")
