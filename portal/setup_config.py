"""Write a local configuration with fresh secrets, once: `python -m portal.setup_config PATH`."""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

import crypto
from portal import PROJECT_ROOT


def write_local_config(target: Path) -> bool:
    """Create ``target`` from config.example.toml with new secrets; never overwrite.

    Returns whether the file was written.
    """
    if target.exists():
        return False
    text = (PROJECT_ROOT / "config.example.toml").read_text(encoding="utf-8")
    replacements = {
        "secret_key": secrets.token_urlsafe(48),
        "receipt_pepper": secrets.token_hex(32),
        "integrity_key": secrets.token_hex(32),
        "signing_key": crypto.generate_signing_key().hex(),
        "url": f"sqlite:///{(target.parent / 'candor.sqlite3').resolve()}",
    }
    for key, value in replacements.items():
        text, count = re.subn(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', text, count=1)
        if count != 1:
            raise SystemExit(f"config.example.toml has no line for {key}")
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return True


INTEGRITY_KEY_LINES = (
    "# HMAC key that authenticates every public key and sealed item in the database. Losing it\n"
    "# makes every stored item unverifiable: back it up with the receipt pepper.\n"
    'integrity_key = "{key}"\n'
)


def add_missing_secrets(target: Path) -> bool:
    """Add a fresh ``security.integrity_key`` to an existing config that predates it.

    Safe to run at every start: a file that has the key is left as it is. Returns whether the
    file was changed.
    """
    text = target.read_text(encoding="utf-8")
    if re.search(r"(?m)^\s*integrity_key\s*=", text):
        return False
    lines = INTEGRITY_KEY_LINES.format(key=secrets.token_hex(32))
    header = re.search(r"(?m)^\[security\][^\n]*\n", text)
    if header is None:
        text = text.rstrip("\n") + "\n\n[security]\n" + lines
    else:
        text = text[: header.end()] + lines + text[header.end() :]
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return True


PROOF_KEY_LINES = (
    "# The Ed25519 key that signs reporters' proofs of report. Publish its public half\n"
    "# (`flask --app wsgi candor proof public-key`); keep this secret and back it up.\n"
    'signing_key = "{key}"\n'
)


def add_missing_proof_key(target: Path) -> bool:
    """Add a fresh ``proof.signing_key`` to an existing config that predates proofs.

    Safe to run at every start: a file that names the key is left as it is, even with an empty
    value (an operator's way to offer no proofs). Returns whether the file was changed.
    """
    text = target.read_text(encoding="utf-8")
    if re.search(r"(?m)^\s*signing_key\s*=", text):
        return False
    lines = PROOF_KEY_LINES.format(key=crypto.generate_signing_key().hex())
    header = re.search(r"(?m)^\[proof\][^\n]*\n", text)
    if header is None:
        text = text.rstrip("\n") + "\n\n[proof]\n" + lines
    else:
        text = text[: header.end()] + lines + text[header.end() :]
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return True


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/candor.toml")
    if write_local_config(target):
        print(f"Wrote {target} with new secrets.")
    elif add_missing_secrets(target):
        print(
            f"Added a new security.integrity_key to {target}. Back it up with the receipt "
            "pepper, then run `flask --app wsgi candor integrity sign-existing` once."
        )
    if add_missing_proof_key(target):
        print(
            f"Added a new proof.signing_key to {target}, for reporters' proofs of report. Back "
            "it up, and publish `flask --app wsgi candor proof public-key` in your README."
        )


if __name__ == "__main__":
    main()
