"""Engine and session factory. Only services commit; views get a session per request."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Connections kept open per process, and how many more may open under load.
POOL_SIZE = 5
MAX_OVERFLOW = 35


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys enforced and write-ahead logging.

    A database error never carries its statement's parameters into a message or a traceback:
    they are lookups, tags and ciphertexts that have no place in a log.
    """
    kwargs.setdefault("hide_parameters", True)
    if ":memory:" not in url and "mode=memory" not in url and "poolclass" not in kwargs:
        # A connection for every server thread (gunicorn.conf.py runs 32): with fewer, a flood
        # whose requests hold connections while they wait for an Argon2id slot leaves the page
        # loads of everyone else waiting for a connection, not for the CPU. Beyond
        # POOL_SIZE, connections are closed as soon as they are given back.
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # SQLite leaves foreign keys off unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the clock worker write while the web server reads.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """A transaction run with the ``candor_write_lock`` option takes SQLite's write lock at once.

    By default a SQLite transaction begins when it first writes, so what it read before may have
    been changed by another process in between. BEGIN IMMEDIATE makes other writers wait until
    it commits (the clock worker claims due deadlines this way); readers go on, under WAL.
    """
    if connection.get_execution_options().get("candor_write_lock"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *, integrity_key: bytes) -> sessionmaker[Session]:
    """Sessions that carry the integrity key (see portal.services.integrity for why there)."""
    return sessionmaker(bind=engine, expire_on_commit=False, info=integrity_info(integrity_key))


def integrity_info(integrity_key: bytes) -> dict[str, bytes]:
    # The key name lives here rather than in portal.services.integrity so that this module, which
    # the services import nothing from, stays at the bottom of the layers.
    return {INTEGRITY_KEY: integrity_key}


INTEGRITY_KEY = "candor.integrity_key"
