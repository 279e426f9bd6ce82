"""`flask --app wsgi candor escrow status`: the key escrow at a glance, for operators."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

import crypto
from portal.services.staff import escrow, escrow_pages

escrow_group = AppGroup("escrow", help="The key escrow: its escrow custodians and cover.")


@escrow_group.command("status")
def escrow_status_command() -> None:
    """Threshold, escrow custodians, generation, cases covered, requests waiting. Exits with an
    error if the escrow public key fails its integrity check."""
    session = current_app.extensions["candor.sessionmaker"]()
    try:
        status = escrow.escrow_status(session)
        if status is None:
            click.echo("No escrow: create one on the admin page /admin/escrow.")
            return
        names = ", ".join(f"{c.name} (paper)" if c.paper else c.name for c in status.custodians)
        click.echo(
            f"Escrow: {status.escrow.threshold} of {len(status.custodians)} escrow custodians "
            f"must approve; generation {status.escrow.generation}."
        )
        click.echo(f"Escrow custodians: {names}.")
        click.echo(
            f"Open cases under escrow: {status.covered} of {status.open_cases} "
            f"({status.uncovered} come under escrow when a handler next opens them)."
        )
        waiting = sum(1 for r in escrow_pages.all_requests(session) if r.state.value == "pending")
        click.echo(f"Requests waiting for approvals: {waiting}.")
        try:
            escrow.escrow_public_key(session, status.escrow)
        except crypto.DecryptionError as exc:
            raise click.ClickException(
                "The escrow public key failed its integrity check: nothing is sealed to it. "
                "Restore the escrows table from a trusted backup."
            ) from exc
    finally:
        session.close()
