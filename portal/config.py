"""Typed, frozen configuration loaded from TOML, with environment overrides for secrets.

Start-up stops with a message naming the key when a key is missing or malformed: a portal that
guesses at its own configuration could, for instance, run with a weak Argon2 profile or an empty
pepper without anyone noticing.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import limits

T = TypeVar("T")

ENV_PREFIX = "CANDOR_"
# Secrets may come from the environment instead of the file, so that a deployment can keep them
# in its secret store. Each maps an environment variable to a dotted key.
ENV_OVERRIDES: dict[str, str] = {
    "CANDOR_SECRET_KEY": "site.secret_key",
    "CANDOR_RECEIPT_PEPPER": "security.receipt_pepper",
    "CANDOR_INTEGRITY_KEY": "security.integrity_key",
    "CANDOR_DATABASE_URL": "database.url",
    "CANDOR_RATELIMIT_STORAGE_URL": "ratelimit.storage_url",
    "CANDOR_SMTP_PASSWORD": "smtp.password",
}
ARGON2_PROFILES = ("production", "test")
MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class SiteConfig:
    name: str
    base_url: str
    secret_key: str
    timezone: str


@dataclass(frozen=True)
class SecurityConfig:
    receipt_pepper: bytes
    # Authenticates every public key and sealed item in the database; see docs/threat-model.md.
    integrity_key: bytes
    argon2_profile: str
    session_idle_minutes: int


@dataclass(frozen=True)
class DatabaseConfig:
    url: str


@dataclass(frozen=True)
class StorageConfig:
    attachments_dir: Path
    max_upload_mb: int


@dataclass(frozen=True)
class RateLimitConfig:
    storage_url: str
    check_per_code: str
    check_site: str


@dataclass(frozen=True)
class ClockConfig:
    interval_seconds: int
    country: str
    subdivision: str | None
    batch_size: int


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str
    username: str
    password: str
    from_address: str
    max_attempts: int
    daily_digest: bool


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    # The policies whose clocks run on the category's cases, side by side (say, a statutory one
    # and the organisation's own).
    policies: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    key: str
    label: str
    help: str
    required: bool
    multiline: bool


@dataclass(frozen=True)
class IntakeConfig:
    categories: tuple[Category, ...]
    questions: tuple[Question, ...]

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


@dataclass(frozen=True)
class Config:
    site: SiteConfig
    security: SecurityConfig
    database: DatabaseConfig
    storage: StorageConfig
    ratelimit: RateLimitConfig
    intake: IntakeConfig
    clock: ClockConfig
    smtp: SmtpConfig


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the TOML file at ``path`` (or ``$CANDOR_CONFIG``) and apply environment overrides."""
    if path is None:
        path = os.environ.get("CANDOR_CONFIG")
        if not path:
            raise ConfigError(
                "CANDOR_CONFIG is not set: point it at a TOML file (see config.example.toml)"
            )
    file = Path(path)
    try:
        with file.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {file} is not valid TOML: {exc}") from None
    return config_from_mapping(raw, env=os.environ, base_dir=file.parent)


def config_from_mapping(
    raw: Mapping[str, Any], env: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> Config:
    """Validate a parsed TOML document into a frozen :class:`Config`."""
    merged = _apply_env(raw, env or {})
    reader = _Reader(merged)
    base = base_dir or Path.cwd()
    timezone = reader.get("site.timezone", str)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"site.timezone: unknown time zone {timezone!r}") from None
    profile = reader.get("security.argon2_profile", str)
    if profile not in ARGON2_PROFILES:
        raise ConfigError(f"security.argon2_profile: must be one of {', '.join(ARGON2_PROFILES)}")
    attachments = Path(reader.get("storage.attachments_dir", str))
    return Config(
        site=SiteConfig(
            name=reader.get("site.name", str, _non_empty),
            base_url=reader.get("site.base_url", str, _non_empty).rstrip("/"),
            secret_key=reader.get("site.secret_key", str, _long_secret),
            timezone=timezone,
        ),
        security=SecurityConfig(
            receipt_pepper=reader.get("security.receipt_pepper", str, _hex_secret_bytes),
            integrity_key=reader.get("security.integrity_key", str, _hex_key),
            argon2_profile=profile,
            session_idle_minutes=reader.get("security.session_idle_minutes", int, _positive),
        ),
        database=DatabaseConfig(url=reader.get("database.url", str, _non_empty)),
        storage=StorageConfig(
            attachments_dir=attachments if attachments.is_absolute() else base / attachments,
            max_upload_mb=reader.get("storage.max_upload_mb", int, _positive),
        ),
        ratelimit=RateLimitConfig(
            storage_url=reader.get("ratelimit.storage_url", str, _non_empty),
            check_per_code=reader.get("ratelimit.check_per_code", str, _rate),
            check_site=reader.get("ratelimit.check_site", str, _rate),
        ),
        intake=_intake(reader),
        clock=_clock(reader),
        smtp=SmtpConfig(
            host=reader.get("smtp.host", str),
            port=reader.get("smtp.port", int, _positive),
            security=reader.get("smtp.security", str, _one_of(SMTP_SECURITY)),
            username=reader.get("smtp.username", str),
            password=reader.get("smtp.password", str),
            from_address=reader.get("smtp.from_address", str, _header_safe),
            max_attempts=reader.get("smtp.max_attempts", int, _positive),
            daily_digest=reader.get("smtp.daily_digest", bool),
        ),
    )


SMTP_SECURITY = ("none", "starttls", "tls")


