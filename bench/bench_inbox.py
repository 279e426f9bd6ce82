"""Handler benchmarks: inbox pages over 100,000 cases, and sign-in against the Argon2 cost.

1. One inbox page (50 rows) for a handler holding keys to 100,000 cases, on a migrated SQLite
   file and, when it answers at 127.0.0.1:5432, on PostgreSQL in a schema of its own: server time
   of ``inbox.list_cases`` for the default page, each sort in both directions, each filter
   (status=new, overdue, mine, tier 1 & safety, unread only), deep pages (the cursor after 50
   pages, in the default order and in another) and the search by case reference (exact and a
   three-digit prefix), then a whole GET /staff/inbox through Flask's test client on SQLite (the
   target: p95 under 50 ms server time on both databases; each line gives p95 / target).
2. Staff sign-in with the production Argon2 profile, for a real account and for an unknown
   username, beside one production Argon2id derivation alone.

The data: three handlers (accounts.create_user; A holds a key to every case, B to every other
one, C to none and is excluded from 2%), 100,000 cases inserted in bulk with their own key pair,
a real sealed preview and real sealed case keys (sealed in 2 worker processes, bound to each
case's uid as the app binds them), random sealed reports of 500-3,000 bytes, and status, tier,
category, escalation level, assignee and next_due_at (within 60 days either side of now; none on
closed and half the resolved cases) drawn from a fixed seed. Handler A opened two cases in three
a day after they arrived; the reporter wrote again two days after filing on one case in ten, so
that "unread only" has a realistic mix. PostgreSQL gets the same rows (its handlers are copied
from the SQLite file, so the same seals open) and a VACUUM ANALYZE, as autovacuum would soon
run; SQLite gets no ANALYZE, since the app never runs one. Each figure is 30 runs after a
warm-up, or fewer (at least 5) when they take more than 8 s.

Prints figures; asserts correctness only (totals, page sizes, order, previews that open), never a
speed target. About 5-6 minutes on 2 cores. Run: .venv/bin/python bench/bench_inbox.py

``--quick`` runs the same code on 2,000 cases, SQLite only, a few runs each and no sign-in part
(seconds): the test suite runs it so that the bench keeps working as the inbox changes.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from base64 import b64encode
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyotp  # noqa: E402
from _common import (  # noqa: E402
    BENCH_INTEGRITY_KEY,
    ArgonTimer,
    app_config,
    argon2_production_ms,
    drop_postgres_schema,
    percentile,
    postgres_answers,
    postgres_schema_engine,
)
from sqlalchemy import Engine, Table, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

import crypto  # noqa: E402
from portal import create_app, migrate  # noqa: E402
from portal.config import config_from_mapping  # noqa: E402
from portal.db import make_engine, make_session_factory  # noqa: E402
from portal.models import (  # noqa: E402
    Case,
    CaseExclusion,
    CaseKeyGrant,
    CaseStatus,
    CaseView,
    Role,
    User,
)
from portal.services import accounts, contexts, inbox, staff_auth  # noqa: E402
from portal.timeutil import utcnow  # noqa: E402

CASES = 100_000
BATCH = 5_000
SEAL_WORKERS = 2
RUNS = 30
# Each measurement stops early after this many seconds (never before MIN_RUNS), so that a slow
# case (several seconds a page) cannot push the whole run past a few minutes.
TIME_BOX_S = 8.0
MIN_RUNS = 5
SIGN_INS = 20
ARGON2_RUNS = 10
TARGET_MS = 50
PASSWORD = "correct horse battery staple"  # noqa: S105  # throwaway bench accounts
HANDLERS = ("alice", "bob", "carol")  # A: every case, B: half of them, C: none
NOW = utcnow().replace(microsecond=0)
SEED = 20261123

STATUSES = (
    (CaseStatus.NEW, 10),
    (CaseStatus.ACKNOWLEDGED, 20),
    (CaseStatus.INVESTIGATING, 30),
    (CaseStatus.RESOLVED, 15),
    (CaseStatus.CLOSED, 25),
)
SENTENCES = (
    "Invoices from the same supplier were approved twice by the regional manager.",
    "A fire exit on the third floor of the warehouse has been blocked for weeks.",
    "Cash from the canteen till is counted by one person and never checked.",
    "Safety training records were signed for people who did not attend.",
    "A contract went to a company owned by the purchasing lead's brother.",
    "Forklift drivers work double shifts without the required breaks.",
    "Expense claims for trips that never happened were paid last quarter.",
    "The chemical store is left unlocked and its log book is out of date.",
)


def p50_p95(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.50):.1f} ms, p95 {percentile(values, 0.95):.1f} ms"


def timed_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def repeat_ms(action: Callable[[], object]) -> list[float]:
    """RUNS timings of ``action``, or fewer (at least MIN_RUNS) once TIME_BOX_S has passed."""
    times: list[float] = []
    deadline = time.perf_counter() + TIME_BOX_S
    while len(times) < RUNS and (len(times) < MIN_RUNS or time.perf_counter() < deadline):
        times.append(timed_ms(action))
    return times


def runs_note(values: list[float]) -> str:
    if len(values) == RUNS:
        return f"n={len(values)}"
    return f"n={len(values)}, time-boxed at {TIME_BOX_S:.0f} s"


# --- the data, built once for both databases ----------------------------------------------------


@dataclass(frozen=True)
class Handler:
    username: str
    private_key: bytes
    totp_secret: str
    user: User


@dataclass
class Plan:
    """Every case's columns (short ones) and real seals; bulky random columns come at insert."""

    handlers: list[Handler]
    users: list[dict[str, Any]]  # the users table's rows, copied as they are to PostgreSQL
    cases: list[dict[str, Any]] = field(default_factory=list)
    grants: list[dict[str, Any]] = field(default_factory=list)
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    report_sizes: list[int] = field(default_factory=list)
    wrapped_key_size: int = 0


