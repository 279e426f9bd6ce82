"""Clock worker benchmark: one pass with 1,000 deadlines due among 10,000, 100,000 and 1,000,000
open ones, on a migrated SQLite file and, when it answers at 127.0.0.1:5432, on PostgreSQL in a
schema of its own.

Each size gets three passes, the median its figure. A pass is one ``clock.tick`` (batch large
enough for all 1,000) on "acknowledge" deadlines of the EU Directive policy at their due step
(both warnings done, ``next_action_at`` = the due time, an hour before ``now``): each is a breach,
with its audit entries, outbox rows for handlers with addresses and a system message sealed to
the case key. The target: a pass costs O(due),
not O(open deadlines): under 1 s for 1,000 due, flat as the open deadlines grow.

Prints per database and size: the plan of the claim query (PostgreSQL: EXPLAIN ANALYZE, showing
the index on ``next_action_at``; SQLite: EXPLAIN QUERY PLAN), the pass's wall time, the statements
it ran, and the claim's own time (the query, its rows fetched and loaded); then a summary of how
each grows with the open deadlines. Asserts correctness only (what each pass did), never a speed
target. About 4-5 minutes on a 2-core machine, most of it inserting the 1,000,000 rows.
Run: .venv/bin/python bench/bench_clock.py
"""

from __future__ import annotations

import gc
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    BENCH_INTEGRITY_KEY,
    drop_postgres_schema,
    postgres_answers,
    postgres_schema_engine,
)
from sqlalchemy import Engine, event, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

import crypto  # noqa: E402
from portal import migrate  # noqa: E402
from portal.db import make_engine, make_session_factory  # noqa: E402
from portal.models import (  # noqa: E402
    AuditEntry,
    Case,
    CaseKeyGrant,
    CaseStatus,
    Deadline,
    DeadlineState,
    Message,
    OutboxMessage,
    Role,
)
from portal.services import accounts, batch, clock, contexts  # noqa: E402
from portal.services.calendar import BusinessCalendar  # noqa: E402
from portal.services.policies import load_policy  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
DUE = 1_000
# Passes per size; the median is the figure (one pass alone swings with a garbage collection).
PASSES = 3
INSERT_BATCH = 20_000
# The not-due deadlines hang off this many cases of their own (see grow()).
IDLE_CASES = 1_000
TARGET_MS = 1_000
POLICY = "eu-directive"
PASSWORD = "correct horse battery staple"  # noqa: S105  # throwaway bench accounts
# Far from a daylight-saving change: every acknowledgement falls due exactly 7 days on.
T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
CALENDAR = BusinessCalendar(timezone="Europe/Berlin", country="DE", subdivision="BY")


def settings() -> clock.ClockSettings:
    return clock.ClockSettings(
        calendar=CALENDAR,
        site_name="Bench Organisation",
        base_url="http://127.0.0.1",
        batch_size=10 * DUE,
    )


# --- statements, counted and timed --------------------------------------------------------------


