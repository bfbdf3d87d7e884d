"""What every verb shares: the typer app, options, settings loading and exit codes."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from vesalius.dimse.scu import Target
from vesalius.dimse.tls import TlsClient, for_peer
from vesalius.settings import ConfigError, Settings, load_settings

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_PARTIAL = 2

app = typer.Typer(
    name="vesalius",
    help="Vesalius: a DICOM archive and workstation server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 120,
        "terminal_width": 120,
    },
)
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="TOML configuration file [default: ./vesalius.toml if present]."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Archive folder (index + storage) [default: ./vesalius-data]."),
]
LogLevelOption = Annotated[
    str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
]
AetOption = Annotated[str | None, typer.Option("--aet", help="Our calling AE title.")]
AecOption = Annotated[str | None, typer.Option("--aec", help="The called (remote) AE title.")]
PeerOption = Annotated[str | None, typer.Option("--peer", help="A [[peers]] entry by name.")]
TlsOption = Annotated[bool, typer.Option("--tls", help="Call over TLS (BCP 195 profile).")]
TlsCertOption = Annotated[
    Path | None,
    typer.Option("--tls-cert", help="Our PEM certificate, for a peer that asks for one."),
]
TlsKeyOption = Annotated[Path | None, typer.Option("--tls-key", help="Our PEM private key.")]
TlsCaOption = Annotated[
    Path | None,
    typer.Option("--tls-ca", help="CA bundle the peer's certificate must chain to."),
]


def warn(message: str) -> None:
    """Print one warning line on stderr and go on."""
    errors.print(f"vesalius: warning: {message}", highlight=False, markup=False)


def fail(message: str) -> NoReturn:
    """Print one line on stderr and exit 1."""
    errors.print(f"vesalius: {message}", highlight=False, markup=False)
    raise typer.Exit(EXIT_FATAL)


def settings_from(
    config: Path | None,
    data_dir: Path | None,
    log_level: str | None = None,
    **sections: dict[str, Any],
) -> Settings:
    """Load the settings, with command-line values winning; exit 1 on a bad config."""
    overrides: dict[str, Any] = {key: value for key, value in sections.items() if value}
    if data_dir is not None:
        overrides.setdefault("storage", {})["data_dir"] = str(data_dir)
    if log_level:
        overrides["log_level"] = log_level.upper()
    try:
        settings = load_settings(config, overrides)
    except ConfigError as exc:
        fail(str(exc))
    setup_logging(settings.log_level)
    return settings


def setup_logging(level: str) -> None:
    """One format for every process; pynetdicom's own chatter only when it matters."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\..*)?")


def tls_client(tls: bool, cert: Path | None, key: Path | None, ca: Path | None) -> TlsClient | None:
    """The ``--tls --tls-cert --tls-key --tls-ca`` options of an SCU verb (None: plain TCP)."""
    if not tls:
        if cert or key or ca:
            fail("--tls-cert, --tls-key and --tls-ca go with --tls")
        return None
    if not ca:
        warn("--tls without --tls-ca: the peer's certificate is not verified")
    return TlsClient(str(cert or ""), str(key or ""), str(ca or ""))


def target_and_words(
    settings: Settings,
    arguments: list[str] | None,
    aec: str | None,
    peer: str | None,
    aet: str | None,
    tls_options: TlsClient | None = None,
) -> tuple[Target, list[str]]:
    """The target of ``[HOST PORT] WORD...`` arguments (HOST PORT unless ``--peer``), and
    the words that follow it."""
    words = list(arguments or [])
    host = port = None
    if not peer:
        if len(words) < 2 or not words[1].isdigit():
            fail("a target is needed: HOST PORT --aec AET, or --peer NAME")
        host, port, words = words[0], int(words[1]), words[2:]
    return target_from(settings, host, port, aec, peer, aet, tls_options), words


def target_and_paths(
    settings: Settings,
    arguments: list[str] | None,
    aec: str | None,
    peer: str | None,
    aet: str | None,
    tls_options: TlsClient | None = None,
) -> tuple[Target, list[Path]]:
    """Like ``target_and_words``, the words being paths."""
    target, words = target_and_words(settings, arguments, aec, peer, aet, tls_options)
    return target, [Path(word) for word in words]


def target_from(
    settings: Settings,
    host: str | None,
    port: int | None,
    aec: str | None,
    peer: str | None,
    aet: str | None,
    tls_options: TlsClient | None = None,
) -> Target:
    """The remote AE named by ``HOST PORT --aec AET`` or by ``--peer NAME``.

    As a client we report failures ourselves, in one line: pynetdicom stays quiet.
    """
    logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)
    calling = aet or settings.dicom.ae_title
    if peer:
        if host or port:
            fail("give either HOST PORT --aec AET or --peer NAME, not both")
        try:
            entry = settings.peer(peer)
        except ConfigError as exc:
            fail(str(exc))
        credentials = tls_options or for_peer(settings, entry)
        return Target(entry.host, entry.port, entry.ae_title, calling, credentials)
    if not host or not port:
        fail("a target is needed: HOST PORT --aec AET, or --peer NAME")
    return Target(host, port, aec or "ANY-SCP", calling, tls_options)


def files_under(paths: list[Path]) -> list[Path]:
    """Every file of these files and folders (recursively), in a stable order."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found
