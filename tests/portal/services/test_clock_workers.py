"""The clock worker under concurrency: several processes, and one killed mid-batch.

PostgreSQL runs every test here (workers claim with FOR UPDATE SKIP LOCKED); SQLite runs the
exactly-once test with two processes (each chunk takes the write lock with BEGIN IMMEDIATE).

Each test builds its own schema (migrated from scratch, dropped at the end) holding three
handlers with addresses (levels 1, 2 and 3, each holding every case's key) and cases on the EU
Directive policy whose "acknowledge" deadline has reached its due time: both warnings are done
(``steps_done`` = 2) and ``next_action_at`` is the due time, an hour before the fixed ``now``.
Their "feedback" deadline runs too, months from due, and must not be touched. The due step is the
breach: one "deadline_breached" and one "escalated" (level 1 -> 2) audit entry, two outbox rows
(the level-1 handler is told it is overdue, the level-2 one that it was escalated to them) and
one system message to the reporter, sealed to the case public key.

Rows are inserted in bulk with Core: sealed columns the clock never opens are dummy bytes, but
the case public key is a real X25519 key (one key pair shared by every case), since the breach
seals a message to it.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

import crypto
from portal import migrate
from portal.db import make_engine, make_session_factory
from portal.models import (
    AuditEntry,
    AuthorKind,
    Case,
    CaseKeyGrant,
    CaseStatus,
    Deadline,
    DeadlineState,
    Message,
    OutboxMessage,
    OutboxState,
    Role,
)
from portal.services import accounts, audit, clock, contexts, inbox
from portal.services.calendar import BusinessCalendar
from portal.services.policies import load_policy
from tests.conftest import (
    POSTGRES_URL,
    TEST_INTEGRITY_KEY,
    drop_postgres_schema,
    postgres_schema_engine,
)

needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="these clock worker tests need PostgreSQL (FOR UPDATE SKIP LOCKED): set "
    "CANDOR_TEST_DATABASE_URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test",
)

POLICY = "eu-directive"
# Ten thousand due deadlines, the size the clock is held to. The audit chain's head row
# serialises the workers' chunks (each holds it from its first entry to its commit), so the run
# time grows with the cases, not the workers: about half a minute here.
# CANDOR_CLOCK_WORKER_CASES sets another size.
CASES = int(os.environ.get("CANDOR_CLOCK_WORKER_CASES", "10000"))
KILLED_CASES = 500
WORKERS = 4
INSERT_BATCH = 5_000
# Empty passes (0.05 s apart) a worker makes while rows stay due but held by others.
IDLE_PASSES = 400
# Received one second apart from here: far from a daylight-saving change, so every "acknowledge"
# deadline falls exactly seven days later and its first escalation two days after that.
T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SITE = "Test Organisation"
BASE_URL = "http://localhost"


def clock_settings(batch_size: int) -> clock.ClockSettings:
    return clock.ClockSettings(
        calendar=BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BY"),
        site_name=SITE,
        base_url=BASE_URL,
        batch_size=batch_size,
    )


# --- the worker process ---------------------------------------------------------------------


def run_worker(
    url: str, now: datetime, batch_size: int, name: str, results: Any, go: Any = None
) -> None:
    """A clock worker in a process of its own: passes until nothing is due any more.

    A pass that claims nothing is not the end: every due row may be held by another worker's
    transaction. PostgreSQL also keeps the lock on a deadline whose case was skipped as locked
    until that transaction ends, so a row can be held by a worker that is not acting on it. The
    worker then looks again after a short wait, as ``candor clock run`` does after its interval.

    With ``go`` (a barrier shared by the workers), it waits until every worker is ready, so that
    workers started one after another begin their passes together.
    """
    # The name lets a test find the worker's backend on PostgreSQL.
    engine = (
        make_engine(url, connect_args={"application_name": name})
        if url.startswith("postgresql")
        else make_engine(url)
    )
    factory = make_session_factory(engine, integrity_key=TEST_INTEGRITY_KEY)
    settings = clock_settings(batch_size)
    passes = claimed = acted = idle = 0
    if go is not None:
        go.wait(60)
    try:
        while True:
            with factory() as session:
                result = clock.tick(session, now=now, settings=settings)
            passes += 1
            claimed += result.claimed
            acted += result.acted
            if result.claimed == 0:
                if not _still_due(factory, now):
                    break
                idle += 1
                if idle > IDLE_PASSES:
                    raise RuntimeError(f"deadlines stay due after {idle} empty passes")
                time.sleep(0.05)
    except Exception as exc:
        # Reported to the test at once, rather than left for it to time out on.
        results.put((name, -1, 0, 0, repr(exc)))
        raise
    finally:
        engine.dispose()
    results.put((name, passes, claimed, acted, ""))


def _still_due(factory: Any, now: datetime) -> bool:
    with factory() as session:
        due = session.scalar(
            select(func.count()).select_from(Deadline).where(Deadline.next_action_at <= now)
        )
    return bool(due)


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    cases: int
    now: datetime
    keypair: crypto.KeyPair
    emails: dict[int, str]  # by level
    ack_due: dict[int, datetime]  # by case id
    feedback_next: dict[int, tuple[int, datetime]]  # by case id: (steps_done, next_action_at)
    uids: dict[int, str]  # by case id


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh, migrated schema of this test's own, dropped afterwards."""
    if POSTGRES_URL is None:
        pytest.skip("needs PostgreSQL: set CANDOR_TEST_DATABASE_URL")
    schema = f"candor_clockw_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(POSTGRES_URL, schema)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        drop_postgres_schema(POSTGRES_URL, schema)


