"""`flask --app wsgi candor proof ...`: check a proof of report, print the site's public key."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from portal.config import Config
from portal.services.reporting import proofs


@click.group("proof", cls=AppGroup)
def proof_group() -> None:
    """Proofs of report: check one, or print the key that signs them."""


def _keys() -> proofs.ProofKeys:
    config: Config = current_app.extensions["candor.config"]
    return proofs.ProofKeys.of(config.proof.signing_key, config.proof.previous_public_keys)


@proof_group.command("public-key")
def public_key_command() -> None:
    """Print the hex public key that checks this site's proofs (publish it in your README)."""
    keys = _keys()
    if keys.current is None:
        raise click.ClickException(
            "no proof signing key: set [proof] signing_key in the configuration "
            "(`make run` adds one)"
        )
    click.echo(keys.current.hex())


@proof_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--text",
    "text_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file with the original text, to check that it is what the proof covers.",
)
def verify_command(file: Path, text_file: Path | None) -> None:
    """Check the proof in FILE: exit 0 when its signature is valid (and the text matches)."""
    try:
        text = file.read_text(encoding="utf-8")
        original = text_file.read_text(encoding="utf-8") if text_file is not None else None
    except UnicodeDecodeError:
        raise click.ClickException("not a proof file: a proof is a UTF-8 text file") from None
    try:
        result = proofs.check_proof(text, original, _keys())
    except proofs.ProofFormatError as exc:
        raise click.ClickException(str(exc)) from None
    statement = result.proof.statement
    if result.signed_by is None:
        click.echo("Signature: NOT VALID (not signed by this site's keys as it is)")
    else:
        which = "current" if result.current_key else "earlier"
        click.echo(f"Signature: valid, by this site's {which} key {result.signed_by.hex()}")
    click.echo(f"Case reference: {statement.case_reference}")
    click.echo(f"Covers: {result.proof.item_words}")
    click.echo(f"Received: {statement.received_at.strftime('%Y-%m-%d %H:%M:%S')} UTC")
    if result.text_matches is not None:
        words = "matches" if result.text_matches else "DOES NOT MATCH"
        click.echo(f"Text: {words} what the proof covers")
    if result.signed_by is None or result.text_matches is False:
        raise SystemExit(1)
