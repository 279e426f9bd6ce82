"""The per-code delay counts every failure, also when failures arrive in parallel."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from portal.db import integrity_info, make_engine
from portal.models import ReceiptCodeDelay
from portal.services import receipt_delays
from portal.services.receipt_delays import DelayPolicy
from tests.conftest import TEST_INTEGRITY_KEY
from tests.factories import NOW

PARALLEL = 8


@pytest.fixture
def engine(
    backend: str, database: tuple[str, object], request: pytest.FixtureRequest
) -> Iterator[Engine]:
    """An engine whose sessions are truly separate connections (the ``db`` fixture's PostgreSQL
    sessions share one connection, which cannot race)."""
    if backend == "sqlite":
        sqlite = make_engine(database[0])
        yield sqlite
        sqlite.dispose()
        return
    postgres: Engine = request.getfixturevalue("postgres_engine")
    yield postgres


def test_parallel_failures_are_all_counted_and_the_delay_only_grows(engine: Engine) -> None:
    policy = DelayPolicy()
    key = secrets.token_bytes(32)
    factory = sessionmaker(
        bind=engine, expire_on_commit=False, info=integrity_info(TEST_INTEGRITY_KEY)
    )
    start = threading.Barrier(PARALLEL)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with factory() as session:
                start.wait(timeout=30)
                receipt_delays.record_failure(session, key, NOW, policy)
                session.commit()
        except BaseException as exc:  # reported below, with the assertion that fails
            errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        with factory() as session:
            row = session.scalars(select(ReceiptCodeDelay).where(ReceiptCodeDelay.key == key)).one()
            assert row.failures == PARALLEL
            # Eight failures: five free, then 1, 2 and 4 minutes; whichever commits last, the
            # longest delay stays.
            assert row.not_before == NOW + timedelta(minutes=4)
    finally:
        # On PostgreSQL this engine commits for real, outside the per-test rollback.
        with factory() as session:
            session.execute(delete(ReceiptCodeDelay).where(ReceiptCodeDelay.key == key))
            session.commit()


def test_a_success_clears_the_count(db: Session) -> None:
    key = secrets.token_bytes(32)
    for _ in range(7):
        receipt_delays.record_failure(db, key, NOW, DelayPolicy())
    db.commit()
    assert receipt_delays.retry_at(db, key, NOW) == NOW + timedelta(minutes=2)
    receipt_delays.clear(db, key)
    db.commit()
    assert receipt_delays.retry_at(db, key, NOW) is None
    assert db.scalar(select(ReceiptCodeDelay).where(ReceiptCodeDelay.key == key)) is None
