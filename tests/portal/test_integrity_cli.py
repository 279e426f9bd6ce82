"""`candor integrity sign-existing` and `candor integrity verify`, and adding the key to an
older configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal import PROJECT_ROOT
from portal.models import Attachment, Case, CaseKeyGrant, Message, Note, User
from portal.setup_config import add_missing_secrets, write_local_config
from tests.security.integrity_helpers import (
    INTEGRITY_TEXT,
    case_row,
    file_full_case,
    flip,
    handler_page,
)

TAGS = {
    Case: (
        "public_key_tag",
        "reporter_wrapped_key_tag",
        "sealed_report_tag",
        "sealed_identity_tag",
        "sealed_preview_tag",
    ),
    CaseKeyGrant: ("tag",),
    Message: ("tag",),
    Note: ("tag",),
    Attachment: ("tag",),
    User: ("public_key_tag",),
}


def _forget_every_tag(db: Session) -> None:
    """The database as it was before tags existed."""
    for model, columns in TAGS.items():
        db.execute(update(model).values({column: None for column in columns}))
    db.commit()


def _run(app: Flask, command: str) -> tuple[int, str]:
    # Click 8.2 keeps standard error apart and gives both in output.
    result = app.test_cli_runner().invoke(args=["candor", "integrity", command])
    return result.exit_code, result.output


def test_rows_from_before_tags_are_refused_until_signed(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    _forget_every_tag(db)
    assert INTEGRITY_TEXT in handler_page(app, db, filed).get_data(as_text=True)  # type: ignore[attr-defined]
    code, output = _run(app, "verify")
    assert code == 1
    assert "failed: case C-" in output and "report" in output and "public key" in output

    code, output = _run(app, "sign-existing")
    assert code == 0, output
    # One case (5 values), 2 grants, 2 messages, 1 note, 2 attachments, 2 accounts.
    assert "Checked 14 stored values; tagged 14" in output
    code, output = _run(app, "verify")
    assert code == 0 and "All 14 stored values verified." in output
    assert handler_page(app, db, filed).status_code == 200  # type: ignore[attr-defined]


def test_a_wrong_tag_is_reported_and_never_re_signed(app: Flask, db: Session) -> None:
    filed = file_full_case(app, db)
    case = case_row(db, filed)
    case.sealed_report = flip(case.sealed_report, bit=100)
    db.commit()
    for command in ("sign-existing", "verify"):
        code, output = _run(app, command)
        assert code == 1
        assert output.count("failed:") == 1 and ": report" in output
    db.expire_all()
    assert handler_page(app, db, filed).status_code == 500  # type: ignore[attr-defined]
    assert db.scalar(select(Case.sealed_report_tag)) is not None


def test_setup_config_adds_an_integrity_key_to_an_older_config(tmp_path: Path) -> None:
    target = tmp_path / "candor.toml"
    assert write_local_config(target)
    fresh = tomllib.loads(target.read_text())["security"]["integrity_key"]
    assert len(bytes.fromhex(fresh)) == 32 and fresh != "0" * 64
    assert add_missing_secrets(target) is False  # already there: left alone

    old = "\n".join(
        line for line in target.read_text().splitlines() if not line.startswith("integrity_key")
    )
    target.write_text(old + "\n")
    assert add_missing_secrets(target) is True
    added = tomllib.loads(target.read_text())["security"]["integrity_key"]
    assert len(bytes.fromhex(added)) == 32
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert "back it up" in target.read_text()
    assert (PROJECT_ROOT / "config.example.toml").read_text().count("integrity_key =") == 1
