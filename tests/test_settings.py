"""Settings: the documented defaults, the TOML file, ``VESALIUS_*`` variables, options, errors.

Precedence, highest first: command-line overrides, environment, file, defaults
(DESIGN.md, "Config file"). A value that cannot be used raises ``ConfigError``
with one line naming the key; ``vesalius serve`` turns it into exit code 1 and
that one line on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vesalius.settings import ConfigError, Settings, load_settings

VESALIUS = Path(sys.executable).parent / "vesalius"

DOCUMENTED_DEFAULTS: dict[str, dict[str, Any]] = {
    "dicom": {
        "ae_title": "VESALIUS",
        "host": "127.0.0.1",
        "port": 11112,
        "accept_unknown_callers": True,
        "max_associations": 32,
        "max_pdu": 262144,
        "free_space_floor_mb": 500,
        "duplicate_policy": "ignore",
    },
    "dicom.tls": {"enabled": False, "port": 2762, "cert": "", "key": "", "ca": ""},
    "http": {
        "host": "127.0.0.1",
        "port": 8080,
        "cors_origins": [],
        "allow_anonymous": False,
    },
    "storage": {"data_dir": Path("./vesalius-data")},
    "database": {"url": ""},
    "hl7": {"enabled": False, "port": 2575, "ris_host": "", "ris_port": 0},
    "print": {"enabled": True, "output_dir": "", "command": ""},
    "commitment": {"report_retries": 5, "retry_interval_s": 10},
}
"""The values DESIGN.md shows in its ``vesalius.toml`` block."""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``VESALIUS_*`` variable and no ``./vesalius.toml`` from outside the test."""
    for name in list(os.environ):
        if name.startswith("VESALIUS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _section(settings: Settings, dotted: str) -> Any:
    node: Any = settings
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VESALIUS_")}


# -- defaults ---------------------------------------------------------------


@pytest.mark.parametrize("section", sorted(DOCUMENTED_DEFAULTS))
def test_defaults_match_the_design(section: str) -> None:
    settings = load_settings()
    values = _section(settings, section)
    for key, expected in DOCUMENTED_DEFAULTS[section].items():
        assert getattr(values, key) == expected, f"{section}.{key}"


def test_no_peers_and_data_dir_by_default() -> None:
    settings = load_settings()
    assert settings.peers == []
    assert settings.data_dir == Path("./vesalius-data")


def test_vesalius_toml_in_the_working_folder_is_read_when_no_file_is_given(
    tmp_path: Path,
) -> None:
    _write(tmp_path / "vesalius.toml", '[dicom]\nae_title = "FROMCWD"\n')
    assert load_settings().dicom.ae_title == "FROMCWD"


# -- the file, the environment, the command line ------------------------------


FILE = """
[dicom]
ae_title = "FILE_AE"
port = 4104
max_pdu = 16384
duplicate_policy = "overwrite"

[dicom.tls]
enabled = true
port = 2763

[http]
cors_origins = ["https://viewer.example"]

[storage]
data_dir = "/srv/archive"

[[peers]]
name = "pacs2"
ae_title = "PACS2"
host = "127.0.0.1"
port = 11113
services = ["store", "find"]
"""


def test_file_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path / "site.toml", FILE))
    assert settings.dicom.ae_title == "FILE_AE"
    assert settings.dicom.port == 4104
    assert settings.dicom.max_pdu == 16384
    assert settings.dicom.duplicate_policy == "overwrite"
    assert settings.dicom.tls.enabled is True
    assert settings.dicom.tls.port == 2763
    assert settings.http.cors_origins == ["https://viewer.example"]
    assert settings.data_dir == Path("/srv/archive")
    assert settings.dicom.free_space_floor_mb == 500  # not in the file: the default
    peer = settings.peer("pacs2")
    assert (peer.ae_title, peer.host, peer.port, peer.services) == (
        "PACS2",
        "127.0.0.1",
        11113,
        ["store", "find"],
    )


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VESALIUS_DICOM__PORT", "2104")
    monkeypatch.setenv("VESALIUS_HTTP__PORT", "9090")
    settings = load_settings(_write(tmp_path / "site.toml", FILE))
    assert settings.dicom.port == 2104
    assert settings.http.port == 9090
    # The rest of the [dicom] section still comes from the file.
    assert settings.dicom.ae_title == "FILE_AE"
    assert settings.dicom.max_pdu == 16384