@dataclass
class Tracer:
    """Counts the statements of a pass and keeps the claim query (the first SELECT on deadlines
    that filters on next_action_at) with its parameters. The claim's time runs from its start to
    the start of the next statement: the query, fetching its rows and building the objects."""

    on: bool = False
    statements: int = 0
    claim_sql: str = ""
    claim_params: Any = None
    claim_ms: float = 0.0
    _started: float = 0.0
    _in_claim: bool = False

    def reset(self) -> None:
        self.on, self.statements, self.claim_sql, self.claim_ms = True, 0, "", 0.0

    def before(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not self.on:
            return
        self.statements += 1
        if self._in_claim:
            self.claim_ms = (time.perf_counter() - self._started) * 1000
            self._in_claim = False
        if (
            not self.claim_sql
            and statement.lstrip().upper().startswith("SELECT")
            and "FROM deadlines" in statement
            and "next_action_at <=" in statement
        ):
            self.claim_sql, self.claim_params = statement, params
            self._in_claim = True
            self._started = time.perf_counter()


def traced(engine: Engine) -> Tracer:
    tracer = Tracer()
    event.listen(engine, "before_cursor_execute", tracer.before)
    if engine.dialect.name != "postgresql":
        return tracer
    # On PostgreSQL a chunk's new rows go in a COPY per table, on the driver's own cursor, which
    # SQLAlchemy's events do not see: each is counted here as one statement.
    copy = batch._copy

    def counted_copy(*args: Any) -> None:
        if tracer.on:
            tracer.statements += 1
        copy(*args)

    batch._copy = counted_copy
    return tracer


# --- the data -------------------------------------------------------------------------------


@dataclass
class Store:
    """What has been inserted so far into one database."""

    user_ids: list[int] = field(default_factory=list)
    handler_keys: list[bytes] = field(default_factory=list)
    idle_case_ids: list[int] = field(default_factory=list)
    next_case_id: int = 1
    deadlines: int = 0
    idle_rows: int = 0
    round: int = 0


def create_handlers(factory: sessionmaker[Session], store: Store) -> None:
    """Handlers at levels 1, 2 and 3 with addresses (weak Argon2 profile: set-up only)."""
    with factory() as db:
        for level in (1, 2, 3):
            user = accounts.create_user(
                db,
                username=f"handler{level}",
                display_name=f"Handler {level}",
                role=Role.HANDLER,
                password=PASSWORD,
                level=level,
                profile=crypto.TEST,
                now=T0,
            ).user
            user.email = f"handler{level}@example.org"
            db.commit()
            assert user.public_key is not None
            store.user_ids.append(user.id)
            store.handler_keys.append(user.public_key)


def case_row(case_id: int, uid: str, public_key: bytes, received: datetime) -> dict[str, Any]:
    """A case with the columns the clock reads; bulky sealed columns it never opens are dummies."""
    return {
        "id": case_id,
        "uid": uid,
        "receipt_lookup": secrets.token_bytes(32),
        "submission_lookup": secrets.token_bytes(32),
        "public_key": public_key,
        # The clock seals automatic messages to this key, after checking its tag as the app does.
        "public_key_tag": crypto.integrity_tag(
            BENCH_INTEGRITY_KEY, b"public-key", contexts.case_public_key(uid), public_key
        ),
        "reporter_wrapped_key": b"bench: never opened by the clock",
        "category": "fraud",
        "policies": [POLICY],
        "tier": 2,
        "status": CaseStatus.NEW,
        "confidential": False,
        "escalation_level": 1,
        "sealed_report": b"bench: never opened by the clock",
        "received_at": received,
    }


def insert_batches(db: Session, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            db.execute(insert(table), batch)
            batch = []
    if batch:
        db.execute(insert(table), batch)


def grow(engine: Engine, factory: sessionmaker[Session], store: Store, size: int) -> list[datetime]:
    """Add PASSES rounds of 1,000 cases whose acknowledgement falls due, then not-due deadlines
    until ``size`` deadlines are open; return the ``now`` of each pass, in the order to run them.

    The due cases are real enough for the breach: a key pair of their own (the system message is
    sealed to it) and the case key sealed to each handler. Each round lies two hours before the
    last, so a pass at one round's "now" finds that round alone due: later rounds' deadlines are
    still to come, and those already breached (by an earlier pass) escalate only days later.
    Breached deadlines stay open and count among the open ones.

    The not-due deadlines are never read by a pass (their ``next_action_at`` is still to come),
    so only their indexed columns matter. (case_id, policy, clock) is unique, so rather than a
    case for each, they hang off ``IDLE_CASES`` cases of their own with made-up clock names
    ("idle-<n>") that no policy has: a pass would fail on such a row if it ever claimed one.
    """
    start = time.perf_counter()
    ack = load_policy(POLICY).clock("acknowledge")
    cases: list[dict[str, Any]] = []
    grants: list[dict[str, Any]] = []
    due_rows: list[dict[str, Any]] = []
    nows: list[datetime] = []
    for _ in range(PASSES):
        store.round += 1
        received0 = T0 - timedelta(hours=2 * store.round)
        due_times = []
        for n in range(DUE):
            case_id = store.next_case_id
            store.next_case_id += 1
            uid = secrets.token_hex(16)
            keypair = crypto.generate_keypair()
            received = received0 + timedelta(seconds=n)
            due = clock.due_time(ack, received, CALENDAR)
            due_times.append(due)
            cases.append(
                case_row(case_id, uid, keypair.public_key, received) | {"next_due_at": due}
            )
            grants.extend(
                {
                    "case_id": case_id,
                    "user_id": user_id,
                    "sealed_case_key": crypto.seal(
                        public_key, keypair.private_key, contexts.case_key(uid, user_id)
                    ),
                    "granted_at": received,
                }
                for user_id, public_key in zip(store.user_ids, store.handler_keys, strict=True)
            )
            due_rows.append(
                {
                    "case_id": case_id,
                    "policy": POLICY,
                    "clock": ack.key,
                    "state": DeadlineState.RUNNING,
                    "started_at": received,
                    "due_at": due,
                    "level_reached": 1,
                    # Both warnings sent: the due time (the breach) is the next step.
                    "steps_done": len(ack.warn_before),
                    "paused_seconds": 0,
                    "extensions": 0,
                    "next_action_at": due,
                }
            )
        nows.append(max(due_times) + timedelta(hours=1))
    # The earliest round first: each pass then finds its own round due and nothing else.
    nows.reverse()
    now = nows[-1]  # the not-due deadlines fall after the last pass
    idle = size - store.deadlines - PASSES * DUE
    assert idle >= 0, (size, store.deadlines)

    def idle_rows() -> Iterator[dict[str, Any]]:
        for n in range(store.idle_rows, store.idle_rows + idle):
            # Spread over the next 90 days, as running deadlines are.
            later = now + timedelta(minutes=1 + (n * 7919) % (90 * 24 * 60))
            yield {
                "case_id": store.idle_case_ids[n % IDLE_CASES],
                "policy": POLICY,
                "clock": f"idle-{n}",
                "state": DeadlineState.RUNNING,
                "started_at": T0,
                "due_at": later,
                "level_reached": 1,
                "steps_done": 0,
                "paused_seconds": 0,
                "extensions": 0,
                "next_action_at": later,
            }

    with factory() as db:
        if not store.idle_case_ids:
            public_key = crypto.generate_keypair().public_key
            idle_cases = []
            for _ in range(IDLE_CASES):
                store.idle_case_ids.append(store.next_case_id)
                idle_cases.append(
                    case_row(store.next_case_id, secrets.token_hex(16), public_key, T0)
                )
                store.next_case_id += 1
            db.execute(insert(Case), idle_cases)
        db.execute(insert(Case), cases)
        db.execute(insert(CaseKeyGrant), grants)
        db.execute(insert(Deadline), due_rows)
        insert_batches(db, Deadline, idle_rows())
        db.commit()
    store.idle_rows += idle
    store.deadlines += PASSES * DUE + idle
    with engine.begin() as conn:
        # What autovacuum (or a periodic ANALYZE) would soon do after a load this size.
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"),
                {"n": store.next_case_id - 1},
            )
            # This schema's tables only: a bare ANALYZE would visit every schema.
            conn.execute(text("ANALYZE cases, case_key_grants, deadlines"))
        else:
            conn.execute(text("ANALYZE"))
    with factory() as db:
        open_count = db.scalar(
            select(func.count()).select_from(Deadline).where(Deadline.stopped_at.is_(None))
        )
        due_first, due_last = (
            db.scalar(
                select(func.count()).select_from(Deadline).where(Deadline.next_action_at <= at)
            )
            for at in (nows[0], nows[-1])
        )
    assert (open_count, due_first, due_last) == (size, DUE, PASSES * DUE), (
        open_count,
        due_first,
        due_last,
    )
    print(
        f"  set-up ({engine.dialect.name}): {size:,} open deadlines, {PASSES} passes of {DUE:,} "
        f"due (+{PASSES * DUE + idle:,} rows in {time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    return nows


# --- one pass -------------------------------------------------------------------------------


def counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as db:
        breached = db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "deadline_breached")
        )
        outbox = db.scalar(select(func.count()).select_from(OutboxMessage))
        messages = db.scalar(select(func.count()).select_from(Message))
    return breached or 0, outbox or 0, messages or 0


