from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Table, insert, inspect, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from portal import migrate
from portal.db import make_engine
from portal.models import Base
from portal.models.base import UTCDateTime
from tests.conftest import drop_postgres_schema, postgres_schema_engine, require_postgres


@pytest.fixture
def empty_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield engine
        engine.dispose()
        return
    url = require_postgres()
    schema = f"candor_migrate_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(url, schema)
    yield engine
    engine.dispose()
    drop_postgres_schema(url, schema)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_to_head_and_back(empty_engine: Engine) -> None:
    assert _tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == set(Base.metadata.tables)
    migrate.downgrade(empty_engine, "base")
    assert _tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert _tables(empty_engine) == set(Base.metadata.tables)


def test_models_match_head(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_sqlite_enforces_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_sqlite_write_lock_option_holds_other_writers_off_from_the_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite3'}"
    first = make_engine(url)
    second = make_engine(url, connect_args={"timeout": 0.05})
    with first.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    locked = {"candor_write_lock": True}
    with first.connect() as holder:
        holder = holder.execution_options(**locked)
        with holder.begin():
            holder.exec_driver_sql("SELECT count(*) FROM t").scalar()  # a read, no write yet
            with second.connect() as other:
                # A plain read goes on beside it (WAL) ...
                assert other.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
                other.rollback()
                # ... but a second writer cannot begin until the first commits.
                with (
                    pytest.raises(OperationalError, match="database is locked"),
                    other.execution_options(**locked).begin(),
                ):
                    pass
    with second.connect() as other, other.execution_options(**locked).begin():
        other.exec_driver_sql("INSERT INTO t VALUES (1)")
    first.dispose()
    second.dispose()


def test_the_inbox_index_exists_at_head(empty_engine: Engine) -> None:
    # Expression indexes are not reflected, so the models-match-head comparison cannot see it.
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        names = set(conn.exec_driver_sql(query).scalars())
    assert {"ix_cases_inbox", "ix_case_key_grants_user_case"} <= names
    assert "ix_case_key_grants_user_id" not in names


def test_0014_adds_the_reporter_group_and_keeps_cases_and_the_inbox_index(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0013")
    with empty_engine.begin() as conn:
        cases = Table("cases", MetaData(), autoload_with=conn)
        conn.execute(
            insert(cases),
            {
                "uid": "b" * 32,
                "receipt_lookup": b"r" * 32,
                "submission_lookup": b"s" * 32,
                "public_key": b"p" * 32,
                "reporter_wrapped_key": b"",
                "category": "workplace",
                "policies": ["seed-complaints"],
                "tier": 1,
                "status": "new",
                "confidential": False,
                "escalation_level": 1,
                "sealed_report": b"",
                "received_at": datetime(2026, 11, 23, 9, tzinfo=UTC),
                "sealed_preview": b"",
            },
        )
    migrate.upgrade(empty_engine, "0014")
    with empty_engine.begin() as conn:
        # A case filed before the question existed has no group: it follows the default ladder.
        assert conn.execute(text("SELECT uid, reporter_group FROM cases")).one() == ("b" * 32, None)
        conn.execute(text("UPDATE cases SET reporter_group = 'vendor'"))
    migrate.downgrade(empty_engine, "0013")
    with empty_engine.connect() as conn:
        assert "reporter_group" not in {c["name"] for c in inspect(conn).get_columns("cases")}
        assert conn.execute(text("SELECT uid FROM cases")).scalar_one() == "b" * 32
        if conn.dialect.name == "sqlite":
            # Dropped in place, not by copying the table: the expression index survives.
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
            assert "ix_cases_inbox" in set(conn.exec_driver_sql(query).scalars())


def test_0004_carries_each_case_and_category_policy_over_and_back(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0003")
    when = datetime(2026, 11, 23, 9, tzinfo=UTC)
    with empty_engine.begin() as conn:
        cases = Table("cases", MetaData(), autoload_with=conn)
        conn.execute(
            insert(cases),
            {
                "uid": "a" * 32,
                "receipt_lookup": b"r" * 32,
                "submission_lookup": b"s" * 32,
                "public_key": b"p" * 32,
                "reporter_wrapped_key": b"",
                "category": "workplace",
                "policy": "seed-complaints",
                "tier": 2,
                "status": "new",
                "confidential": False,
                "escalation_level": 1,
                "sealed_report": b"",
                "received_at": when,
                "sealed_preview": b"",
            },
        )
        chosen = Table("category_policies", MetaData(), autoload_with=conn)
        conn.execute(
            insert(chosen),
            {"category": "workplace", "policy": "seed-membership", "updated_at": when},
        )

    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT policies FROM cases")).scalar_one() in (
            ["seed-complaints"],
            '["seed-complaints"]',  # SQLite hands JSON back as text to a raw query
        )
        rows = conn.execute(text("SELECT category, policy, position FROM category_policies"))
        assert rows.all() == [("workplace", "seed-membership", 0)]

    migrate.downgrade(empty_engine, "0003")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT policy FROM cases")).scalar_one() == "seed-complaints"
        rows = conn.execute(text("SELECT category, policy FROM category_policies"))
        assert rows.all() == [("workplace", "seed-membership")]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        datetime(2027, 2, 28, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_sqlite_datetimes_are_written_in_sqlalchemys_own_format(moment: datetime) -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    default = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and default is not None
    assert ours(moment) == default(moment.replace(tzinfo=None))
    assert ours(None) is None


def test_sqlite_datetimes_round_trip_as_aware_utc(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.sqlite3'}")
    table = Table("t", MetaData(), Column("at", UTCDateTime()))
    table.metadata.create_all(engine)
    berlin = datetime(2026, 3, 29, 3, 30, 0, 250, tzinfo=ZoneInfo("Europe/Berlin"))
    with engine.begin() as conn:
        conn.execute(insert(table), [{"at": berlin}])
        stored = conn.exec_driver_sql("SELECT at FROM t").scalar_one()
        loaded = conn.execute(select(table.c.at)).scalar_one()
    assert stored == "2026-03-29 01:30:00.000250"
    assert loaded == berlin and loaded.tzinfo is UTC
    engine.dispose()


def test_0016_adds_policy_versions_and_a_downgrade_keeps_them_while_any_exist(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0013")
    assert "policy_versions" not in _tables(empty_engine)
    migrate.upgrade(empty_engine, "0016")
    when = datetime(2026, 11, 30, 14, tzinfo=UTC)
    with empty_engine.begin() as conn:
        versions = Table("policy_versions", MetaData(), autoload_with=conn)
        row = {
            "name": "acme-reports",
            "version": 1,
            "content": 'name = "acme-reports"',
            "based_on": "eu-directive",
            "created_at": when,
            "note": "Created from the preset eu-directive.",
        }
        conn.execute(insert(versions), row)
    # A version is unique per name; a case naming "acme-reports@1" finds exactly one.
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert(versions), row)
    with pytest.raises(RuntimeError, match="1 policy versions exist"):
        migrate.downgrade(empty_engine, "0013")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM policy_versions")).scalar_one() == 1
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM policy_versions"))
    migrate.downgrade(empty_engine, "0013")
    assert "policy_versions" not in _tables(empty_engine)


def test_0021_adds_site_settings_and_a_downgrade_keeps_saved_ones(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0017")
    assert "site_settings" not in _tables(empty_engine)
    migrate.upgrade(empty_engine, "0021")
    when = datetime(2026, 11, 30, 15, tzinfo=UTC)
    with empty_engine.begin() as conn:
        table = Table("site_settings", MetaData(), autoload_with=conn)
        conn.execute(insert(table), {"section": "groups", "value": "[]", "updated_at": when})
    with pytest.raises(RuntimeError, match="1 sections"):
        migrate.downgrade(empty_engine, "0017")
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE site_settings SET value = NULL"))
    migrate.downgrade(empty_engine, "0017")
    assert "site_settings" not in _tables(empty_engine)


def test_0022_adds_oral_reports_and_a_downgrade_refuses_while_any_are_recorded(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0017")
    with empty_engine.begin() as conn:
        cases = Table("cases", MetaData(), autoload_with=conn)
        conn.execute(
            insert(cases),
            {
                "uid": "c" * 32,
                "receipt_lookup": b"r" * 32,
                "submission_lookup": b"s" * 32,
                "public_key": b"p" * 32,
                "reporter_wrapped_key": b"",
                "category": "fraud",
                "policies": ["eu-directive"],
                "tier": 3,
                "status": "new",
                "confidential": False,
                "escalation_level": 1,
                "sealed_report": b"",
                "received_at": datetime(2026, 11, 23, 9, tzinfo=UTC),
                "sealed_preview": b"",
            },
        )
        case_id = conn.execute(text("SELECT id FROM cases")).scalar_one()
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(
                text("INSERT INTO case_events (case_id, kind, occurred_at) VALUES (:c, :k, :t)"),
                {"c": case_id, "k": "minutes_approved", "t": "2026-11-23 09:00:00"},
            )
    migrate.upgrade(empty_engine, "0022")
    with empty_engine.begin() as conn:
        # A case filed before oral reports existed came by the web form, from a first party.
        row = conn.execute(text("SELECT channel, third_party, minutes_state FROM cases")).one()
        assert (row[0], bool(row[1]), row[2]) == (None, False, None)
        conn.execute(
            text("INSERT INTO case_events (case_id, kind, occurred_at) VALUES (:c, :k, :t)"),
            {"c": case_id, "k": "minutes_approved", "t": "2026-11-23 09:00:00"},
        )
        conn.execute(text("UPDATE cases SET channel = 'telephone', minutes_state = 'approved'"))
    with pytest.raises(RuntimeError, match="would not fit the older schema"):
        migrate.downgrade(empty_engine, "0017")
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM case_events"))
        conn.execute(text("UPDATE cases SET channel = NULL, minutes_state = NULL"))
    migrate.downgrade(empty_engine, "0017")
    with empty_engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("cases")}
        assert not columns & {"channel", "third_party", "minutes_state"}
        assert not {"minutes_versions", "case_links"} & set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT uid FROM cases")).scalar_one() == "c" * 32
        if conn.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
            assert "ix_cases_inbox" in set(conn.exec_driver_sql(query).scalars())


def test_0018_adds_the_digest_choice_and_a_downgrade_keeps_waiting_entries(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0017")
    when = datetime(2026, 11, 30, 15, tzinfo=UTC)
    with empty_engine.begin() as conn:
        users = Table("users", MetaData(), autoload_with=conn)
        conn.execute(
            insert(users),
            {
                "username": "hanna",
                "display_name": "Hanna",
                "title": "Case handler",
                "is_handler": True,
                "is_admin": False,
                "level": 1,
                "active": True,
                "created_at": when,
            },
        )
        cases = Table("cases", MetaData(), autoload_with=conn)
        conn.execute(
            insert(cases),
            {
                "uid": "b" * 32,
                "receipt_lookup": b"r" * 32,
                "submission_lookup": b"s" * 32,
                "public_key": b"p" * 32,
                "reporter_wrapped_key": b"",
                "category": "workplace",
                "policies": ["seed-complaints"],
                "tier": 2,
                "status": "new",
                "confidential": False,
                "escalation_level": 1,
                "sealed_report": b"",
                "received_at": when,
                "sealed_preview": b"",
            },
        )
    migrate.upgrade(empty_engine, "0018")
    with empty_engine.begin() as conn:
        # An account made before the choice existed goes on being told at once.
        assert not conn.execute(text("SELECT notify_by_digest FROM users")).scalar_one()
        user_id = conn.execute(text("SELECT id FROM users")).scalar_one()
        case_id = conn.execute(text("SELECT id FROM cases")).scalar_one()
        entries = Table("digest_entries", MetaData(), autoload_with=conn)
        row = {"user_id": user_id, "case_id": case_id, "kind": "report", "created_at": when}
        conn.execute(insert(entries), row)
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert(entries), {**row, "kind": "gossip"})
    with pytest.raises(RuntimeError, match=r"Entries wait for the next daily digest \(1\)"):
        migrate.downgrade(empty_engine, "0017")
    with empty_engine.begin() as conn:
        conn.execute(text("DELETE FROM digest_entries"))
    migrate.downgrade(empty_engine, "0017")
    assert "digest_entries" not in _tables(empty_engine)
    columns = {c["name"] for c in inspect(empty_engine).get_columns("users")}
    assert "notify_by_digest" not in columns
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT username FROM users")).scalar_one() == "hanna"


def _index_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            index["name"]
            for table in ("cases", "case_events", "deadlines")
            for index in inspect(conn).get_indexes(table)
            if index["name"]
        }


def test_0023_adds_the_statistics_indexes_and_drops_them_on_downgrade(
    empty_engine: Engine,
) -> None:
    ours = {
        "ix_cases_received_stats",
        "ix_cases_status_received",
        "ix_case_events_case_kind_at",
        "ix_deadlines_due_stats",
    }
    migrate.upgrade(empty_engine, "0023")
    assert ours <= _index_names(empty_engine)
    migrate.downgrade(empty_engine, "0022")
    assert not ours & _index_names(empty_engine)
    assert "ix_case_events_case_kind" in _index_names(empty_engine)


def test_0019_fills_the_reporters_last_writing_time_and_keeps_the_inbox_index(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0017")
    received = datetime(2026, 11, 23, 9, tzinfo=UTC)
    with empty_engine.begin() as conn:
        cases = Table("cases", MetaData(), autoload_with=conn)
        messages = Table("messages", MetaData(), autoload_with=conn)
        for uid in ("a" * 32, "b" * 32):
            conn.execute(
                insert(cases),
                {
                    "uid": uid,
                    "receipt_lookup": uid[:1].encode() * 32,
                    "submission_lookup": uid[:1].encode() * 32,
                    "public_key": b"p" * 32,
                    "reporter_wrapped_key": b"",
                    "category": "fraud",
                    "policies": ["eu-directive"],
                    "tier": 2,
                    "status": "new",
                    "confidential": False,
                    "escalation_level": 1,
                    "sealed_report": b"",
                    "received_at": received,
                    "sealed_preview": b"",
                },
            )
        case_id = conn.execute(text("SELECT id FROM cases WHERE uid = :u"), {"u": "a" * 32})
        case_a = case_id.scalar_one()
        for n, (kind, day) in enumerate((("reporter", 24), ("reporter", 26), ("handler", 28))):
            conn.execute(
                insert(messages),
                {
                    "uid": f"{n}" * 32,
                    "case_id": case_a,
                    "author_kind": kind,
                    "sealed_body": b"",
                    "created_at": datetime(2026, 11, day, 9, tzinfo=UTC),
                },
            )
    migrate.upgrade(empty_engine, "0019")
    with empty_engine.connect() as conn:
        # The latest reporter message, not the handler's later one; else the report itself.
        latest = conn.execute(
            text(
                "SELECT cases.uid FROM cases WHERE last_reporter_at = (SELECT max(created_at) "
                "FROM messages WHERE author_kind = 'reporter')"
            )
        ).scalar_one()
        assert latest == "a" * 32
        same = conn.execute(text("SELECT uid FROM cases WHERE last_reporter_at = received_at"))
        assert same.scalar_one() == "b" * 32
        assert {"case_views", "case_openings"} <= _tables(empty_engine)
    migrate.downgrade(empty_engine, "0017")
    with empty_engine.connect() as conn:
        assert "last_reporter_at" not in {c["name"] for c in inspect(conn).get_columns("cases")}
        assert conn.execute(text("SELECT count(*) FROM cases")).scalar_one() == 2
        if conn.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
            assert "ix_cases_inbox" in set(conn.exec_driver_sql(query).scalars())
    assert "case_views" not in _tables(empty_engine)


def test_0020_keeps_message_kinds_and_fills_in_older_rows_where_certain(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0017")
    when = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with empty_engine.begin() as conn:
        meta = MetaData()
        cases = Table("cases", meta, autoload_with=conn)
        messages = Table("messages", meta, autoload_with=conn)
        events = Table("case_events", meta, autoload_with=conn)
        case_id = conn.execute(
            insert(cases).returning(cases.c.id),
            {
                "uid": "k" * 32,
                "receipt_lookup": b"r" * 32,
                "submission_lookup": b"s" * 32,
                "public_key": b"p" * 32,
                "reporter_wrapped_key": b"",
                "category": "fraud",
                "policies": ["eu-directive"],
                "tier": 3,
                "status": "acknowledged",
                "confidential": False,
                "escalation_level": 1,
                "sealed_report": b"",
                "received_at": when,
                "sealed_preview": b"",
            },
        ).scalar_one()
        # Each message at its own hour; a handler's acknowledgement and feedback were recorded
        # with their typed event at the same time, a reply with none.
        sent = [
            ("reporter", None),
            ("handler", "acknowledged"),
            ("handler", None),
            ("system", None),
            ("handler", "feedback_sent"),
            ("system", "committee_decided"),
        ]
        for hour, (author_kind, event) in enumerate(sent, start=1):
            at = when + timedelta(hours=hour)
            conn.execute(
                insert(messages),
                {
                    "uid": f"{hour:032d}",
                    "case_id": case_id,
                    "author_kind": author_kind,
                    "sealed_body": b"",
                    "created_at": at,
                },
            )
            if event is not None:
                conn.execute(insert(events), {"case_id": case_id, "kind": event, "occurred_at": at})
        # An event at another time tells nothing about a message.
        conn.execute(
            insert(events),
            {
                "case_id": case_id,
                "kind": "decision_sent",
                "occurred_at": when + timedelta(hours=3, seconds=1),
            },
        )
    migrate.upgrade(empty_engine, "0020")
    with empty_engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM messages ORDER BY created_at")).scalars().all()
    assert kinds == [
        "reporter",
        "acknowledgement",
        None,
        "automatic",
        "feedback",
        "committee_decision",
    ]
    migrate.downgrade(empty_engine, "0017")
    with empty_engine.connect() as conn:
        assert "kind" not in {c["name"] for c in inspect(conn).get_columns("messages")}
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar_one() == 6


def test_0024_adds_the_case_language_and_removes_it_on_downgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0024")
    with empty_engine.connect() as conn:
        assert "language" in {c["name"] for c in inspect(conn).get_columns("cases")}
    migrate.downgrade(empty_engine, "0023")
    with empty_engine.connect() as conn:
        assert "language" not in {c["name"] for c in inspect(conn).get_columns("cases")}


def test_0026_adds_the_attachment_chunks_and_removes_them_on_downgrade(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0026")
    with empty_engine.begin() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("attachment_chunks")}
        assert columns == {"uid", "position", "data", "pending"}
        row = {"uid": "ab12", "position": 0, "data": b"\x00\xff", "pending": True}
        conn.execute(
            text("INSERT INTO attachment_chunks VALUES (:uid, :position, :data, :pending)"), row
        )
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(
                text("INSERT INTO attachment_chunks VALUES (:uid, :position, :data, :pending)"),
                row,
            )
    migrate.downgrade(empty_engine, "-1")
    with empty_engine.connect() as conn:
        assert "attachment_chunks" not in inspect(conn).get_table_names()


def test_0025_adds_retention_and_hold_and_keeps_the_inbox_index_on_downgrade(
    empty_engine: Engine,
) -> None:
    added = {"closed_at", "held_at", "hold_reason", "retention_reminded_at", "deleted_at"}
    added |= {"shredding_at"}
    migrate.upgrade(empty_engine, "0025")
    with empty_engine.connect() as conn:
        assert added <= {c["name"] for c in inspect(conn).get_columns("cases")}
    indexes = _index_names(empty_engine)
    new_indexes = {"ix_cases_closed_at", "ix_cases_shredding_at"}
    assert new_indexes <= indexes
    migrate.downgrade(empty_engine, "0024")
    with empty_engine.connect() as conn:
        assert not added & {c["name"] for c in inspect(conn).get_columns("cases")}
        if conn.dialect.name == "sqlite":
            # Plain column changes, never a table copy: the expression index is still there.
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
            assert "ix_cases_inbox" in set(conn.exec_driver_sql(query).scalars())
    assert _index_names(empty_engine) == indexes - new_indexes