def populate(engine: Engine, cases: int) -> Population:
    """Handlers at levels 1-3 with addresses, and ``cases`` cases whose acknowledgement is due."""
    factory = make_session_factory(engine, integrity_key=TEST_INTEGRITY_KEY)
    settings = clock_settings(500)
    calendar = settings.calendar
    policy = load_policy(POLICY)
    ack, feedback = policy.clock("acknowledge"), policy.clock("feedback")
    keypair = crypto.generate_keypair()
    emails: dict[int, str] = {}
    with factory() as db:
        user_ids = []
        for level in (1, 2, 3):
            username = f"handler{level}"
            user = accounts.create_user(
                db,
                username=username,
                display_name=username.title(),
                role=Role.HANDLER,
                password=PASSWORD,
                level=level,
                profile=crypto.TEST,
                now=T0,
            ).user
            user.email = emails[level] = f"{username}@example.org"
            db.commit()
            user_ids.append(user.id)

        case_rows: list[dict[str, Any]] = []
        grant_rows: list[dict[str, Any]] = []
        deadline_rows: list[dict[str, Any]] = []
        ack_due: dict[int, datetime] = {}
        feedback_next: dict[int, tuple[int, datetime]] = {}
        uids: dict[int, str] = {}
        for case_id in range(1, cases + 1):
            received = T0 + timedelta(seconds=case_id)
            # Unique in its first 8 characters, which make the case reference in the outbox.
            uid = uids[case_id] = f"{case_id:08x}{secrets.token_hex(12)}"
            due = ack_due[case_id] = clock.due_time(ack, received, calendar)
            case_rows.append(
                {
                    "id": case_id,
                    "uid": uid,
                    "receipt_lookup": secrets.token_bytes(32),
                    "submission_lookup": secrets.token_bytes(32),
                    "public_key": keypair.public_key,
                    # Checked before the clock seals an automatic message to the key.
                    "public_key_tag": crypto.integrity_tag(
                        TEST_INTEGRITY_KEY,
                        b"public-key",
                        contexts.case_public_key(uid),
                        keypair.public_key,
                    ),
                    "reporter_wrapped_key": b"dummy: the clock never opens it",
                    "category": "fraud",
                    "policies": [POLICY],
                    "tier": 2,
                    "status": CaseStatus.NEW,
                    "confidential": False,
                    "escalation_level": 1,
                    "sealed_report": b"dummy: the clock never opens it",
                    "received_at": received,
                    "next_due_at": due,
                }
            )
            grant_rows.extend(
                {
                    "case_id": case_id,
                    "user_id": user_id,
                    "sealed_case_key": b"dummy",
                    "granted_at": received,
                }
                for user_id in user_ids
            )
            common = {
                "case_id": case_id,
                "policy": POLICY,
                "state": DeadlineState.RUNNING,
                "started_at": received,
                "level_reached": 1,
                "paused_seconds": 0,
                "extensions": 0,
            }
            # Acknowledge: both warnings sent, the due time (the breach) is the next step.
            deadline_rows.append(
                common
                | {
                    "clock": ack.key,
                    "due_at": due,
                    "steps_done": len(ack.warn_before),
                    "next_action_at": due,
                }
            )
            # Feedback (three months from the end of the seven days): its first warning is
            # months away, so no pass may touch it.
            feedback_due = clock.due_time(feedback, due, calendar)
            first_warning = calendar.add(feedback_due, -feedback.warn_before[0])
            feedback_next[case_id] = (0, first_warning)
            deadline_rows.append(
                common
                | {
                    "clock": feedback.key,
                    "due_at": feedback_due,
                    "steps_done": 0,
                    "next_action_at": first_warning,
                }
            )
        for table, rows in (
            (Case, case_rows),
            (CaseKeyGrant, grant_rows),
            (Deadline, deadline_rows),
        ):
            for start in range(0, len(rows), INSERT_BATCH):
                db.execute(insert(table), rows[start : start + INSERT_BATCH])
        if engine.dialect.name == "postgresql":
            db.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": cases}
            )
        db.commit()
    with engine.begin() as conn:
        # This schema's tables only: a bare ANALYZE would visit every schema in the database.
        conn.execute(
            text("ANALYZE cases, case_key_grants, deadlines")
            if engine.dialect.name == "postgresql"
            else text("ANALYZE")
        )
    # The fixed "now" of every pass: an hour after the last acknowledgement fell due.
    now = max(ack_due.values()) + timedelta(hours=1)
    # The rows are what the clock itself would schedule: the due time is the next action.
    sample = Deadline(
        due_at=ack_due[1], state=DeadlineState.RUNNING, steps_done=len(ack.warn_before)
    )
    assert clock.next_action(sample, ack, Case(tier=2), calendar) == ack_due[1]
    step = ack.escalation_step(2)
    assert step is not None and clock.escalation_time(sample, step, 1, calendar) > now
    return Population(cases, now, keypair, emails, ack_due, feedback_next, uids)