def _clock(reader: _Reader) -> ClockConfig:
    country = reader.get("clock.country", str, _non_empty).upper()
    subdivision = reader.get("clock.subdivision", str).strip() or None
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError:
        raise ConfigError(f"clock.country: no public holidays known for {country!r}") from None
    except ValueError:
        raise ConfigError(
            f"clock.subdivision: {subdivision!r} is not a region of {country}"
        ) from None
    return ClockConfig(
        interval_seconds=reader.get("clock.interval_seconds", int, _positive),
        country=country,
        subdivision=subdivision,
        batch_size=reader.get("clock.batch_size", int, _positive),
    )


def _one_of(choices: tuple[str, ...]) -> Callable[[str, str], str]:
    def check(key: str, value: str) -> str:
        if value not in choices:
            raise ConfigError(f"{key}: must be one of {', '.join(choices)}")
        return value

    return check


def _header_safe(key: str, value: str) -> str:
    # Whatever reaches a mail header may not carry a line break (header injection).
    if "\r" in value or "\n" in value:
        raise ConfigError(f"{key}: must be on one line")
    return value


KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
POLICIES = ("eu-directive", "seed-complaints", "seed-membership")


def _intake(reader: _Reader) -> IntakeConfig:
    categories = []
    for index, item in enumerate(reader.get("intake.categories", list, _non_empty_list)):
        where = f"intake.categories[{index}]"
        key = _table_str(item, where, "key")
        if not KEY_PATTERN.fullmatch(key):
            raise ConfigError(f"{where}.key: use lower-case letters, digits and underscores")
        policies = _non_empty_list(f"{where}.policies", _table_value(item, where, "policies", list))
        if any(p not in POLICIES for p in policies) or len(set(policies)) != len(policies):
            raise ConfigError(
                f"{where}.policies: each must be one of {', '.join(POLICIES)}, named once"
            )
        categories.append(
            Category(key=key, label=_table_str(item, where, "label"), policies=tuple(policies))
        )
    questions = []
    for index, item in enumerate(reader.get("intake.questions", list, _non_empty_list)):
        where = f"intake.questions[{index}]"
        key = _table_str(item, where, "key")
        if not KEY_PATTERN.fullmatch(key):
            raise ConfigError(f"{where}.key: use lower-case letters, digits and underscores")
        questions.append(
            Question(
                key=key,
                label=_table_str(item, where, "label"),
                help=_table_value(item, where, "help", str, ""),
                required=_table_value(item, where, "required", bool, False),
                multiline=_table_value(item, where, "multiline", bool, True),
            )
        )
    for name, keys in (
        ("categories", [c.key for c in categories]),
        ("questions", [q.key for q in questions]),
    ):
        if len(set(keys)) != len(keys):
            raise ConfigError(f"intake.{name}: keys must be unique")
    return IntakeConfig(categories=tuple(categories), questions=tuple(questions))


def _table_value(item: Any, where: str, key: str, kind: type[T], default: T | None = None) -> T:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: must be a table")
    if key not in item:
        if default is None:
            raise ConfigError(f"{where}.{key}: missing")
        return default
    value = item[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}: must be of type {kind.__name__}")
    return value


def _table_str(item: Any, where: str, key: str) -> str:
    return _non_empty(f"{where}.{key}", _table_value(item, where, key, str))


def _rate(key: str, value: str) -> str:
    try:
        limits.parse_many(value)
    except ValueError:
        raise ConfigError(f'{key}: must read like "10 per hour"') from None
    return value


def _non_empty_list(key: str, value: list[Any]) -> list[Any]:
    if not value:
        raise ConfigError(f"{key}: must not be empty")
    return value


def _apply_env(raw: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: dict(v) if isinstance(v, Mapping) else v for k, v in raw.items()}
    for variable, dotted in ENV_OVERRIDES.items():
        if variable in env:
            section, key = dotted.split(".")
            table = merged.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{section}: must be a table")
            table[key] = env[variable]
    return merged


class _Reader:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    def get(
        self, dotted: str, kind: type[T], check: Callable[[str, Any], Any] | None = None
    ) -> Any:
        section, key = dotted.split(".")
        table = self._raw.get(section)
        if not isinstance(table, Mapping):
            raise ConfigError(f"{dotted}: missing (no [{section}] table)")
        if key not in table:
            raise ConfigError(f"{dotted}: missing")
        value = table[key]
        # bool is an int in Python; a boolean where a number belongs is a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{dotted}: must be of type {kind.__name__}")
        return check(dotted, value) if check else value


def _non_empty(key: str, value: str) -> str:
    if not value.strip():
        raise ConfigError(f"{key}: must not be empty")
    return value


def _positive(key: str, value: int) -> int:
    if value <= 0:
        raise ConfigError(f"{key}: must be a positive number")
    return value


def _long_secret(key: str, value: str) -> str:
    if len(value) < MIN_SECRET_BYTES:
        raise ConfigError(f"{key}: must be at least {MIN_SECRET_BYTES} characters of random text")
    return value


def _hex_key(key: str, value: str) -> bytes:
    secret = _hex_secret_bytes(key, value)
    if len(secret) != MIN_SECRET_BYTES:
        raise ConfigError(f"{key}: must be exactly {MIN_SECRET_BYTES} bytes (64 hex digits)")
    return secret


def _hex_secret_bytes(key: str, value: str) -> bytes:
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        raise ConfigError(f"{key}: must be hexadecimal") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{key}: must be at least {MIN_SECRET_BYTES} bytes ({MIN_SECRET_BYTES * 2} hex digits)"
        )
    return secret
