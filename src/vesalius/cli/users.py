"""``vesalius user add|rm|ls|token``: who may use the HTTP front door.

As soon as one user exists, every request to ``/api``, ``/dicomweb`` and
``/wado`` needs a bearer token or a browser session (see docs/security.md).
These verbs work on the archive's index, also while the server runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vesalius.archive.archive import Archive
from vesalius.archive.users import Users
from vesalius.cli.common import ConfigOption, DataDirOption, app, console, fail, settings_from
from vesalius.model.errors import ArchiveError

user_app = typer.Typer(
    help="Users of the web UI, DICOMweb and the API: add, rm, ls, token.",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")


def _with_users(config: ConfigOption, data_dir: DataDirOption) -> tuple[Archive, Users]:
    settings = settings_from(config, data_dir, "WARNING")
    archive = Archive.open(settings)
    return archive, Users(archive.index)


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The user name.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer (read), operator (read, write) or admin.")
    ] = "viewer",
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="The password (at least 8 characters); asked for when left out.",
        ),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a user, or change the password and role of one (which ends its sessions and tokens)."""
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    archive, users = _with_users(config, data_dir)
    try:
        created = users.add(name, password, role)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    console.print(f"{'added' if created else 'changed'} user {name} ({role})", highlight=False)


@user_app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(help="The user name.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Remove a user with its sessions and tokens."""
    archive, users = _with_users(config, data_dir)
    try:
        users.remove(name)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    console.print(f"removed user {name}", highlight=False)


@user_app.command("ls")
def list_users(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """List the users and their roles."""
    archive, users = _with_users(config, data_dir)
    try:
        for user in users.list():
            console.print(f"{user.name}\t{user.role}", highlight=False, markup=False)
    finally:
        archive.close()


@user_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="The user name.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    days: Annotated[
        int, typer.Option("--days", min=0, help="Days until it expires; 0: never.")
    ] = 0,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print a new bearer token of a user (shown once; send it as ``Authorization: Bearer``)."""
    archive, users = _with_users(config, data_dir)
    try:
        secret = users.issue_token(name, label=label, days=days)
    except ArchiveError as exc:
        fail(str(exc))
    finally:
        archive.close()
    console.print(secret, highlight=False, markup=False, soft_wrap=True)