def claim_plan(engine: Engine, tracer: Tracer, now: datetime) -> list[str]:
    """The plan of the claim query as a pass runs it, at ``now``.

    PostgreSQL: EXPLAIN ANALYZE of the very statement the warm-up pass sent, its time parameter
    moved to ``now``, in a transaction rolled back at once (it takes, then drops, the row locks).
    SQLite: EXPLAIN QUERY PLAN of it (the plan does not depend on the parameter's value).
    """
    sql, params = tracer.claim_sql, tracer.claim_params
    assert sql, "the warm-up pass sent no claim query"
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            params = {k: now if isinstance(v, datetime) else v for k, v in params.items()}
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).all()
            plan = [row[0] for row in rows]
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            plan = [row[-1] for row in rows]
        conn.rollback()
    return plan


def one_pass(
    label: str,
    engine: Engine,
    factory: sessionmaker[Session],
    tracer: Tracer,
    now: datetime,
    *,
    show_plan: bool,
) -> float:
    before = counts(factory)
    # Warm-up: a pass before anything is due (connection, caches, the policy) claims nothing;
    # it also hands over the claim query for the plan.
    tracer.reset()
    with factory() as db:
        assert clock.tick(db, now=T0, settings=settings()).claimed == 0
    tracer.on = False
    if show_plan:
        plan = claim_plan(engine, tracer, now)
        print(f"  claim query plan ({label}):", flush=True)
        for line in plan:
            print(f"    {line}", flush=True)
        if not any("ix_deadlines_next_action_at" in line for line in plan):
            print("    NOTE: the index on next_action_at is not in this plan", flush=True)
    tracer.reset()
    # As `candor clock run` does at start: what is alive by now is frozen out of the full
    # collections a pass would otherwise pay for (here that includes the set-up's leftovers).
    gc.collect()
    gc.freeze()
    with factory() as db:
        start = time.perf_counter()
        result = clock.tick(db, now=now, settings=settings())
        elapsed = (time.perf_counter() - start) * 1000
    gc.unfreeze()
    tracer.on = False
    assert result == clock.TickResult(claimed=DUE, acted=DUE), result
    after = counts(factory)
    # Each breach: one audit entry of its kind, two outbox rows (the level-1 handler, overdue;
    # the level-2 one, escalated to them), one system message to the reporter.
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (
        DUE,
        2 * DUE,
        DUE,
    ), (before, after)
    with factory() as db:
        assert clock.tick(db, now=now, settings=settings()).claimed == 0
    print(
        f"clock pass ({label}): {elapsed:,.0f} ms for {DUE:,} due "
        f"({elapsed / DUE:.2f} ms each, {tracer.statements:,} statements, "
        f"{tracer.statements / DUE:.1f} per deadline); claim {tracer.claim_ms:.1f} ms "
        f"(target: pass < {TARGET_MS} ms)",
        flush=True,
    )
    return elapsed