def create_handlers(factory: sessionmaker[Session]) -> tuple[list[Handler], list[dict[str, Any]]]:
    """Three handlers through the accounts service (weak Argon2 profile: set-up only)."""
    handlers = []
    with factory() as db:
        for level, username in enumerate(HANDLERS, start=1):
            account = accounts.create_user(
                db,
                username=username,
                display_name=username.title(),
                role=Role.HANDLER,
                password=PASSWORD,
                level=level,
                profile=crypto.TEST,
                now=NOW,
            )
            user = account.user
            assert user.password_wrapped_key is not None
            private_key = crypto.unwrap_with_secret(
                user.password_wrapped_key, PASSWORD, accounts.private_key_context(username)
            )
            handlers.append(Handler(username, private_key, account.totp_secret, user))
        columns = [c.key for c in User.__table__.columns]
        users = [{k: getattr(h.user, k) for k in columns} for h in handlers]
    return handlers, users


def _seal_chunk(
    chunk: list[tuple[str, str, bool]], recipients: list[tuple[int, bytes]]
) -> list[tuple[bytes, bytes, list[bytes]]]:
    """Per case (uid, preview, granted to the second handler): its own key pair, the preview
    sealed to it, and the case private key sealed to each receiving handler (worker process)."""
    (first_id, first_pub), (second_id, second_pub) = recipients
    sealed = []
    for uid, preview, to_second in chunk:
        keypair = crypto.generate_keypair()
        grants = [crypto.seal(first_pub, keypair.private_key, contexts.case_key(uid, first_id))]
        if to_second:
            grants.append(
                crypto.seal(second_pub, keypair.private_key, contexts.case_key(uid, second_id))
            )
        preview_blob = crypto.seal(keypair.public_key, preview.encode(), contexts.preview(uid))
        sealed.append((keypair.public_key, preview_blob, grants))
    return sealed


def _tag(label: bytes, binding: bytes, value: bytes) -> bytes:
    """The integrity tag the app writes beside a value (see portal.services.integrity)."""
    return crypto.integrity_tag(BENCH_INTEGRITY_KEY, label, binding, value)