# --- what must be true afterwards ------------------------------------------------------------


def assert_exactly_once(db: Session, pop: Population) -> None:
    """Every due breach happened exactly once, with its audit entries, outbox rows and message."""
    policy = load_policy(POLICY)
    step = policy.clock("acknowledge").escalation_step(2)
    assert step is not None
    calendar = clock_settings(500).calendar

    actions = Counter(db.scalars(select(AuditEntry.action)).all())
    assert actions == {
        "account_created": 3,
        "deadline_breached": pop.cases,
        "escalated": pop.cases,
    }, actions
    per_case = Counter(
        db.execute(
            select(AuditEntry.case_id, AuditEntry.action, AuditEntry.detail).where(
                AuditEntry.case_id.is_not(None)
            )
        ).all()
    )
    expected_entries = {
        (i, "deadline_breached", "eu-directive/acknowledge") for i in range(1, pop.cases + 1)
    }
    expected_entries |= {
        (i, "escalated", "eu-directive/acknowledge: level 1 -> 2 (deadline passed)")
        for i in range(1, pop.cases + 1)
    }
    assert set(per_case) == expected_entries
    assert set(per_case.values()) == {1}, "an entry was written twice"

    # Outbox: per case, "overdue" to the level-1 handler and "escalated" to the level-2 one.
    outbox = db.execute(
        select(OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.state)
    ).all()
    assert len(outbox) == 2 * pop.cases
    assert {state for _, _, state in outbox} == {OutboxState.PENDING}
    expected_outbox = set()
    for uid in pop.uids.values():
        reference = inbox.reference(Case(uid=uid))
        expected_outbox.add(
            (pop.emails[1], f"[{SITE}] Case {reference}: overdue: acknowledge the report")
        )
        expected_outbox.add(
            (
                pop.emails[2],
                f"[{SITE}] Case {reference}: escalated to you (supervisor): "
                "acknowledge the report is overdue",
            )
        )
    assert {(to, subject) for to, subject, _ in outbox} == expected_outbox

    # One system message per case, sealed to the case key (a sample opens).
    messages = db.execute(
        select(Message.case_id, Message.uid, Message.author_kind, Message.sealed_body)
    ).all()
    assert len(messages) == pop.cases
    assert {m.case_id for m in messages} == set(pop.uids)
    assert {m.author_kind for m in messages} == {AuthorKind.SYSTEM}
    for m in messages[:: max(1, pop.cases // 20)]:
        body = crypto.open_sealed(
            pop.keypair.private_key, m.sealed_body, contexts.message(pop.uids[m.case_id], m.uid)
        ).decode()
        assert body.startswith("We have not managed to acknowledge your report in the time")

    # Deadlines: the acknowledgement advanced exactly one step; feedback untouched.
    rows = db.execute(
        select(
            Deadline.case_id,
            Deadline.clock,
            Deadline.state,
            Deadline.steps_done,
            Deadline.level_reached,
            Deadline.next_action_at,
        )
    ).all()
    assert len(rows) == 2 * pop.cases
    for case_id, key, state, steps, level, next_at in rows:
        if key == "acknowledge":
            due = pop.ack_due[case_id]
            assert (state, steps, level) == (DeadlineState.BREACHED, 3, 2), (case_id, key)
            assert next_at == calendar.add(due, step), case_id
        else:
            assert (state, level) == (DeadlineState.RUNNING, 1), (case_id, key)
            assert (steps, next_at) == pop.feedback_next[case_id], (case_id, key)
    levels = Counter(db.scalars(select(Case.escalation_level)).all())
    assert levels == {2: pop.cases}
    wrong_next_due = [
        case_id
        for case_id, next_due in db.execute(select(Case.id, Case.next_due_at))
        if next_due != pop.ack_due[case_id]
    ]
    assert not wrong_next_due

    # Nothing is left for a pass at this "now", and the audit chain is whole.
    result = clock.tick(db, now=pop.now, settings=clock_settings(100_000))
    assert result == clock.TickResult(claimed=0, acted=0)
    assert audit.verify(db) == audit.VerifyResult(True, 3 + 2 * pop.cases)


def count_breaches(db: Session) -> int:
    return (
        db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "deadline_breached")
        )
        or 0
    )