def bench(
    name: str, engine: Engine, factory: sessionmaker[Session], tracer: Tracer
) -> dict[int, tuple[float, float]]:
    store = Store()
    create_handlers(factory, store)
    results = {}
    for size in SIZES:
        passes, claims = [], []
        for n, now in enumerate(grow(engine, factory, store, size), start=1):
            label = f"{name}, {size:,} open, pass {n}"
            passes.append(one_pass(label, engine, factory, tracer, now, show_plan=n == 1))
            claims.append(tracer.claim_ms)
        results[size] = (statistics.median(passes), statistics.median(claims))
        print(
            f"clock pass ({name}, {size:,} open): median {results[size][0]:,.0f} ms of "
            f"{', '.join(f'{ms:,.0f}' for ms in passes)} (target: < {TARGET_MS} ms)",
            flush=True,
        )
    return results


def summary(name: str, results: dict[int, tuple[float, float]]) -> None:
    passes = [ms for ms, _ in results.values()]
    claims = [ms for _, ms in results.values()]
    small, large = results[SIZES[0]], results[SIZES[-1]]
    print(
        f"clock {name}: median pass "
        + ", ".join(f"{size:,} open {ms:,.0f} ms" for size, (ms, _) in results.items())
        + f"; {SIZES[-1] // SIZES[0]:,}x the open deadlines -> pass x{large[0] / small[0]:.2f}, "
        f"claim (query and loading the rows) x{large[1] / max(small[1], 0.001):.2f} "
        f"({min(claims):.1f}-{max(claims):.1f} ms); "
        + (
            f"under the {TARGET_MS} ms target at every size"
            if max(passes) < TARGET_MS
            else f"over the {TARGET_MS} ms target at {sum(ms >= TARGET_MS for ms in passes)} "
            f"of {len(passes)} sizes"
        ),
        flush=True,
    )


def main() -> None:
    started = time.perf_counter()
    all_results = {}
    tmp = Path(tempfile.mkdtemp(prefix="candor-bench-clock-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'candor.sqlite3'}")
        migrate.upgrade(engine)
        tracer = traced(engine)
        all_results["SQLite"] = bench(
            "SQLite",
            engine,
            make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY),
            tracer,
        )
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if postgres_answers():
        schema = f"candor_bench_{secrets.token_hex(4)}"
        try:
            engine = postgres_schema_engine(schema)
            migrate.upgrade(engine)
            tracer = traced(engine)
            all_results["PostgreSQL"] = bench(
                "PostgreSQL",
                engine,
                make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY),
                tracer,
            )
            engine.dispose()
        finally:
            drop_postgres_schema(schema)
    for name, results in all_results.items():
        summary(name, results)
    print(f"bench_clock total {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