def build_plan(handlers: list[Handler], users: list[dict[str, Any]]) -> Plan:
    rng = random.Random(SEED)  # noqa: S311  # layout of test data, not secrets
    plan = Plan(handlers, users)
    a, b, c = (h.user.id for h in handlers)
    start = NOW - timedelta(days=730)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    to_seal: list[tuple[str, str, bool]] = []
    for index in range(CASES):
        uid = secrets.token_hex(16)
        status = rng.choices(statuses, weights)[0]
        category = "safety" if rng.random() < 0.4 else "fraud"
        if status is CaseStatus.CLOSED or (status is CaseStatus.RESOLVED and rng.random() < 0.5):
            next_due_at = None
        else:
            next_due_at = NOW + timedelta(seconds=rng.randint(-60 * 86400, 60 * 86400))
        confidential = rng.random() < 0.2
        plan.cases.append(
            {
                "id": index + 1,
                "uid": uid,
                "receipt_lookup": secrets.token_bytes(32),
                "submission_lookup": secrets.token_bytes(32),
                "category": category,
                "policy": "eu-directive",
                "tier": rng.choice((1, 2, 2, 3, 3, 3)),
                "status": status,
                "confidential": confidential,
                "escalation_level": rng.choice((1, 1, 1, 1, 2, 2, 3)),
                # Ids follow arrival, as they do when reports come in one by one.
                "received_at": start + timedelta(seconds=index * 730 * 86400 // CASES),
                "assignee_id": rng.choice((None, None, a, a, b, c)),
                "next_due_at": next_due_at,
            }
        )
        received = plan.cases[-1]["received_at"]
        wrote_again = index % 10 == 0
        plan.cases[-1]["last_reporter_at"] = received + timedelta(days=2 if wrote_again else 0)
        if index % 3 != 0:
            plan.views.append(
                {"user_id": a, "case_id": index + 1, "last_opened_at": received + timedelta(days=1)}
            )
        plan.report_sizes.append(rng.randint(500, 3000))
        preview = " ".join(rng.sample(SENTENCES, 2))
        to_seal.append((uid, preview[: rng.randint(60, 140)], index % 2 == 0))
        if index % 50 == 7:
            plan.exclusions.append({"case_id": index + 1, "user_id": c})

    recipients = [(a, handlers[0].user.public_key), (b, handlers[1].user.public_key)]
    assert all(pub is not None for _, pub in recipients)
    chunks = [to_seal[i : i + BATCH] for i in range(0, CASES, BATCH)]
    with ProcessPoolExecutor(SEAL_WORKERS, mp_context=get_context("spawn")) as pool:
        results = pool.map(_seal_chunk, chunks, [recipients] * len(chunks))
        sealed = [row for chunk in results for row in chunk]
    for case, (public_key, preview_blob, grants) in zip(plan.cases, sealed, strict=True):
        uid = case["uid"]
        case["public_key"] = public_key
        case["public_key_tag"] = _tag(b"public-key", contexts.case_public_key(uid), public_key)
        case["sealed_preview"] = preview_blob
        case["sealed_preview_tag"] = _tag(b"sealed", contexts.preview(uid), preview_blob)
        for user_id, blob in zip((a, b), grants, strict=False):
            plan.grants.append(
                {
                    "case_id": case["id"],
                    "user_id": user_id,
                    "sealed_case_key": blob,
                    "tag": _tag(b"sealed", contexts.case_key(uid, user_id), blob),
                }
            )
    example, _ = crypto.wrap_with_secret(secrets.token_bytes(32), "x" * 20, b"ad", crypto.TEST)
    plan.wrapped_key_size = len(example)
    return plan


def load_cases(factory: sessionmaker[Session], plan: Plan) -> None:
    """Bulk-insert the planned rows in batches; bulky sealed columns are random bytes here.

    Core inserts (one executemany per batch): the ORM's bulk path splits a batch into many small
    statements wherever rows differ in which columns are None, which is several times slower.
    """
    with factory() as db:
        for i in range(0, CASES, BATCH):
            rows = []
            for case, size in zip(
                plan.cases[i : i + BATCH], plan.report_sizes[i : i + BATCH], strict=True
            ):
                rows.append(
                    case
                    | {
                        "reporter_wrapped_key": os.urandom(plan.wrapped_key_size),
                        "sealed_report": os.urandom(size),
                        "sealed_identity": os.urandom(180) if case["confidential"] else None,
                    }
                )
            db.execute(insert(cast(Table, Case.__table__)), rows)
        for i in range(0, len(plan.grants), BATCH):
            db.execute(
                insert(cast(Table, CaseKeyGrant.__table__)),
                [g | {"granted_at": NOW} for g in plan.grants[i : i + BATCH]],
            )
        db.execute(insert(cast(Table, CaseExclusion.__table__)), plan.exclusions)
        for i in range(0, len(plan.views), BATCH):
            db.execute(insert(cast(Table, CaseView.__table__)), plan.views[i : i + BATCH])
        db.commit()


# --- 1. the inbox -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    filters: inbox.InboxFilters = field(default_factory=inbox.InboxFilters)
    sort: str = inbox.DEFAULT_SORT
    direction: str = "asc"
    # Pages followed by cursor (untimed) before the timed page: a deep page.
    depth: int = 0


DEEP_PAGES = 50


def scenarios(plan: Plan) -> list[Scenario]:
    # A reference that exists (a case handler A holds) and its first three digits.
    target = plan.cases[len(plan.cases) // 3]["uid"]
    return [
        Scenario("default page (next due)"),
        *(
            Scenario(f"sort={sort} {direction}", sort=sort, direction=direction)
            for sort in inbox.SORTS
            for direction in inbox.DIRECTIONS
            if (sort, direction) != (inbox.DEFAULT_SORT, "asc")
        ),
        Scenario("status=new", inbox.InboxFilters(status=CaseStatus.NEW)),
        Scenario("overdue", inbox.InboxFilters(overdue=True)),
        Scenario("mine", inbox.InboxFilters(mine=True)),
        Scenario("tier=1 & category=safety", inbox.InboxFilters(tier=1, category="safety")),
        Scenario("unread only", inbox.InboxFilters(unread=True)),
        Scenario("unread only, sort=tier asc", inbox.InboxFilters(unread=True), sort="tier"),
        Scenario(f"deep page (cursor after {DEEP_PAGES} pages)", depth=DEEP_PAGES),
        Scenario(
            f"deep page, sort=category desc (cursor after {DEEP_PAGES} pages)",
            sort="category",
            direction="desc",
            depth=DEEP_PAGES,
        ),
        Scenario(
            "search: exact reference",
            inbox.InboxFilters(reference=f"C-{target[:8].upper()}"),
        ),
        Scenario("search: reference prefix (3 digits)", inbox.InboxFilters(reference=target[:3])),
    ]


def _matches(c: dict[str, Any], filters: inbox.InboxFilters, handler_id: int, plan: Plan) -> bool:
    prefixes = inbox.reference_prefixes(filters.reference) if filters.reference else []
    return (
        (filters.status is None or c["status"] is filters.status)
        and (filters.tier is None or c["tier"] == filters.tier)
        and (not filters.category or c["category"] == filters.category)
        and (not filters.overdue or (c["next_due_at"] is not None and c["next_due_at"] < NOW))
        and (
            not filters.due_soon
            or (c["next_due_at"] is not None and NOW <= c["next_due_at"] < NOW + inbox.DUE_SOON)
        )
        and (not filters.mine or c["assignee_id"] == handler_id)
        and (filters.level is None or c["escalation_level"] == filters.level)
        and (not filters.unread or c["id"] in _unread_ids(plan, handler_id))
        and (not filters.reference or any(c["uid"].startswith(p) for p in prefixes))
    )


_UNREAD: dict[tuple[int, int], set[int]] = {}


def _unread_ids(plan: Plan, handler_id: int) -> set[int]:
    key = (id(plan), handler_id)
    if key not in _UNREAD:
        opened = {
            v["case_id"]: v["last_opened_at"] for v in plan.views if v["user_id"] == handler_id
        }
        _UNREAD[key] = {
            c["id"]
            for c in plan.cases
            if c["id"] not in opened or c["last_reporter_at"] > opened[c["id"]]
        }
    return _UNREAD[key]


def expected_total(plan: Plan, filters: inbox.InboxFilters, handler_id: int) -> int:
    granted = {g["case_id"] for g in plan.grants if g["user_id"] == handler_id}
    return sum(
        1 for c in plan.cases if c["id"] in granted and _matches(c, filters, handler_id, plan)
    )


def _sort_key(row: inbox.InboxRow, sort: str) -> tuple[Any, ...]:
    """The row's place in ``sort`` without the id (the rows do not carry it)."""
    if sort == "due":
        return (row.next_due_at is None, row.next_due_at or NOW, row.received_at)
    if sort == "assigned":
        return (row.assignee_id is None, row.assignee_id or 0, row.received_at)
    column = {
        "received": None,
        "status": row.status.value,
        "tier": row.tier,
        "category": row.category,
        "level": row.escalation_level,
    }[sort]
    return (row.received_at,) if column is None else (column, row.received_at)


def _in_order(rows: list[inbox.InboxRow], scenario: Scenario) -> bool:
    keys = [_sort_key(r, scenario.sort) for r in rows]
    return keys == sorted(keys, reverse=scenario.direction == "desc")


def bench_list_cases(label: str, factory: sessionmaker[Session], plan: Plan) -> list[float]:
    """Time list_cases per scenario for handler A; returns every scenario's p95."""
    a, b, c = plan.handlers
    cap = inbox.COUNT_CAP
    # Correctness first: the right (capped) totals for each handler, and every preview opens.
    for handler, total in ((a, CASES), (b, CASES // 2), (c, 0)):
        with factory() as db:
            page = inbox.list_cases(
                db, handler.user, handler.private_key, inbox.InboxFilters(), now=NOW
            )
        assert (page.total, page.more) == (min(total, cap), total > cap), (handler.username, page)
    p95s = []
    for scenario in scenarios(plan):
        cursor = ""
        seen: list[inbox.InboxRow] = []
        with factory() as db:
            for _ in range(scenario.depth):
                walked = inbox.list_cases(
                    db,
                    a.user,
                    a.private_key,
                    scenario.filters,
                    now=NOW,
                    sort=scenario.sort,
                    direction=scenario.direction,
                    cursor=cursor,
                )
                assert walked.next_cursor is not None, scenario.name
                seen.extend(walked.rows)
                cursor = walked.next_cursor

        def run(scenario: Scenario = scenario, cursor: str = cursor) -> inbox.InboxPage:
            with factory() as db:
                return inbox.list_cases(
                    db,
                    a.user,
                    a.private_key,
                    scenario.filters,
                    now=NOW,
                    sort=scenario.sort,
                    direction=scenario.direction,
                    cursor=cursor,
                )

        page = run()  # warm-up, and the correctness check
        total = expected_total(plan, scenario.filters, a.user.id)
        assert (page.total, page.more) == (min(total, cap), total > cap), (scenario.name, page)
        expected_rows = min(inbox.PAGE_SIZE, max(0, total - scenario.depth * inbox.PAGE_SIZE))
        assert len(page.rows) == expected_rows, (scenario.name, len(page.rows))
        assert all(row.preview for row in page.rows), scenario.name
        walked_rows = seen + page.rows
        assert _in_order(walked_rows, scenario), scenario.name
        assert len({r.uid for r in walked_rows}) == len(walked_rows), scenario.name
        times = repeat_ms(run)
        p95 = percentile(times, 0.95)
        p95s.append(p95)
        shown = f"{total:,}" if total <= cap else f"{total:,}, counted as {cap:,}+"
        print(
            f"inbox ({label}, {CASES:,} cases, {inbox.PAGE_SIZE} rows) {scenario.name} "
            f"[{shown} matching]: {p50_p95(times)}, p95/target {p95 / TARGET_MS:.2f} "
            f"(target p95 < {TARGET_MS} ms; {runs_note(times)})",
            flush=True,
        )
    return p95s


def bench_opening(plan: Plan, factory: sessionmaker[Session]) -> None:
    """What opening one page's seals costs alone: 50 grants and 50 previews (100 X25519)."""
    a = plan.handlers[0]
    with factory() as db:
        rows = db.execute(
            select(Case.uid, Case.sealed_preview, CaseKeyGrant.sealed_case_key)
            .join(CaseKeyGrant, CaseKeyGrant.case_id == Case.id)
            .where(CaseKeyGrant.user_id == a.user.id)
            .limit(inbox.PAGE_SIZE)
        ).all()

    def open_page() -> None:
        for uid, preview, sealed_key in rows:
            key = crypto.open_sealed(a.private_key, sealed_key, contexts.case_key(uid, a.user.id))
            crypto.open_sealed(key, preview, contexts.preview(uid))

    open_page()
    times = repeat_ms(open_page)
    print(
        f"  of which opening one page's seals alone ({inbox.PAGE_SIZE} case keys + "
        f"{inbox.PAGE_SIZE} previews): {p50_p95(times)} ({runs_note(times)})",
        flush=True,
    )


def bench_http(tmp: Path, database_url: str, plan: Plan) -> None:
    """GET /staff/inbox through the test client, signed in as handler A (no filter)."""
    app = create_app(config_from_mapping(app_config(tmp, database_url, argon2_profile="test")))
    client = app.test_client()
    a = plan.handlers[0]
    with app.extensions["candor.sessionmaker"]() as db:
        user = db.get_one(User, a.user.id)
        # As tests/factories.sign_in_as: a session opened directly, without the form.
        login = staff_auth._open_session(db, user, a.private_key, utcnow(), None)
        db.commit()
    with client.session_transaction() as session:
        session.clear()
        session["staff"] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}

    def get() -> str:
        response = client.get("/staff/inbox")
        body = response.get_data(as_text=True)
        assert response.status_code == 200, (response.status_code, body[:500])
        return body

    body = get()
    count = f"{inbox.COUNT_CAP:,}+ cases." if CASES > inbox.COUNT_CAP else f"{CASES:,} cases."
    assert count in body and body.count('href="/staff/cases/') == 50, body[:2000]
    times = repeat_ms(get)
    print(
        f"inbox HTTP GET /staff/inbox (SQLite, {CASES:,} cases, {inbox.PAGE_SIZE} rows, "
        f"signed in, test client) no filter: {p50_p95(times)}, "
        f"p95/target {percentile(times, 0.95) / TARGET_MS:.2f} "
        f"(target p95 < {TARGET_MS} ms; {runs_note(times)})",
        flush=True,
    )
    app.extensions["candor.engine"].dispose()


def database_size(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        path = make_url(engine.url).database
        return f"{Path(str(path)).stat().st_size / 2**20:.0f} MiB file"
    with engine.connect() as conn:
        size = conn.execute(
            text(
                "SELECT pg_total_relation_size('cases') + pg_total_relation_size('case_key_grants')"
            )
        ).scalar_one()
    return f"{size / 2**20:.0f} MiB in cases and grants"


def build_database(engine: Engine, plan: Plan | None) -> Plan:
    """Migrate, add the handlers (created here, or copied from the plan), load the cases."""
    migrate.upgrade(engine)
    factory = make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY)
    start = time.perf_counter()
    if plan is None:
        handlers, users = create_handlers(factory)
        plan = build_plan(handlers, users)
        print(
            f"  set-up: {CASES:,} cases planned, {len(plan.grants):,} case keys and {CASES:,} "
            f"previews sealed in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
    else:
        with factory() as db:
            db.execute(insert(User), plan.users)
            db.commit()
    start = time.perf_counter()
    load_cases(factory, plan)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": CASES}
            )
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('users', 'id'), max(id)) FROM users")
            )
            # What autovacuum soon does after a load this size (statistics, visibility map).
            # SQLite gets no ANALYZE: the app never runs one, so its planner has no statistics.
            conn.execute(text("VACUUM ANALYZE"))
    print(
        f"  set-up ({engine.dialect.name}): {CASES:,} cases, {len(plan.grants):,} grants, "
        f"{len(plan.exclusions):,} exclusions inserted in {time.perf_counter() - start:.1f} s "
        f"({database_size(engine)})",
        flush=True,
    )
    return plan


def bench_inbox() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="candor-bench-inbox-"))
    try:
        url = f"sqlite:///{tmp / 'candor.sqlite3'}"
        engine = make_engine(url)
        plan = build_database(engine, None)
        factory = make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY)
        p95s = {"SQLite": bench_list_cases("SQLite", factory, plan)}
        bench_opening(plan, factory)
        engine.dispose()
        bench_http(tmp, url, plan)
        if postgres_answers() and not QUICK:
            schema = f"candor_bench_inbox_{secrets.token_hex(4)}"
            pg_engine: Engine | None = None
            try:
                pg_engine = postgres_schema_engine(schema)
                build_database(pg_engine, plan)
                p95s["PostgreSQL"] = bench_list_cases(
                    "PostgreSQL",
                    make_session_factory(pg_engine, integrity_key=BENCH_INTEGRITY_KEY),
                    plan,
                )
            finally:
                if pg_engine is not None:
                    pg_engine.dispose()
                drop_postgres_schema(schema)
        for label, values in p95s.items():
            over = [
                scenario.name
                for scenario, p95 in zip(scenarios(plan), values, strict=True)
                if p95 >= TARGET_MS
            ]
            print(
                f"inbox {label}: worst p95 {max(values):.1f} ms; "
                + (
                    f"over the {TARGET_MS} ms target: {', '.join(over)}"
                    if over
                    else f"all under {TARGET_MS} ms"
                ),
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- 2. sign-in against the Argon2 cost ---------------------------------------------------------


def timed_sign_in(
    factory: sessionmaker[Session], username: str, code: str, now: datetime
) -> tuple[float, float, bool]:
    """(ms, of which Argon2id ms, signed in) for one attempt in a fresh session."""
    with factory() as db, ArgonTimer() as argon:
        start = time.perf_counter()
        try:
            staff_auth.sign_in(db, username, PASSWORD, code, profile=crypto.PRODUCTION, now=now)
        except staff_auth.SignInError:
            signed_in = False
        else:
            signed_in = True
        elapsed = (time.perf_counter() - start) * 1000
    return elapsed, argon.spent_ms, signed_in


def bench_sign_in() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="candor-bench-signin-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'candor.sqlite3'}")
        migrate.upgrade(engine)
        factory = make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY)
        with factory() as db:
            account = accounts.create_user(
                db,
                username="dana",
                display_name="Dana",
                role=Role.HANDLER,
                password=PASSWORD,
                level=1,
                profile=crypto.PRODUCTION,
                now=NOW,
            )
        secret = account.totp_secret
        known: list[float] = []
        unknown: list[float] = []
        known_argon: list[float] = []
        unknown_argon: list[float] = []
        argon2: list[float] = []
        # Warm-up: the decoy blob for unknown usernames is built on first use.
        timed_sign_in(factory, "nobody", "000000", NOW)
        for index in range(SIGN_INS):
            # A fresh TOTP step each time: a code already used is refused as a replay.
            now = NOW + timedelta(seconds=30 * (index + 1))
            code = pyotp.TOTP(secret).at(now)
            if index % (SIGN_INS // ARGON2_RUNS) == 0:
                argon2.append(argon2_production_ms())
            elapsed, argon_ms, signed_in = timed_sign_in(factory, "dana", code, now)
            assert signed_in, f"sign-in {index} refused"
            known.append(elapsed)
            known_argon.append(argon_ms)
            elapsed, argon_ms, signed_in = timed_sign_in(factory, "nobody", code, now)
            assert not signed_in, "an unknown username signed in"
            unknown.append(elapsed)
            unknown_argon.append(argon_ms)
        engine.dispose()
        median = statistics.median(argon2)
        known_p50, unknown_p50 = percentile(known, 0.5), percentile(unknown, 0.5)
        print(
            f"sign-in (production Argon2, SQLite, n={SIGN_INS}): {p50_p95(known)}; "
            f"Argon2id production alone {median:.1f} ms (median of {len(argon2)}); "
            f"p50 - Argon2 = {known_p50 - median:.1f} ms, "
            f"p95 - Argon2 = {percentile(known, 0.95) - median:.1f} ms",
            flush=True,
        )
        print(
            f"sign-in unknown username (n={SIGN_INS}): {p50_p95(unknown)}; "
            f"p50 - Argon2 = {unknown_p50 - median:.1f} ms, "
            f"p95 - Argon2 = {percentile(unknown, 0.95) - median:.1f} ms; "
            f"known minus unknown p50 = {known_p50 - unknown_p50:+.1f} ms",
            flush=True,
        )
        rest_known = [t - a for t, a in zip(known, known_argon, strict=True)]
        rest_unknown = [t - a for t, a in zip(unknown, unknown_argon, strict=True)]
        print(
            f"  minus each attempt's own in-request Argon2id: known {p50_p95(rest_known)}; "
            f"unknown {p50_p95(rest_unknown)}; in-request Argon2id {p50_p95(known_argon)} "
            f"(known), {p50_p95(unknown_argon)} (unknown); "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


QUICK = False


def main() -> None:
    global CASES, RUNS, MIN_RUNS, QUICK, DEEP_PAGES  # one switch for the whole run
    if "--quick" in sys.argv[1:]:
        # The same code on a small data set: what the test suite runs.
        CASES, RUNS, MIN_RUNS, QUICK, DEEP_PAGES = 2_000, 3, 2, True, 10
    started = time.perf_counter()
    bench_inbox()
    if not QUICK:
        bench_sign_in()
    print(f"bench_inbox total {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
