"""`flask --app wsgi candor backup ...` and `candor restore`: the site's backups (portal.backup)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import Engine

from portal import migrate
from portal.backup import (
    BackupError,
    apply_retention_after_restore,
    new_backup_key,
    read_private_key,
    restore_backup,
    write_backup,
)
from portal.config import Config
from portal.services import clock
from portal.timeutil import utcnow


class _BackupGroup(AppGroup):
    """`candor backup PATH` writes a backup; `candor backup keygen FILE` makes a key pair."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group("backup", cls=_BackupGroup)
def backup_group() -> None:
    """Write an encrypted backup: `candor backup PATH` (or make a key: `backup keygen FILE`)."""


def _site() -> tuple[Config, Engine]:
    return current_app.extensions["candor.config"], current_app.extensions["candor.engine"]


@backup_group.command("create")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_create_command(path: Path) -> None:
    """Write a consistent snapshot of the database and attachments, encrypted, to PATH."""
    config, engine = _site()
    if config.backup.public_key is None:
        raise click.ClickException(
            "no backup key: set [backup] public_key in the configuration (make a key pair with "
            "`flask --app wsgi candor backup keygen PRIVATE_KEY_FILE`)"
        )
    # The configuration file the site was started with travels too: without its secrets
    # nothing restored can be opened.
    named = os.environ.get("CANDOR_CONFIG", "")
    config_file = Path(named) if named else None
    configuration = config_file.read_bytes() if config_file and config_file.is_file() else None
    try:
        summary = write_backup(
            engine,
            config.storage.attachments_dir,
            config.backup.public_key,
            path,
            utcnow(),
            configuration=configuration,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Backup written to {path}: the {summary.database} database and "
        f"{summary.attachments} attachment files, {summary.size} bytes, encrypted to the "
        "backup key."
    )
    if configuration is not None:
        click.echo(f"The configuration file {config_file} is in the backup too.")
    else:
        click.echo(
            "No configuration file is in the backup (CANDOR_CONFIG names none): keep the "
            "site's secrets with the backup's private key."
        )


@backup_group.command("keygen")
@click.argument("private_key_file", type=click.Path(dir_okay=False, path_type=Path))
def backup_keygen_command(private_key_file: Path) -> None:
    """Make a backup key pair: the private key goes to PRIVATE_KEY_FILE; the public key is shown."""
    try:
        public = new_backup_key(private_key_file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Private key written to {private_key_file}; keep it offline, never on the server.")
    click.echo("Put this in the configuration:")
    click.echo("[backup]")
    click.echo(f'public_key = "{public}"')


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--private-key",
    "private_key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The backup private key file that `backup keygen` wrote.",
)
@click.option("--replace", is_flag=True, help="Overwrite a site that is not empty.")
def restore_command(path: Path, private_key_file: Path, replace: bool) -> None:
    """Put the site in the backup at PATH back (stop the web servers and the worker first)."""
    config, engine = _site()
    try:
        summary = restore_backup(
            engine,
            config.storage.attachments_dir,
            path,
            read_private_key(private_key_file),
            replace=replace,
        )
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    # A backup from an older version is brought to this version's schema.
    migrate.upgrade(engine)
    # The app's connections may point at the database as it was before: open new ones.
    engine.dispose()
    factory = current_app.extensions["candor.sessionmaker"]
    with factory() as session:
        deleted = apply_retention_after_restore(
            session,
            now=utcnow(),
            config=config.retention,
            store=current_app.extensions["candor.attachments"],
            settings=clock.with_holidays(session, current_app.extensions["candor.clock"]),
        )
    click.echo(
        f"Restored the {summary.database} database and {summary.attachments} attachment files "
        f"of the backup written at {summary.written}; cases deleted by retention: {deleted}."
    )