# --- the tests ------------------------------------------------------------------------------


def run_workers(
    engine: Engine, pop: Population, count: int, batch_size: int, *, shared: bool
) -> None:
    """``count`` worker processes at once until nothing is due; each due step happens once.

    ``shared``: every worker must have taken part of the work. On SQLite one worker holding the
    write lock makes the others wait, and its busy handler need not hand the lock over fairly,
    so there one worker may well do it all while the other waits its turn.
    """
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    go = context.Barrier(count)
    workers = [
        context.Process(
            target=run_worker,
            args=(url, pop.now, batch_size, f"candor-clock-worker-{n}", results, go),
        )
        for n in range(count)
    ]
    for worker in workers:
        worker.start()
    try:
        stats = [results.get(timeout=60 + CASES * 0.1) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert not [error for *_, error in stats if error], stats
    assert [w.exitcode for w in workers] == [0] * count
    print("workers (name, passes, claimed, acted):", sorted(s[:4] for s in stats))
    # Every due deadline was acted on once; no claimed row was left undone.
    assert sum(acted for _, _, _, acted, _ in stats) == pop.cases, stats
    assert sum(claimed for _, _, claimed, _, _ in stats) == pop.cases, stats
    if shared:
        assert all(claimed > 0 for _, _, claimed, _, _ in stats), stats
    with make_session_factory(engine, integrity_key=TEST_INTEGRITY_KEY)() as db:
        assert_exactly_once(db, pop)


@pytest.mark.postgres
@needs_postgres
def test_four_worker_processes_act_on_each_due_deadline_exactly_once(pg_engine: Engine) -> None:
    run_workers(pg_engine, populate(pg_engine, CASES), WORKERS, 250, shared=True)


def test_two_worker_processes_on_sqlite_act_on_each_due_deadline_exactly_once(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'workers.sqlite3'}")
    try:
        migrate.upgrade(engine)
        run_workers(engine, populate(engine, 600), 2, 50, shared=False)
    finally:
        engine.dispose()


@pytest.mark.postgres
@needs_postgres
def test_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(pg_engine: Engine) -> None:
    cases = KILLED_CASES
    batch = cases // 4
    pop = populate(pg_engine, cases)
    url = pg_engine.url.render_as_string(hide_password=False)
    name = f"candor-clock-victim-{secrets.token_hex(4)}"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    victim = context.Process(target=run_worker, args=(url, pop.now, batch, name, results))
    factory = make_session_factory(pg_engine, integrity_key=TEST_INTEGRITY_KEY)
    activity = text(
        "SELECT state, backend_xid IS NOT NULL FROM pg_stat_activity WHERE application_name = :n"
    )
    victim.start()
    try:
        # Kill it once it has committed at least one batch and holds uncommitted writes of the
        # next: it has claimed that batch (FOR UPDATE) and begun acting on it. At least one more
        # batch is still to come after that one, so that it cannot finish before the signal.
        deadline = time.monotonic() + 60 + cases * 0.1
        while True:
            assert time.monotonic() < deadline, "the victim never got going"
            assert victim.is_alive(), "the victim finished before it could be killed"
            with factory() as db:
                committed = count_breaches(db)
                backend = db.execute(activity, {"n": name}).first()
            if batch <= committed <= cases - 2 * batch and backend is not None and backend[1]:
                break
            time.sleep(0.02)
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=10)
    finally:
        if victim.is_alive():
            victim.kill()
    assert victim.exitcode == -signal.SIGKILL

    # The server notices the dead client and rolls its transaction back, releasing the locks.
    deadline = time.monotonic() + 30
    while True:
        with factory() as db:
            if db.execute(activity, {"n": name}).first() is None:
                break
        assert time.monotonic() < deadline, "the killed worker's backend never went away"
        time.sleep(0.05)
    with factory() as db:
        committed = count_breaches(db)
        done = db.scalar(
            select(func.count())
            .select_from(Deadline)
            .where(Deadline.clock == "acknowledge", Deadline.steps_done == 3)
        )
    # Whole chunks only (a pass of ``batch`` commits every CHUNK deadlines): the one it was
    # killed in left nothing behind.
    assert 0 < committed < cases
    assert committed % batch % clock.CHUNK == 0, committed
    assert done == committed
    print(
        f"victim killed mid-batch with {committed} of {cases} breaches committed ({batch} a batch)"
    )

    # A normal worker picks up everything the victim had claimed but not finished.
    with factory() as db:
        passes = 0
        while True:
            result = clock.tick(db, now=pop.now, settings=clock_settings(batch))
            passes += 1
            if result.claimed == 0:
                break
            assert result.acted == result.claimed
        print(f"a normal worker finished the rest in {passes} passes")
        assert_exactly_once(db, pop)


