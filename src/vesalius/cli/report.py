"""``vesalius report create|show|ls``: write a report into a stored study, read any SR or KOS.

``create`` makes a Basic Text SR (Enhanced once there are numbers, or the
``--kind`` asked for, TID 1500 for ``comprehensive``) and, with
``--key-images``, a Key Object Selection, and stores them in the study as any
received object. ``show`` prints a document (a file, or a SOP Instance UID of
the archive) as text, HTML or JSON. ``ls`` lists the reports of a study.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from vesalius.archive.archive import Archive
from vesalius.cli.common import ConfigOption, DataDirOption, app, console, fail, settings_from
from vesalius.model.errors import ArchiveError
from vesalius.sopclasses import sop_class_name

if TYPE_CHECKING:
    from vesalius.reporting.read import Document

# The reporting modules (highdicom, pydicom's code dictionaries) load when a report
# verb runs, not with every other verb.
KINDS = ("auto", "basic", "enhanced", "comprehensive")
"""As ``reporting.spec.KINDS``."""

report_app = typer.Typer(
    help="Structured reports: create one in a study, show any SR or KOS, list a study's.",
    no_args_is_help=True,
)
app.add_typer(report_app, name="report")

FORMATS = ("text", "html", "json")
Repeated = list[str] | None


def _open(settings_dir: tuple[Path | None, Path | None]) -> Archive:
    settings = settings_from(*settings_dir, "WARNING")
    try:
        return Archive.open(settings)
    except Exception as exc:
        fail(f"cannot open the archive in {settings.data_dir}: {exc}")


@report_app.command("create")
def create(
    study: Annotated[str, typer.Option("--study", help="Study Instance UID of a stored study.")],
    title: Annotated[
        str, typer.Option("--title", help="Document title (CID 7000 titles are coded as such).")
    ] = "Diagnostic Imaging Report",
    text: Annotated[Repeated, typer.Option("--text", help="A paragraph of Findings.")] = None,
    section: Annotated[
        Repeated, typer.Option("--section", help="HEADING=TEXT, e.g. 'Impression=No fracture.'")
    ] = None,
    finding: Annotated[
        Repeated, typer.Option("--finding", help="SCHEME:VALUE:Meaning (SCT:4147007:Mass) or text.")
    ] = None,
    measure: Annotated[
        Repeated,
        typer.Option(
            "--measure", help="NAME=VALUE UNIT[@SOPUID[:FRAME][#c1,r1,c2,r2]], UCUM units."
        ),
    ] = None,
    key_images: Annotated[
        Repeated, typer.Option("--key-images", help="SOP Instance UID of a key image, repeated.")
    ] = None,
    key_title: Annotated[
        str, typer.Option("--key-title", help="Key Object Selection title (CID 7010).")
    ] = "Of Interest",
    key_description: Annotated[
        str, typer.Option("--key-description", help="Why these images were chosen.")
    ] = "",
    kind: Annotated[
        str, typer.Option("--kind", help=f"SR class: {', '.join(KINDS)} (comprehensive: TID 1500).")
    ] = "auto",
    observer: Annotated[
        str, typer.Option("--observer", help="Author, as a DICOM name: FAMILY^GIVEN.")
    ] = "",
    partial: Annotated[
        bool, typer.Option("--partial", help="Completion Flag PARTIAL (default COMPLETE).")
    ] = False,
    final: Annotated[bool, typer.Option("--final", help="Preliminary Flag FINAL.")] = False,
    verified_by: Annotated[
        str, typer.Option("--verified-by", help="Verifying observer: the report is VERIFIED.")
    ] = "",
    organization: Annotated[
        str, typer.Option("--organization", help="The verifying observer's organization.")
    ] = "",
    as_json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a report (and key image selection) into a stored study."""
    from vesalius.reporting.create import KIND_NAMES, create_report
    from vesalius.reporting.spec import (
        ReportSpec,
        Section,
        parse_finding,
        parse_measure,
        parse_section,
    )

    if kind not in KINDS:
        fail(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    try:
        spec = ReportSpec(
            title=title,
            kind=kind,  # type: ignore[arg-type]
            sections=tuple(
                [Section("Findings", t) for t in text or []]
                + [parse_section(s) for s in section or []]
            ),
            findings=tuple(parse_finding(f) for f in finding or []),
            measurements=tuple(parse_measure(m) for m in measure or []),
            key_images=tuple(key_images or []),
            key_title=key_title,
            key_description=key_description,
            observer=observer,
            complete=not partial,
            final=final,
            verified_by=verified_by,
            organization=organization,
        )
    except ArchiveError as exc:
        fail(str(exc))
    archive = _open((config, data_dir))
    try:
        created = create_report(archive, study, spec)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    if as_json_output:
        typer.echo(json.dumps([asdict(item) for item in created], indent=2))
        return
    for item in created:
        console.print(
            f"{item.outcome} {KIND_NAMES[item.kind]} {item.title!r} {item.sop_instance_uid} "
            f"(series {item.series_instance_uid})",
            highlight=False,
            markup=False,
        )


def _render(document: Document, fmt: str) -> str:
    from vesalius.reporting.html_document import render_html
    from vesalius.reporting.read import as_json
    from vesalius.reporting.text import render_text

    if fmt == "html":
        return render_html(document)
    if fmt == "json":
        return json.dumps(as_json(document), indent=2, ensure_ascii=False) + "\n"
    return render_text(document)


@report_app.command("show")
def show(
    source: Annotated[str, typer.Argument(help="An SR/KOS file, or a SOP Instance UID stored.")],
    fmt: Annotated[
        str, typer.Option("--format", help=f"Output format: {', '.join(FORMATS)}.")
    ] = "text",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print a structured report or key object selection as a readable document."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from vesalius.reporting.stored import document_of, stored_document

    if fmt not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    path = Path(source)
    try:
        if path.is_file():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dataset = pydicom.dcmread(path, force=True)
            document = document_of(dataset)
        else:
            archive = _open((config, data_dir))
            try:
                document = stored_document(archive, source)
            finally:
                archive.close()
    except (InvalidDicomError, OSError) as exc:
        fail(f"{source}: not readable as DICOM ({exc})")
    except ArchiveError as exc:
        fail(f"{source}: {exc}")
    typer.echo(_render(document, fmt), nl=False)


@report_app.command("ls")
def list_reports(
    study: Annotated[str, typer.Option("--study", help="Study Instance UID.")],
    as_json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List the structured reports and key object selections of a stored study."""
    from vesalius.reporting.stored import study_reports

    archive = _open((config, data_dir))
    try:
        found = study_reports(archive, study)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    if as_json_output:
        typer.echo(json.dumps([s.as_json() for s in found], indent=2))
        return
    table = Table(title=f"Reports of study {study}", title_justify="left")
    for header in ("Date", "Title", "Class", "Flags", "SOP Instance UID"):
        table.add_column(header, overflow="fold")
    for summary in found:
        flags = " ".join(f for f in (summary.completion, summary.verification) if f)
        table.add_row(
            summary.content_datetime,
            summary.title,
            sop_class_name(summary.sop_class_uid),
            flags,
            summary.sop_instance_uid,
        )
    console.print(table)
