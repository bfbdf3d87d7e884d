"""The documentation keeps up with the code: every setting and every verb is described."""

from __future__ import annotations

import subprocess
from pathlib import Path

from typer.testing import CliRunner

import vesalius.cli.main  # noqa: F401 - registers the verbs
from conftest import VESALIUS
from vesalius.cli.common import app as cli_app
from vesalius.settings import describe_settings, settings_table

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_doc_holds_the_generated_table() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_table() in doc
    assert all(help_text for _key, _default, help_text in describe_settings())


def test_readme_opens_with_the_two_commands() -> None:
    first_block = (ROOT / "README.md").read_text(encoding="utf-8").split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_every_verb_is_in_the_readme_and_has_help() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listing = subprocess.run(
        [VESALIUS, "--help"], capture_output=True, text=True, check=True
    ).stdout
    verbs = ["serve", "import", "send", "echo", "dump", "ls", "find", "move", "get", "retrieve"]
    verbs += ["commit", "conformance", "check", "user", "anonymize"]
    verbs += ["worklist", "mpps", "export", "report", "print"]
    runner = CliRunner()  # in process: one interpreter start for all the verbs
    for verb in verbs:
        assert verb in listing
        assert f"`vesalius {verb}" in readme
        result = runner.invoke(cli_app, [verb, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
