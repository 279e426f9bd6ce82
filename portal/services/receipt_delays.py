"""A growing delay per receipt code after a few failed check-backs, instead of a lockout.

The passphrase has about 90 bits, so online guessing is hopeless; what needs protecting is the
server's CPU and the one case. A lockout would let anyone who knows a receipt code shut its
reporter out, and a site-wide limit would let anyone shut every reporter out. So a few failures on
one code cost nothing, and each further one sets the earliest time of the next attempt, doubling
up to a cap; an attempt before that time does no Argon2id work, and a success clears the count.

Counts live in the database (``receipt_code_delays``) rather than in the rate limiter's storage:
every web instance sees them without Redis (with in-memory limiter counters, each server process
would keep counts of its own), they cannot be evicted by a flood of other keys filling Redis'
memory, and they change in the same transaction as the sign-in they belong to. They are keyed by
an HMAC of the canonical code, so every way of typing one code counts against one key and the
table holds no code in the clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.config import RateLimitConfig
from portal.models import ReceiptCodeDelay

# A code left alone this long starts afresh; longer than the longest delay, short enough that the
# table only holds the last day's failures.
FORGET_AFTER = timedelta(days=1)
_MAX_DOUBLINGS = 30  # far past any cap; keeps the arithmetic small


@dataclass(frozen=True)
class DelayPolicy:
    """How many failures are free, and how the delay grows after them."""

    free_failures: int = 5
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)

    @classmethod
    def from_config(cls, config: RateLimitConfig) -> DelayPolicy:
        return cls(
            free_failures=config.check_free_failures,
            first_delay=timedelta(minutes=config.check_first_delay_minutes),
            max_delay=timedelta(minutes=config.check_max_delay_minutes),
        )

    def delay_after(self, failures: int) -> timedelta | None:
        """The wait that the ``failures``-th failure in a row imposes, or None while free."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return None
        factor: int = 2 ** min(beyond - 1, _MAX_DOUBLINGS)
        return min(self.first_delay * factor, self.max_delay)


def retry_at(session: Session, key: bytes, now: datetime) -> datetime | None:
    """The earliest time of the next attempt on this code, if that is still in the future."""
    not_before = session.scalar(
        select(ReceiptCodeDelay.not_before).where(
            ReceiptCodeDelay.key == key, ReceiptCodeDelay.last_failure_at >= now - FORGET_AFTER
        )
    )
    return not_before if not_before is not None and not_before > now else None


def record_failure(
    session: Session, key: bytes, now: datetime, policy: DelayPolicy
) -> datetime | None:
    """Count a failed attempt on this code; return the time before which the next is refused.

    The count goes up in one statement (an upsert), so parallel failures are all counted; the
    delay only ever moves later. Rows quiet for a day go first. Does not commit.
    """
    session.execute(
        delete(ReceiptCodeDelay).where(ReceiptCodeDelay.last_failure_at < now - FORGET_AFTER)
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ReceiptCodeDelay).values(key=key, failures=1, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[ReceiptCodeDelay.key],
        set_={"failures": ReceiptCodeDelay.failures + 1, "last_failure_at": now},
    )
    failures = session.execute(statement.returning(ReceiptCodeDelay.failures)).scalar_one()
    delay = policy.delay_after(failures)
    if delay is None:
        return None
    until = now + delay
    session.execute(
        update(ReceiptCodeDelay)
        .where(
            ReceiptCodeDelay.key == key,
            or_(ReceiptCodeDelay.not_before.is_(None), ReceiptCodeDelay.not_before < until),
        )
        .values(not_before=until)
    )
    # A parallel failure may have set a later time; the reporter is told the real one.
    return session.scalar(select(ReceiptCodeDelay.not_before).where(ReceiptCodeDelay.key == key))


def clear(session: Session, key: bytes) -> None:
    """Forget the failures on this code (after a success). Does not commit."""
    session.execute(delete(ReceiptCodeDelay).where(ReceiptCodeDelay.key == key))
