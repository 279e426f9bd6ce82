"""What the benchmarks share: PostgreSQL at 127.0.0.1:5432, when it answers, in a schema of
each run's own (made and dropped as the tests do, by tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from portal.db import make_engine  # noqa: E402
from tests import conftest  # noqa: E402

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_answers() -> bool:
    try:
        engine = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means: skip PostgreSQL
        print(f"PostgreSQL at 127.0.0.1:5432 does not answer ({type(exc).__name__}): skipped")
        return False
    return True


def postgres_schema_engine(schema: str) -> Engine:
    """An engine whose connections see only ``schema``."""
    return conftest.postgres_schema_engine(POSTGRES_URL, schema)


def drop_postgres_schema(schema: str) -> None:
    conftest.drop_postgres_schema(POSTGRES_URL, schema)
