"""Statistics benchmark: the statistics page over 100,000 cases (target: p95 under 500 ms).

On a migrated SQLite file and, when it answers at 127.0.0.1:5432, on PostgreSQL in a schema of
its own: server time of computing the figures (``statistics.compute_now``, nothing kept) for the
default period (the last 12 months), for a whole year and for two years; then a whole GET
/staff/statistics through Flask's test client, signed in as a handler (the SVG charts and their
tables): first with nothing kept (each request computes, as after every change to the data), then
as it is viewed again with nothing changed (the figures kept, read after three index reads).

The data: three handlers (as bench_inbox.py makes them), 100,000 cases received over the last
730 days with category, tier and status drawn from a fixed seed, and what the figures read:
about 3.3 typed events a case (receipt; acknowledgement for 90%, feedback for 60%, reporter
messages, "satisfied", appeals with secretary answers and committee decisions) and two
deadlines a case (met, breached or running). Nothing is sealed: the statistics open nothing, so
the sealed columns hold random bytes. PostgreSQL gets a VACUUM ANALYZE, as autovacuum would soon
run; SQLite none, as the app never runs one. Each figure is 30 runs after a warm-up, or fewer
(at least 5) when they take more than 8 s.

Prints figures; asserts correctness only (the totals against the plan), never a speed target.
About 2-3 minutes on 2 cores. Run: .venv/bin/python bench/bench_statistics.py
``--quick`` (run by tests/bench/test_bench_statistics.py): 2,000 cases, SQLite only, 3 runs each.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    BENCH_INTEGRITY_KEY,
    app_config,
    drop_postgres_schema,
    percentile,
    postgres_answers,
    postgres_schema_engine,
)
from sqlalchemy import Engine, Table, insert, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from portal import create_app, migrate  # noqa: E402
from portal.config import config_from_mapping  # noqa: E402
from portal.db import make_engine, make_session_factory  # noqa: E402
from portal.models import Case, CaseEvent, CaseStatus, Deadline, EventKind, User  # noqa: E402
from portal.models.clock import DeadlineState  # noqa: E402
from portal.models.committee import CommitteeDecision  # noqa: E402
from portal.services import accounts, staff_auth, statistics  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

QUICK = "--quick" in sys.argv
CASES = 2_000 if QUICK else 100_000
BATCH = 5_000
RUNS = 3 if QUICK else 30
TIME_BOX_S = 8.0
MIN_RUNS = 3 if QUICK else 5
TARGET_MS = 500
NOW = utcnow().replace(microsecond=0)
ZONE = ZoneInfo("Europe/Berlin")  # config.example.toml's site.timezone, which the app uses
SEED = 20261130
STATUSES = (
    (CaseStatus.NEW, 10),
    (CaseStatus.ACKNOWLEDGED, 20),
    (CaseStatus.INVESTIGATING, 30),
    (CaseStatus.RESOLVED, 15),
    (CaseStatus.CLOSED, 25),
)
CATEGORIES = ("fraud", "safety", "data_protection", "workplace")


# CPU time of this process beside each wall-clock time: on SQLite the database works inside the
# process, so on a machine shared with other work (load average above the core count) the CPU
# time is what the same run costs on an idle one. On PostgreSQL the server's work is not in it.
CPU_MS: list[float] = []


def timed_ms(action: Callable[[], object]) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    action()
    CPU_MS.append((time.process_time() - cpu) * 1000)
    return (time.perf_counter() - start) * 1000


def repeat_ms(action: Callable[[], object]) -> list[float]:
    times: list[float] = []
    CPU_MS.clear()
    deadline = time.perf_counter() + TIME_BOX_S
    while len(times) < RUNS and (len(times) < MIN_RUNS or time.perf_counter() < deadline):
        times.append(timed_ms(action))
    return times


def summary(values: list[float], label: str = "") -> str:
    p95 = percentile(values, 0.95)
    boxed = "" if len(values) == RUNS else f", time-boxed at {TIME_BOX_S:.0f} s"
    cpu = ""
    if label == "SQLite":
        cpu_p95 = percentile(CPU_MS, 0.95)
        cpu = (
            f"; process CPU p50 {percentile(CPU_MS, 0.5):.1f} ms, p95 {cpu_p95:.1f} ms "
            f"(/ target = {cpu_p95 / TARGET_MS:.2f})"
        )
    return (
        f"p50 {percentile(values, 0.5):.1f} ms, p95 {p95:.1f} ms "
        f"(p95 / {TARGET_MS} ms target = {p95 / TARGET_MS:.2f}; n={len(values)}{boxed}){cpu}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )


@dataclass
class Plan:
    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    came_back: set[int] = field(default_factory=set)


def build_plan() -> Plan:
    rng = random.Random(SEED)  # noqa: S311  # layout of test data, not secrets
    plan = Plan()
    start = NOW - timedelta(days=730)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    for index in range(CASES):
        case_id = index + 1
        received = start + timedelta(seconds=index * 730 * 86400 // CASES)
        plan.cases.append(
            {
                "id": case_id,
                "uid": secrets.token_hex(16),
                "receipt_lookup": secrets.token_bytes(32),
                "submission_lookup": secrets.token_bytes(32),
                "public_key": secrets.token_bytes(32),
                "reporter_wrapped_key": b"-",
                "sealed_report": b"-",
                "category": rng.choice(CATEGORIES),
                "tier": rng.choice((1, 2, 2, 3, 3, 3)),
                "status": rng.choices(statuses, weights)[0],
                "confidential": False,
                "received_at": received,
            }
        )

        def add(
            kind: EventKind,
            after_days: float,
            case_id: int = case_id,
            received: datetime = received,
        ) -> None:
            plan.events.append(
                {
                    "case_id": case_id,
                    "kind": kind,
                    "occurred_at": received + timedelta(days=after_days),
                }
            )

        add(EventKind.RECEIVED, 0)
        if rng.random() < 0.9:
            add(EventKind.ACKNOWLEDGED, rng.uniform(0.1, 10))
        if rng.random() < 0.6:
            add(EventKind.FEEDBACK_SENT, rng.uniform(20, 100))
        if rng.random() < 0.3:
            add(EventKind.REPORTER_MESSAGE, rng.uniform(1, 60))
            plan.came_back.add(case_id)
        if rng.random() < 0.05:
            add(EventKind.REPORTER_SATISFIED, rng.uniform(30, 120))
            plan.came_back.add(case_id)
        if rng.random() < 0.02:
            add(EventKind.APPEAL_FILED, rng.uniform(30, 120))
            plan.came_back.add(case_id)
            if rng.random() < 0.5:
                plan.decisions.append(
                    {
                        "case_id": case_id,
                        "outcome": rng.choice(("uphold", "dismiss")),
                        "upheld": 2,
                        "dismissed": 1,
                        "members": 3,
                        "decided_at": received + timedelta(days=150),
                    }
                )
            elif rng.random() < 0.5:
                add(EventKind.SECRETARY_ANSWERED, 125)
        for clock, days in (("acknowledge", 7), ("feedback", 97)):
            state = rng.choice(
                (
                    DeadlineState.MET,
                    DeadlineState.MET,
                    DeadlineState.BREACHED,
                    DeadlineState.RUNNING,
                )
            )
            plan.deadlines.append(
                {
                    "case_id": case_id,
                    "policy": "eu-directive",
                    "clock": clock,
                    "state": state,
                    "started_at": received,
                    "due_at": received + timedelta(days=days),
                    "stopped_at": None
                    if state is DeadlineState.RUNNING
                    else received + timedelta(days=1),
                    "paused_at": None,
                    "paused_seconds": 0,
                    "extensions": 0,
                    "level_reached": 1,
                    "steps_done": 0,
                    "next_action_at": None,
                }
            )
    return plan


def load(factory: sessionmaker[Session], plan: Plan) -> None:
    """Core inserts, one executemany per batch (see bench_inbox.load_cases)."""
    with factory() as db:
        for model, rows in (
            (Case, plan.cases),
            (CaseEvent, plan.events),
            (Deadline, plan.deadlines),
            (CommitteeDecision, plan.decisions),
        ):
            for i in range(0, len(rows), BATCH):
                db.execute(insert(cast(Table, model.__table__)), rows[i : i + BATCH])
        db.commit()


def make_handler(factory: sessionmaker[Session]) -> tuple[int, bytes]:
    import crypto

    with factory() as db:
        account = accounts.create_user(
            db,
            username="alice",
            display_name="Alice",
            role=accounts.Role.HANDLER,
            password="correct horse battery staple",  # noqa: S106  # throwaway bench account
            level=1,
            profile=crypto.TEST,
            now=NOW,
        )
        user = account.user
        assert user.password_wrapped_key is not None
        key = crypto.unwrap_with_secret(
            user.password_wrapped_key,
            "correct horse battery staple",
            accounts.private_key_context("alice"),
        )
        return user.id, key


def build_database(engine: Engine, plan: Plan) -> sessionmaker[Session]:
    migrate.upgrade(engine)
    factory = make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY)
    start = time.perf_counter()
    load(factory, plan)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": CASES}
            )
            conn.execute(text("VACUUM ANALYZE"))
    print(
        f"  set-up ({engine.dialect.name}): {len(plan.cases):,} cases, {len(plan.events):,} "
        f"events, {len(plan.deadlines):,} deadlines, {len(plan.decisions):,} committee "
        f"decisions in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return factory


def expected(plan: Plan, period: statistics.Period) -> tuple[int, int]:
    """(reports, reporters who came back) in the period, counted from the plan."""
    ids = [c["id"] for c in plan.cases if period.start <= c["received_at"] < period.end]
    return len(ids), sum(1 for i in ids if i in plan.came_back)


def bench_service(label: str, factory: sessionmaker[Session], plan: Plan) -> float:
    periods = [
        ("the last 12 months (default)", statistics.default_period(NOW, ZONE)),
        ("last calendar year", statistics.year_period(NOW.astimezone(ZONE).year - 1, ZONE)),
        (
            "two years",
            statistics.make_period(
                (NOW - timedelta(days=729)).astimezone(ZONE).date(),
                NOW.astimezone(ZONE).date(),
                ZONE,
            ),
        ),
    ]
    worst = 0.0
    for name, period in periods:

        def run(period: statistics.Period = period) -> statistics.Statistics:
            with factory() as db:
                return statistics.compute_now(db, period, now=NOW)

        stats = run()
        total, came_back = expected(plan, period)
        assert (stats.total, stats.came_back) == (total, came_back), (name, stats.total, total)
        times = repeat_ms(run)
        worst = max(worst, percentile(times, 0.95))
        print(
            f"statistics.compute_now ({label}, {CASES:,} cases) {name} [{total:,} reports]: "
            f"{summary(times, label)}",
            flush=True,
        )
    return worst


def bench_http(label: str, tmp: Path, factory: sessionmaker[Session], plan: Plan) -> float:
    app = create_app(
        config_from_mapping(
            app_config(tmp, f"sqlite:///{tmp / 'unused.sqlite3'}", argon2_profile="test")
        )
    )
    app.extensions["candor.sessionmaker"] = factory
    user_id, private_key = make_handler(factory)
    with factory() as db:
        login = staff_auth._open_session(db, db.get_one(User, user_id), private_key, utcnow(), None)
        db.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["staff"] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}
    total, _ = expected(plan, statistics.default_period(NOW, ZONE))

    def get() -> str:
        response = client.get("/staff/statistics")
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (response.status_code, body[:500])
        return body

    def get_computed() -> str:
        statistics.forget_cached()  # as after a change to the data: the figures are computed
        return get()

    body = get()
    assert f"{total} reports received in the period." in body and body.count("<svg") == 8
    worst = 0.0
    for how, action in (("figures computed", get_computed), ("figures kept", get)):
        times = repeat_ms(action)
        worst = max(worst, percentile(times, 0.95))
        print(
            f"statistics HTTP GET /staff/statistics ({label}, {CASES:,} cases, signed in, "
            f"test client, {how}): {summary(times, label)}",
            flush=True,
        )
    app.extensions["candor.engine"].dispose()
    return worst


def main() -> None:
    started = time.perf_counter()
    plan = build_plan()
    tmp = Path(tempfile.mkdtemp(prefix="candor-bench-statistics-"))
    results: dict[str, tuple[float, float]] = {}
    try:
        engine = make_engine(f"sqlite:///{tmp / 'candor.sqlite3'}")
        factory = build_database(engine, plan)
        results["SQLite"] = (
            bench_service("SQLite", factory, plan),
            bench_http("SQLite", tmp, factory, plan),
        )
        engine.dispose()
        if not QUICK and postgres_answers():
            schema = f"candor_bench_stats_{secrets.token_hex(4)}"
            pg_engine: Engine | None = None
            try:
                pg_engine = postgres_schema_engine(schema)
                pg_factory = build_database(pg_engine, plan)
                results["PostgreSQL"] = (
                    bench_service("PostgreSQL", pg_factory, plan),
                    bench_http("PostgreSQL", tmp, pg_factory, plan),
                )
            finally:
                if pg_engine is not None:
                    pg_engine.dispose()
                drop_postgres_schema(schema)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for label, (service, http) in results.items():
        print(
            f"statistics {label}: worst service p95 {service:.1f} ms, page p95 {http:.1f} ms "
            f"({'under' if max(service, http) < TARGET_MS else 'over'} the {TARGET_MS} ms target)",
            flush=True,
        )
    print(
        f"bench_statistics total {time.perf_counter() - started:.0f} s "
        f"(load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