@pytest.mark.postgres
@needs_postgres
def test_two_deadlines_of_one_case_due_together_climb_the_ladder_once_each(
    pg_engine: Engine,
) -> None:
    """Each case has both deadlines due at once; small batches spread them over the workers.
    The case is locked with its deadline, so no worker escalates from a stale level."""
    cases = 300
    pop = populate(pg_engine, cases)
    with pg_engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE deadlines AS f SET due_at = a.due_at + interval '0.5 second', "
            "next_action_at = a.due_at + interval '0.5 second', steps_done = 2 "
            "FROM deadlines AS a WHERE f.case_id = a.case_id "
            "AND f.clock = 'feedback' AND a.clock = 'acknowledge'"
        )
    url = pg_engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=run_worker, args=(url, pop.now, 5, f"candor-two-{n}", results))
        for n in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        stats = [results.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    assert not [error for *_, error in stats if error], stats
    assert sum(acted for _, _, _, acted, _ in stats) == 2 * cases, stats
    with make_session_factory(pg_engine, integrity_key=TEST_INTEGRITY_KEY)() as db:
        levels = set(db.scalars(select(Case.escalation_level)))
        assert levels == {3}
        details = db.execute(
            select(AuditEntry.case_id, AuditEntry.detail).where(AuditEntry.action == "escalated")
        ).all()
        per_case: dict[int, list[str]] = {}
        for case_id, detail in details:
            per_case.setdefault(case_id, []).append(detail.split(": ", 1)[1].split(" (")[0])
        assert all(sorted(steps) == ["level 1 -> 2", "level 2 -> 3"] for steps in per_case.values())
        assert len(per_case) == cases
        assert audit.verify(db).ok
