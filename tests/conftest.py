"""Fixtures layered config -> database -> app -> client.

Every database test runs on SQLite, and also on PostgreSQL when CANDOR_TEST_DATABASE_URL names
one. SQLite tests get a fresh copy of a migrated file; PostgreSQL tests run inside a transaction
in a schema of their own that is rolled back, so services may commit freely.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from portal import create_app, migrate
from portal.config import Config, config_from_mapping
from portal.db import integrity_info, make_engine

POSTGRES_URL = os.environ.get("CANDOR_TEST_DATABASE_URL")
# The integrity key of every test database and app (make_config uses it too), so that rows
# written through one are verified by the other, as in a deployment sharing one configuration.
TEST_INTEGRITY_KEY = bytes.fromhex("5a" * 32)
# The key that signs proofs of report in every test app (make_config), unless a test removes it.
TEST_PROOF_KEY = bytes.fromhex("7c" * 32)
BACKENDS = ["sqlite", "postgresql"]


def pytest_report_header() -> str:
    if POSTGRES_URL:
        return f"databases: SQLite and PostgreSQL ({make_url(POSTGRES_URL).render_as_string()})"
    return "databases: SQLite only (CANDOR_TEST_DATABASE_URL is not set; PostgreSQL tests skip)"


def require_postgres() -> str:
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need CANDOR_TEST_DATABASE_URL (e.g. postgresql+psycopg://...)"
        )
    return POSTGRES_URL


def postgres_schema_engine(base_url: str, schema: str) -> Engine:
    """An engine whose connections see only ``schema`` (created if missing)."""
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()
    # In the URL rather than connect_args, so that an app built from engine.url sees the schema too.
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return make_engine(url.render_as_string(hide_password=False))


def drop_postgres_schema(base_url: str, schema: str) -> None:
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "candor.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    url = require_postgres()
    schema = f"candor_test_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(url, schema)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    drop_postgres_schema(url, schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        require_postgres()
    return name


@pytest.fixture
def database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """(url, sessionmaker) for one test's private, migrated database."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "candor.sqlite3"
        shutil.copy(template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield (
            url,
            sessionmaker(
                bind=engine, expire_on_commit=False, info=integrity_info(TEST_INTEGRITY_KEY)
            ),
        )
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    connection = engine.connect()
    outer = connection.begin()
    # Services commit; here each commit only releases a savepoint inside the outer transaction.
    factory = sessionmaker(
        bind=connection,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
        info=integrity_info(TEST_INTEGRITY_KEY),
    )
    yield engine.url.render_as_string(hide_password=False), factory
    outer.rollback()
    connection.close()


@pytest.fixture
def db(database: tuple[str, sessionmaker[Session]]) -> Iterator[Session]:
    with database[1]() as session:
        yield session


def make_config(database_url: str, tmp_path: Path, **overrides: Any) -> Config:
    raw: dict[str, Any] = {
        "site": {
            "name": "Test Organisation",
            "base_url": "http://localhost",
            "secret_key": secrets.token_urlsafe(48),
            "timezone": "Europe/Berlin",
        },
        "security": {
            "receipt_pepper": secrets.token_hex(32),
            "integrity_key": TEST_INTEGRITY_KEY.hex(),
            "argon2_profile": "test",
            "session_idle_minutes": 30,
        },
        "database": {"url": database_url},
        "storage": {"attachments_dir": str(tmp_path / "attachments"), "max_upload_mb": 5},
        "ratelimit": {"storage_url": "memory://", "staff_sign_in_site": "50 per 15 minutes"},
        "clock": {"interval_seconds": 5, "batch_size": 500, "country": "DE", "subdivision": "BY"},
        "smtp": {
            "host": "",
            "port": 25,
            "security": "none",
            "username": "",
            "password": "",
            "from_address": "candor@example.org",
            "max_attempts": 3,
            "daily_digest": False,
        },
        "proof": {"signing_key": TEST_PROOF_KEY.hex()},
        "intake": {
            "categories": [
                {"key": "fraud", "label": "Fraud", "policies": ["eu-directive"]},
                {"key": "safety", "label": "Safety", "policies": ["eu-directive"]},
            ],
            "questions": [
                {"key": "what_happened", "label": "What happened?", "required": True},
                {"key": "when_where", "label": "When and where?"},
            ],
        },
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    return config_from_mapping(raw)


@pytest.fixture
def config(database: tuple[str, sessionmaker[Session]], tmp_path: Path) -> Config:
    return make_config(database[0], tmp_path)


@pytest.fixture
def app(config: Config, database: tuple[str, sessionmaker[Session]]) -> Flask:
    app = create_app(config)
    app.config["TESTING"] = True
    app.extensions["candor.sessionmaker"] = database[1]
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