def test_overrides_win_over_environment_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VESALIUS_DICOM__PORT", "2104")
    monkeypatch.setenv("VESALIUS_DICOM__AE_TITLE", "ENV_AE")
    settings = load_settings(
        _write(tmp_path / "site.toml", FILE),
        {"dicom": {"port": 1104}, "storage": {"data_dir": str(tmp_path / "d")}},
    )
    assert settings.dicom.port == 1104
    assert settings.data_dir == tmp_path / "d"
    assert settings.dicom.ae_title == "ENV_AE"  # not overridden: the environment's
    assert settings.dicom.max_pdu == 16384  # neither: the file's


# -- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ('[dicom]\nport = "eleven"\n', "dicom.port", "integer"),
        ("[dicom]\nport = 70000\n", "dicom.port", "65535"),
        ("[dicom]\ncolour = 1\n", "dicom.colour", "unknown key"),
        ("[dicomm]\nport = 1\n", "dicomm", "unknown key"),
        ('[dicom]\nae_title = "MUCH_TOO_LONG_AE_TITLE"\n', "dicom.ae_title", "AE title"),
        ('[dicom]\nae_title = "A\\\\B"\n', "dicom.ae_title", "AE title"),
        ('[dicom]\nduplicate_policy = "keep"\n', "dicom.duplicate_policy", "overwrite"),
        (
            '[[peers]]\nname = "p"\nae_title = "P"\nhost = "h"\nport = 0\n',
            "peers.0.port",
            "1",
        ),
    ],
    ids=[
        "port-not-a-number",
        "port-out-of-range",
        "unknown-key",
        "unknown-section",
        "ae-title-too-long",
        "ae-title-backslash",
        "unknown-policy",
        "peer-port-zero",
    ],
)
def test_a_bad_file_value_names_its_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    path = _write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"{key}:" in message
    assert fragment in message
    assert str(path) in message


def test_bad_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.toml", "[dicom]\nport = 11112\n[http\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert "not valid TOML" in message
    assert "line 3" in message


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "absent.toml")


def test_a_bad_environment_value_names_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VESALIUS_DICOM__MAX_PDU", "lots")
    with pytest.raises(ConfigError, match=r"dicom\.max_pdu: .*integer"):
        load_settings()


def test_a_bad_override_names_its_key() -> None:
    with pytest.raises(ConfigError, match=r"dicom\.port: .*65535"):
        load_settings(overrides={"dicom": {"port": 65536}})


@pytest.mark.parametrize("source", ["environment", "override"])
def test_a_bad_value_from_elsewhere_does_not_blame_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    path = _write(tmp_path / "site.toml", FILE)  # a good file
    overrides = None
    if source == "environment":
        monkeypatch.setenv("VESALIUS_DICOM__PORT", "99999")
    else:
        overrides = {"dicom": {"port": 99999}}
    with pytest.raises(ConfigError) as caught:
        load_settings(path, overrides)
    message = str(caught.value)
    assert "dicom.port" in message
    assert str(path) not in message, "the value did not come from the file"


# -- the command line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[dicom]\nport = "eleven"\n', "dicom.port: "),
        ("[dicom]\nmystery = true\n", "dicom.mystery: unknown key"),
        ('[dicom]\nae_title = ""\n', "dicom.ae_title: "),
        ("[dicom\n", "not valid TOML"),
    ],
    ids=["bad-port", "unknown-key", "empty-ae-title", "bad-toml"],
)
def test_serve_with_a_bad_config_exits_1_with_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    config = _write(tmp_path / "bad.toml", text)
    result = subprocess.run(
        [str(VESALIUS), "serve", "--config", str(config), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vesalius: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "d").exists(), "a refused configuration must not create the archive"


def test_serve_command_line_option_is_checked_like_the_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(VESALIUS), "serve", "--dicom-port", "70000", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=_clean_env(),
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "dicom.port" in lines[0]
