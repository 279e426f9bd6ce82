"""Whether a new site can take reports yet, and what its operator should do next."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.models import User
from portal.services import intake

CREATE_ADMIN_COMMAND = (
    "CANDOR_CONFIG={config} .venv/bin/flask --app wsgi candor create-user "
    '--role admin --username alice --display-name "Alice Example"'
)


@dataclass(frozen=True)
class Readiness:
    """What a fresh site still lacks; nothing here is secret (no names, no counts)."""

    has_staff: bool
    can_receive: bool


def has_staff(session: Session) -> bool:
    """Whether any staff account exists: one cheap query, for pages that only need this."""
    return bool(session.scalar(select(exists().where(User.id.is_not(None)))))


def site_readiness(session: Session) -> Readiness:
    """Whether any staff account exists, and whether any handler can receive a report."""
    staff = has_staff(session)
    return Readiness(has_staff=staff, can_receive=staff and bool(intake.list_recipients(session)))


def next_steps(readiness: Readiness, *, config_path: str, base_url: str) -> list[str]:
    """The operator's next steps, in order; empty once the site can take reports."""
    steps: list[str] = []
    if not readiness.has_staff:
        steps.append(
            "Create the first admin (the password is read from the terminal): "
            + CREATE_ADMIN_COMMAND.format(config=config_path)
        )
    if not readiness.can_receive:
        steps.append(f"Sign in as that admin at {base_url}/staff/sign-in")
        steps.append(
            "Invite handlers under Invite someone: an admin reads no case unless also a "
            "handler, and reports cannot be taken until one handler has activated their account"
        )
    return steps
