"""What the benchmarks share: PostgreSQL at 127.0.0.1:5432, when it answers, in a schema of
each run's own (made and dropped as the tests do, by tests/conftest.py); the web benchmarks' app
configuration, percentiles and Argon2id timing."""

from __future__ import annotations

import json
import math
import secrets
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import crypto  # noqa: E402
import crypto.wrapping as crypto_wrapping  # noqa: E402
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


# The integrity key of every benchmark database and app: rows seeded through a bench's own
# sessions must verify in the app it starts.
BENCH_INTEGRITY_KEY = bytes.fromhex("b7" * 32)


# --- what the web benchmarks share --------------------------------------------------------------


def app_config(tmp: Path, database_url: str, *, argon2_profile: str) -> dict[str, Any]:
    """config.example.toml with fresh secrets, the given database, a temp attachment folder and
    in-process rate-limit counters."""
    with (ROOT / "config.example.toml").open("rb") as handle:
        raw: dict[str, Any] = tomllib.load(handle)
    raw["site"]["base_url"] = "http://127.0.0.1"
    raw["site"]["secret_key"] = secrets.token_urlsafe(48)
    raw["security"]["receipt_pepper"] = secrets.token_hex(32)
    raw["security"]["integrity_key"] = BENCH_INTEGRITY_KEY.hex()
    raw["security"]["argon2_profile"] = argon2_profile
    raw["database"]["url"] = database_url
    raw["storage"]["attachments_dir"] = str(tmp / "attachments")
    raw["ratelimit"]["storage_url"] = "memory://"
    return raw


def toml_text(raw: dict[str, Any]) -> str:
    """``raw`` (what tomllib reads: tables, arrays of tables, scalars and lists of scalars) as
    TOML, so that a bench can hand a changed config.example.toml to a server in a subprocess."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(item) for item in v) + "]"
        return json.dumps(str(v))  # JSON string escapes are valid TOML basic-string escapes

    def is_table_array(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(i, dict) for i in v)

    lines: list[str] = []

    def table(path: str, items: dict[str, Any], header: str) -> None:
        lines.append(header)
        for k, v in items.items():
            if not isinstance(v, dict) and not is_table_array(v):
                lines.append(f"{k} = {value(v)}")
        lines.append("")
        for k, v in items.items():
            name = f"{path}.{k}" if path else k
            if isinstance(v, dict):
                table(name, v, f"[{name}]")
            elif is_table_array(v):
                for item in v:
                    table(name, item, f"[[{name}]]")

    for section, content in raw.items():
        table(section, content, f"[{section}]")
    return "\n".join(lines)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def argon2_production_ms() -> float:
    """One production Argon2id derivation on its own, as the app runs it, in ms."""
    salt = crypto.new_salt()
    start = time.perf_counter()
    crypto.derive_keys("seven words of a diceware passphrase here", salt, crypto.PRODUCTION)
    return (time.perf_counter() - start) * 1000


class ArgonTimer:
    """Times the Argon2id runs made inside requests (wraps the name crypto.wrapping calls).

    Subtracting each request's own Argon2id time gives the rest of the request's cost, a figure
    that holds up when other work on the machine slows Argon2 down from one request to the next.
    """

    def __init__(self) -> None:
        self.spent_ms = 0.0
        self._original = crypto_wrapping.derive_keys

    def _timed(self, *args: Any, **kwargs: Any) -> crypto.DerivedKeys:
        start = time.perf_counter()
        try:
            return self._original(*args, **kwargs)
        finally:
            self.spent_ms += (time.perf_counter() - start) * 1000

    def __enter__(self) -> ArgonTimer:
        crypto_wrapping.derive_keys = self._timed
        return self

    def __exit__(self, *_exc: object) -> None:
        crypto_wrapping.derive_keys = self._original
