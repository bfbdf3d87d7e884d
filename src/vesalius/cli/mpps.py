"""``vesalius mpps create|set|complete|discontinue``: report a performed procedure step to a
remote MPPS SCP, as a modality does (PS3.4 F.7).

``create`` starts a step IN PROGRESS for a worklist item (``--item ID`` of the
local worklist, or ``-k`` fields) and prints its SOP Instance UID; ``set``
changes attributes of it; ``complete`` and ``discontinue`` end it. A refusal
prints its status and Error Comment and exits 1.
"""

from __future__ import annotations

import warnings
from typing import Annotated

import typer
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from vesalius.archive import worklist
from vesalius.archive.archive import Archive
from vesalius.cli.common import (
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
    target_and_words,
    tls_client,
)
from vesalius.cli.worklist import FieldOption, parse_fields
from vesalius.dimse import scu
from vesalius.dimse.scu_workflow import (
    Answer,
    final_attributes,
    mpps_create,
    mpps_set,
    step_attributes,
)
from vesalius.dimse.tls import TlsClient
from vesalius.model.errors import ArchiveError

mpps_app = typer.Typer(
    help="Performed procedure steps toward a remote MPPS SCP: create, set, complete, discontinue.",
    no_args_is_help=True,
)
app.add_typer(mpps_app, name="mpps")

TargetWords = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[HOST PORT] UID",
        help="HOST PORT of the SCP (unless --peer), then the step's SOP Instance UID.",
        show_default=False,
    ),
]


def _target_and_uid(
    words: list[str] | None, config: ConfigOption, data_dir: DataDirOption,
    aec: str | None, peer: str | None, aet: str | None, *, uid_needed: bool = True,
    tls_options: TlsClient | None = None,
) -> tuple[scu.Target, str]:  # fmt: skip
    settings = settings_from(config, data_dir, "WARNING")
    target, rest = target_and_words(settings, words, aec, peer, aet, tls_options)
    if uid_needed and len(rest) != 1:
        fail("give the SOP Instance UID of the performed procedure step")
    return target, rest[0] if rest else ""


def _report(verb: str, target: scu.Target, answer: Answer) -> None:
    if not answer.ok:
        fail(f"{target} refused the {verb} of step {answer.sop_instance_uid}: status {answer}")
    console.print(f"{verb} {answer.sop_instance_uid}: {answer}", highlight=False)


def _send_set(target: scu.Target, uid: str, modifications: Dataset, verb: str) -> None:
    try:
        answer = mpps_set(target, uid, modifications)
    except scu.ScuError as exc:
        fail(str(exc))
    _report(verb, target, answer)


@mpps_app.command("create")
def create(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(metavar="[HOST PORT]", help="The SCP, unless --peer.", show_default=False),
    ] = None,
    item: Annotated[
        int | None, typer.Option("--item", help="Id of a local worklist item the step performs.")
    ] = None,
    key: FieldOption = None,
    modality: Annotated[str | None, typer.Option("--modality", help="Modality, e.g. CT.")] = None,
    uid: Annotated[str | None, typer.Option("--uid", help="SOP Instance UID to create.")] = None,
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
    """Start a performed procedure step IN PROGRESS (N-CREATE); prints its SOP Instance UID."""
    target, _ = _target_and_uid(
        arguments,
        config,
        data_dir,
        aec,
        peer,
        aet,
        uid_needed=False,
        tls_options=tls_client(tls, tls_cert, tls_key, tls_ca),
    )
    fields = parse_fields(key)
    if item is not None:
        archive = Archive.open(settings_from(config, data_dir, "WARNING"))
        try:
            fields = {**worklist.get(archive, item).fields, **fields}
        except ArchiveError as exc:
            fail(str(exc))
        finally:
            archive.close()
    attributes = step_attributes(
        fields, station_ae_title=target.calling_aet, modality=modality or ""
    )
    try:
        answer = mpps_create(target, attributes, uid)
    except scu.ScuError as exc:
        fail(str(exc))
    _report("created", target, answer)


@mpps_app.command("set")
def set_(
    arguments: TargetWords = None,
    key: Annotated[
        list[str] | None,
        typer.Option("-k", "--key", help="KEYWORD=VALUE of an attribute to set, repeated."),
    ] = None,
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
    """Change attributes of a step IN PROGRESS (N-SET)."""
    target, uid = _target_and_uid(
        arguments,
        config,
        data_dir,
        aec,
        peer,
        aet,
        tls_options=tls_client(tls, tls_cert, tls_key, tls_ca),
    )
    modifications = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pair in key or []:
            keyword, sep, value = pair.partition("=")
            if not sep or tag_for_keyword(keyword.strip()) is None:
                fail(f"{pair!r}: not KEYWORD=VALUE of a DICOM attribute")
            setattr(modifications, keyword.strip(), value)
    if not len(modifications):
        fail("nothing to set: give -k KEYWORD=VALUE")
    _send_set(target, uid, modifications, "set")


@mpps_app.command("complete")
def complete(
    arguments: TargetWords = None,
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
    """End a step COMPLETED, now (N-SET with the end date and time)."""
    target, uid = _target_and_uid(
        arguments,
        config,
        data_dir,
        aec,
        peer,
        aet,
        tls_options=tls_client(tls, tls_cert, tls_key, tls_ca),
    )
    _send_set(target, uid, final_attributes("COMPLETED"), "completed")


@mpps_app.command("discontinue")
def discontinue(
    arguments: TargetWords = None,
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
    """End a step DISCONTINUED, now (N-SET with the end date and time)."""
    target, uid = _target_and_uid(
        arguments,
        config,
        data_dir,
        aec,
        peer,
        aet,
        tls_options=tls_client(tls, tls_cert, tls_key, tls_ca),
    )
    _send_set(target, uid, final_attributes("DISCONTINUED"), "discontinued")
