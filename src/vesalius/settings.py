"""One ``Settings`` object: the ``vesalius.toml`` file, ``VESALIUS_*`` environment and options.

Precedence, highest first: command-line options, environment variables
(``VESALIUS_SECTION__KEY``), the TOML file, the defaults below. Every option
carries its default and its help text here; ``docs/configuration.md`` lists
them and a test checks that the two agree.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_CONFIG_FILE = Path("vesalius.toml")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the problem."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_ae_title(value: str) -> str:
    stripped = value.strip()
    if not stripped or len(stripped) > 16 or "\\" in stripped or not stripped.isprintable():
        raise ValueError("an AE title is 1 to 16 printable characters without backslash")
    return stripped


Service = Literal["store", "find", "move", "get", "commitment", "worklist", "mpps", "print"]
SERVICES: tuple[str, ...] = (
    "store",
    "find",
    "move",
    "get",
    "commitment",
    "worklist",
    "mpps",
    "print",
)
"""Every DIMSE service a caller may be allowed."""


class TlsSettings(_Section):
    enabled: bool = Field(False, description="Serve DICOM over TLS on its own port.")
    port: int = Field(2762, ge=0, le=65535, description="TCP port of the TLS listener.")
    cert: str = Field("", description="PEM certificate of this node.")
    key: str = Field("", description="PEM private key of this node.")
    ca: str = Field("", description="CA bundle; when set, client certificates are required.")


class DicomSettings(_Section):
    ae_title: str = Field("VESALIUS", description="AE title of this archive.")
    host: str = Field("127.0.0.1", description="Address the DICOM listener binds.")
    port: int = Field(11112, ge=0, le=65535, description="TCP port of the DICOM listener.")
    accept_unknown_callers: bool = Field(
        True, description="False: only AE titles listed in [[peers]] may associate."
    )
    unknown_caller_services: list[Service] = Field(
        default_factory=lambda: list(SERVICES),
        description="Services a caller not listed in [[peers]] may use (C-ECHO always).",
    )
    max_associations: int = Field(
        32, ge=1, description="Concurrent associations, across all receiving processes."
    )
    max_pdu: int = Field(
        262144, ge=0, description="Largest PDU we accept (bytes); 0 means unlimited."
    )
    free_space_floor_mb: int = Field(
        500, ge=0, description="Below this much free disk, C-STORE answers A700."
    )
    duplicate_policy: Literal["ignore", "overwrite"] = Field(
        "ignore", description="What a second copy of a stored SOP Instance UID does."
    )
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Receiving processes sharing the DICOM port; 0: one per core, at most 4.",
    )
    tls: TlsSettings = Field(default_factory=TlsSettings)

    _ae = field_validator("ae_title")(_check_ae_title)


class QuerySettings(_Section):
    max_results: int = Field(
        10000,
        ge=0,
        description="Most matches one C-FIND answers (more are dropped, see docs); 0: no limit.",
    )
    case_insensitive_names: bool = Field(
        True, description="Match person names (PN) without regard to case."
    )


class HttpSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the HTTP listener binds.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port of the HTTP listener.")
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    tls_cert: str = Field("", description="PEM certificate: serve HTTPS (with tls_key).")
    tls_key: str = Field("", description="PEM private key of the HTTPS certificate.")
    public_url: str = Field(
        "",
        description="Base URL clients reach this server at, for the URLs it answers "
        "(behind a reverse proxy); empty: taken from each request.",
    )
    allow_anonymous: bool = Field(
        False, description="True: no login even on a non-loopback address."
    )


class StorageSettings(_Section):
    data_dir: Path = Field(
        Path("./vesalius-data"), description="Folder of the SQLite index and the blob store."
    )


class DatabaseSettings(_Section):
    url: str = Field(
        "", description="Empty: SQLite in data_dir; or a SQLAlchemy URL (postgresql+psycopg://)."
    )


class Hl7Settings(_Section):
    enabled: bool = Field(False, description="Run the MLLP listener for HL7 orders.")
    host: str = Field("127.0.0.1", description="Address the MLLP listener binds.")
    port: int = Field(2575, ge=0, le=65535, description="TCP port of the MLLP listener.")
    ris_host: str = Field(
        "", description="Host that receives completion messages; empty: none are sent."
    )
    ris_port: int = Field(0, ge=0, le=65535, description="Port that receives completion messages.")
    completion_message: Literal["ORM", "ORU"] = Field(
        "ORM",
        description="What tells the RIS a procedure step ended: ORM^O01 status update or ORU^R01.",
    )
    application: str = Field("VESALIUS", description="Our MSH-3 Sending Application.")
    facility: str = Field("", description="Our MSH-4 Sending Facility.")
    ris_application: str = Field("RIS", description="MSH-5 Receiving Application of what we send.")
    ris_facility: str = Field("", description="MSH-6 Receiving Facility of what we send.")
    ack_timeout_s: float = Field(
        30, gt=0, description="Seconds to wait for the RIS to acknowledge a message."
    )
    retry_interval_s: float = Field(
        10, ge=0, description="Seconds before a message is sent again; doubled after each failure."
    )
    retry_max_interval_s: float = Field(
        600, ge=0, description="Longest wait between two attempts to send a message."
    )
    max_attempts: int = Field(
        0, ge=0, description="Attempts before a message is given up; 0: until it is acknowledged."
    )


class PrintSettings(_Section):
    enabled: bool = Field(True, description="Offer the Print SCP on the archive's AE and port.")
    output_dir: str = Field("", description="Where printed films go; empty: data_dir/print.")
    command: str = Field("", description="Command each printed PDF is piped to, e.g. 'lp'.")


class CommitmentSettings(_Section):
    report_retries: int = Field(5, ge=0, description="Attempts to deliver an N-EVENT-REPORT.")
    retry_interval_s: int = Field(
        10, ge=0, description="Seconds before the second attempt; doubled after each failure."
    )
    wait_s: float = Field(
        30, ge=0, description="How long `vesalius commit` waits for the report on its association."
    )


class JobsSettings(_Section):
    lease_s: float = Field(
        30,
        gt=0,
        description="Seconds a node holds a job without renewing (every third of it); "
        "a job of a node silent longer is taken up by another.",
    )


class AuditSettings(_Section):
    enabled: bool = Field(
        True, description="Keep the audit trail (PS3.15 A.5) in data_dir/audit/audit.log."
    )
    site: str = Field("", description="AuditEnterpriseSiteID of our audit messages.")
    syslog_host: str = Field(
        "", description="Audit record repository that also gets each message; empty: none."
    )
    syslog_port: int = Field(514, ge=1, le=65535, description="Port of the audit repository.")
    syslog_transport: Literal["udp", "tls"] = Field(
        "udp", description="RFC 5426 syslog over UDP, or RFC 5425 over TLS."
    )
    syslog_ca: str = Field("", description="CA bundle the TLS repository is checked against.")
    syslog_cert: str = Field("", description="PEM certificate we present to a TLS repository.")
    syslog_key: str = Field("", description="PEM private key of syslog_cert.")


class Peer(_Section):
    name: str = Field(description="Local name of the remote AE (used by --peer).")
    ae_title: str = Field(description="AE title of the remote AE.")
    host: str = Field(description="Host name or address of the remote AE.")
    port: int = Field(ge=1, le=65535, description="TCP port of the remote AE.")
    tls: bool = Field(False, description="Call this peer over TLS.")
    services: list[Service] = Field(
        default_factory=lambda: ["store", "find", "move", "get"],
        description="Services this peer offers, and the only ones it may use when set; "
        "left out: it may use every service.",
    )
    check_address: bool = Field(
        True,
        description="Grant this peer's services only to calls from its host's addresses.",
    )
    move_destinations: list[str] = Field(
        default_factory=list,
        description="AE titles this peer may C-MOVE to; empty: any of [[peers]].",
    )

    _ae = field_validator("ae_title")(_check_ae_title)


class Settings(BaseSettings):
    """Everything Vesalius can be told; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="VESALIUS_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    dicom: DicomSettings = Field(default_factory=DicomSettings)
    query: QuerySettings = Field(default_factory=QuerySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    hl7: Hl7Settings = Field(default_factory=Hl7Settings)
    print: PrintSettings = Field(default_factory=PrintSettings)
    commitment: CommitmentSettings = Field(default_factory=CommitmentSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    peers: list[Peer] = Field(default_factory=list)
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_values = _FILE_VALUES.get(id(settings_cls), {})
        return (
            init_settings,
            env_settings,
            InitSettingsSource(settings_cls, init_kwargs=file_values),
        )

    @property
    def data_dir(self) -> Path:
        """The folder that holds the index and the blobs."""
        return self.storage.data_dir

    def peer(self, name: str) -> Peer:
        """The ``[[peers]]`` entry called ``name``; ``ConfigError`` if there is none."""
        for peer in self.peers:
            if peer.name == name:
                return peer
        known = ", ".join(p.name for p in self.peers) or "none configured"
        raise ConfigError(f"peers: no peer named {name!r} ({known})")


# The TOML values travel to settings_customise_sources through this slot, keyed by
# class, because pydantic-settings builds its sources inside the constructor.
_FILE_VALUES: dict[int, dict[str, Any]] = {}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(root)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif "input" in first and not isinstance(first["input"], dict | list):
        message = f"{message} (got {first['input']!r})"
    return f"{key}: {message}"


def load_settings(
    config_file: Path | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build the settings from file, environment and command-line overrides.

    ``config_file`` None means ``./vesalius.toml`` when it exists. ``overrides``
    is nested like the file (``{"dicom": {"port": 104}}``) and wins over all.
    Raises ``ConfigError`` with one line naming the key and the problem.
    """
    file_values: dict[str, Any] = {}
    path = config_file
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        try:
            file_values = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    _FILE_VALUES[id(Settings)] = file_values
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(f"{_source(exc, path)}{_describe(exc)}") from None
    finally:
        _FILE_VALUES.pop(id(Settings), None)
    if overrides:
        try:
            settings = Settings.model_validate(
                _deep_merge(settings.model_dump(exclude_unset=True), overrides)
            )
        except ValidationError as exc:
            raise ConfigError(f"command line: {_describe(exc)}") from None
    return settings


def _source(error: ValidationError, path: Path | None) -> str:
    """Where the first bad value came from: its environment variable, else the file."""
    location = [str(part) for part in error.errors()[0]["loc"]]
    for end in range(len(location), 0, -1):
        variable = "VESALIUS_" + "__".join(location[:end]).upper()
        if variable in os.environ:
            return f"environment {variable}: "
    return f"{path}: " if path is not None else ""


def describe_settings() -> list[tuple[str, str, str]]:
    """(key, default, help) of every setting, in file order, for the documentation."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            annotation = info.annotation
            key = f"{prefix}{name}"
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{key}.")
                continue
            if name == "peers":
                walk(Peer, "[[peers]].")
                continue
            if info.is_required():
                default = "(required)"
            else:
                value = info.get_default(call_default_factory=True)
                default = json.dumps(str(value) if isinstance(value, Path) else value)
            rows.append((key, default, info.description or ""))

    walk(Settings, "")
    return rows


def settings_table() -> str:
    """The Markdown table of every setting (docs/configuration.md holds a copy)."""
    lines = ["| key | default | environment | meaning |", "| --- | --- | --- | --- |"]
    for key, default, help_text in describe_settings():
        if key.startswith("[[peers]]"):
            env = "(file only)"
        else:
            env = "`VESALIUS_" + key.upper().replace(".", "__") + "`"
        lines.append(f"| `{key}` | `{default}` | {env} | {help_text} |")
    return "\n".join(lines)
