"""Typed, frozen configuration loaded from TOML, with environment overrides for secrets.

Start-up stops with a message naming the key when a key is missing or malformed: a portal that
guesses at its own configuration could, for instance, run with a weak Argon2 profile or an empty
pepper without anyone noticing.
"""

from __future__ import annotations

import base64
import binascii
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

from portal.i18n import N_

T = TypeVar("T")

ENV_PREFIX = "CANDOR_"
# Secrets may come from the environment instead of the file, so that a deployment can keep them
# in its secret store; the base URL too, so that `PORT=... make run` can set it. Each maps an
# environment variable to a dotted key.
ENV_OVERRIDES: dict[str, str] = {
    "CANDOR_BASE_URL": "site.base_url",
    "CANDOR_SECRET_KEY": "site.secret_key",
    "CANDOR_RECEIPT_PEPPER": "security.receipt_pepper",
    "CANDOR_INTEGRITY_KEY": "security.integrity_key",
    "CANDOR_DATABASE_URL": "database.url",
    "CANDOR_RATELIMIT_STORAGE_URL": "ratelimit.storage_url",
    "CANDOR_SMTP_PASSWORD": "smtp.password",
    "CANDOR_PROOF_SIGNING_KEY": "proof.signing_key",
}
ARGON2_PROFILES = ("production", "test")
STORAGE_BACKENDS = ("folder", "database")
MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


@dataclass(frozen=True)
class SiteConfig:
    name: str
    base_url: str
    secret_key: str
    timezone: str
    # The site's v3 onion service (e.g. "http://<56 characters>.onion"), or None.
    onion_address: str | None = None
    # The number the receipt of a tier 1 report tells the reporter to call if a life is at risk.
    emergency_number: str = "112"
    # The languages reporters may choose (codes from portal.i18n.LANGUAGES, in the order the
    # language links show them), and the one a page falls back to.
    languages: tuple[str, ...] = ("en",)
    default_language: str = "en"


@dataclass(frozen=True)
class SecurityConfig:
    receipt_pepper: bytes
    # Authenticates every public key and sealed item in the database; see docs/threat-model.md.
    integrity_key: bytes
    argon2_profile: str
    session_idle_minutes: int
    # Argon2id runs at once in one process (0 in the file: one per CPU), how long a request waits
    # for a free slot, and how many may wait; beyond that a request gets 503 with Retry-After.
    argon2_concurrency: int
    argon2_queue_seconds: float
    argon2_queue_max: int


@dataclass(frozen=True)
class DatabaseConfig:
    url: str


@dataclass(frozen=True)
class StorageConfig:
    attachments_dir: Path
    max_upload_mb: int
    # Optional keys (older configuration files lack them); defaults in config_from_mapping.
    clean_in_memory_mb: int = 32
    case_quota_mb: int = 1024
    # "folder" (attachments_dir, one machine) or "database" (shared by every instance).
    backend: str = "folder"


@dataclass(frozen=True)
class RateLimitConfig:
    storage_url: str
    # Failed check-backs on one receipt code before a delay; then the delay, doubling per failure
    # up to the maximum.
    check_free_failures: int
    check_first_delay_minutes: int
    check_max_delay_minutes: int
    # Optional keys, as above: posts that may carry files, and their bytes.
    upload_site: str = "600 per hour"
    upload_mb_site: str = "4096 per hour"
    message_per_case: str = "30 per hour"
    # Failed staff sign-ins across the site, whatever the username (a password spray).
    staff_sign_in_site: str = "50 per 15 minutes"


@dataclass(frozen=True)
class ClockConfig:
    interval_seconds: int
    country: str
    subdivision: str | None
    batch_size: int


@dataclass(frozen=True)
class RetentionConfig:
    """How long a closed case is kept before it is deleted (an admin may set it per category),
    and how many days before the deletion the handlers holding the case are reminded."""

    default_days: int = 1825
    remind_days: int = 30


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
class ReporterGroup:
    """Who a reporter may say they are; a policy may give the group its own escalation ladder."""

    key: str
    label: str


# The labels are marked for the catalogue (N_ returns them as written): a page shows each
# through the catalogue, in its language (services/site_settings.py).
DEFAULT_GROUPS = (
    ReporterGroup("employee", N_("Employee")),
    ReporterGroup("customer", N_("Customer")),
    ReporterGroup("vendor", N_("Vendor or supplier")),
    ReporterGroup("public", N_("Member of the public")),
    ReporterGroup("other", N_("Other")),
)


@dataclass(frozen=True)
class IntakeConfig:
    categories: tuple[Category, ...]
    questions: tuple[Question, ...]
    # Asked at intake ("Who are you?"), always with "prefer not to say"; none: not asked.
    groups: tuple[ReporterGroup, ...] = DEFAULT_GROUPS

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)

    def group(self, key: str) -> ReporterGroup | None:
        return next((g for g in self.groups if g.key == key), None)


@dataclass(frozen=True)
class BackupConfig:
    # The offline backup key's public half (raw X25519); None: `candor backup` refuses to run.
    public_key: bytes | None = None


@dataclass(frozen=True)
class ProofConfig:
    # The Ed25519 key (raw, 32 bytes) that signs reporters' proofs of report; None: no proofs.
    signing_key: bytes | None = None
    # The public halves of earlier signing keys, so that proofs signed before a change of key
    # still verify (newest first).
    previous_public_keys: tuple[bytes, ...] = ()


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
    retention: RetentionConfig = RetentionConfig()
    backup: BackupConfig = BackupConfig()
    proof: ProofConfig = ProofConfig()


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
            name=reader.get("site.name", str, _one_line_name),
            base_url=reader.get("site.base_url", str, _non_empty).rstrip("/"),
            secret_key=reader.get("site.secret_key", str, _long_secret),
            timezone=timezone,
            onion_address=reader.optional("site.onion_address", str, "", _onion_address) or None,
            emergency_number=reader.optional(
                "site.emergency_number", str, "112", _emergency_number
            ),
            **_languages(reader),
        ),
        security=_security(reader, profile),
        database=DatabaseConfig(url=reader.get("database.url", str, _non_empty)),
        storage=StorageConfig(
            attachments_dir=attachments if attachments.is_absolute() else base / attachments,
            max_upload_mb=reader.get("storage.max_upload_mb", int, _positive),
            clean_in_memory_mb=reader.optional("storage.clean_in_memory_mb", int, 32, _positive),
            case_quota_mb=reader.optional("storage.case_quota_mb", int, 1024, _positive),
            backend=reader.optional("storage.backend", str, "folder", _one_of(STORAGE_BACKENDS)),
        ),
        ratelimit=_ratelimit(reader),
        intake=_intake(reader),
        clock=_clock(reader),
        retention=RetentionConfig(
            default_days=reader.optional("retention.default_days", int, 1825, _positive),
            remind_days=reader.optional("retention.remind_days", int, 30, _not_negative),
        ),
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
        backup=BackupConfig(
            public_key=reader.optional("backup.public_key", str, "", _backup_key) or None
        ),
        proof=ProofConfig(
            signing_key=reader.optional("proof.signing_key", str, "", _proof_signing_key) or None,
            previous_public_keys=tuple(
                _proof_public_key(f"proof.previous_public_keys[{index}]", value)
                for index, value in enumerate(
                    reader.optional("proof.previous_public_keys", list, [])
                )
            ),
        ),
    )


SMTP_SECURITY = ("none", "starttls", "tls")


def _languages(reader: _Reader) -> dict[str, Any]:
    from portal.i18n import CODES

    languages = reader.optional("site.languages", list, list(CODES))
    if (
        not languages
        or any(code not in CODES for code in languages)
        or len(set(languages)) != len(languages)
    ):
        raise ConfigError(f"site.languages: each must be one of {', '.join(CODES)}, named once")
    default = reader.optional("site.default_language", str, languages[0])
    if default not in languages:
        raise ConfigError("site.default_language: must be one of site.languages")
    return {"languages": tuple(languages), "default_language": default}


DEFAULT_ARGON2_QUEUE_SECONDS = 2.0
# Each waiting request holds a server thread; a few per slot absorb a burst without a pile-up.
WAITING_PER_SLOT = 4
DEFAULT_CHECK_FREE_FAILURES = 5
DEFAULT_CHECK_FIRST_DELAY_MINUTES = 1
DEFAULT_CHECK_MAX_DELAY_MINUTES = 60


def default_argon2_concurrency() -> int:
    """Argon2id runs at once in one process when the configuration says 0: one per CPU but one,
    so that a flood that keeps every slot busy still leaves a CPU to serve pages (and to refuse
    the flood quickly); one on a single CPU."""
    return max(1, (os.cpu_count() or 1) - 1)


def _security(reader: _Reader, profile: str) -> SecurityConfig:
    concurrency = reader.optional("security.argon2_concurrency", int, 0, _not_negative)
    if concurrency == 0:
        concurrency = default_argon2_concurrency()
    queue_max = reader.optional(
        "security.argon2_queue_max", int, WAITING_PER_SLOT * concurrency, _not_negative
    )
    return SecurityConfig(
        receipt_pepper=reader.get("security.receipt_pepper", str, _hex_secret_bytes),
        integrity_key=reader.get("security.integrity_key", str, _hex_key),
        argon2_profile=profile,
        session_idle_minutes=reader.get("security.session_idle_minutes", int, _positive),
        argon2_concurrency=concurrency,
        argon2_queue_seconds=_seconds(
            "security.argon2_queue_seconds",
            reader.optional(
                "security.argon2_queue_seconds", (int, float), DEFAULT_ARGON2_QUEUE_SECONDS
            ),
        ),
        argon2_queue_max=queue_max,
    )


def _ratelimit(reader: _Reader) -> RateLimitConfig:
    first = reader.optional(
        "ratelimit.check_first_delay_minutes", int, DEFAULT_CHECK_FIRST_DELAY_MINUTES, _positive
    )
    longest = reader.optional(
        "ratelimit.check_max_delay_minutes", int, DEFAULT_CHECK_MAX_DELAY_MINUTES, _positive
    )
    if longest < first:
        raise ConfigError(
            "ratelimit.check_max_delay_minutes: must not be less than check_first_delay_minutes"
        )
    return RateLimitConfig(
        storage_url=reader.get("ratelimit.storage_url", str, _non_empty),
        check_free_failures=reader.optional(
            "ratelimit.check_free_failures", int, DEFAULT_CHECK_FREE_FAILURES, _not_negative
        ),
        check_first_delay_minutes=first,
        check_max_delay_minutes=longest,
        upload_site=reader.optional("ratelimit.upload_site", str, "600 per hour", _rate),
        upload_mb_site=reader.optional("ratelimit.upload_mb_site", str, "4096 per hour", _rate),
        message_per_case=reader.optional("ratelimit.message_per_case", str, "30 per hour", _rate),
        staff_sign_in_site=reader.optional(
            "ratelimit.staff_sign_in_site", str, "50 per 15 minutes", _rate
        ),
    )


def _seconds(key: str, value: float) -> float:
    # A long wait only turns a flood into a pile-up of waiting threads; a minute is already absurd.
    if not 0 <= value <= 60:
        raise ConfigError(f"{key}: must be between 0 and 60 seconds")
    return float(value)


def _not_negative(key: str, value: int) -> int:
    if value < 0:
        raise ConfigError(f"{key}: must not be negative")
    return value


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


def _one_line_name(key: str, value: str) -> str:
    # The site name heads every notification's subject, so it is a mail header too.
    return _header_safe(key, _non_empty(key, value))


def _header_safe(key: str, value: str) -> str:
    # Whatever reaches a mail header may not carry a line break (header injection).
    if "\r" in value or "\n" in value:
        raise ConfigError(f"{key}: must be on one line")
    return value


KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_GROUP_KEY = 32
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
    groups = _groups(reader)
    for name, keys in (
        ("categories", [c.key for c in categories]),
        ("questions", [q.key for q in questions]),
        ("groups", [g.key for g in groups]),
    ):
        if len(set(keys)) != len(keys):
            raise ConfigError(f"intake.{name}: keys must be unique")
    return IntakeConfig(
        categories=tuple(categories), questions=tuple(questions), groups=tuple(groups)
    )


def intake_from_mapping(raw: Mapping[str, Any]) -> IntakeConfig:
    """Validate an ``[intake]`` table by the loader's own rules (for settings saved by admins)."""
    return _intake(_Reader({"intake": raw}))


def check_site_name(value: str) -> str:
    """The loader's rule for ``site.name``; raises :class:`ConfigError`."""
    return str(_one_line_name("site.name", value))


def _groups(reader: _Reader) -> list[ReporterGroup]:
    raw = reader.optional("intake.groups", list, None)
    if raw is None:
        return list(DEFAULT_GROUPS)
    groups = []
    for index, item in enumerate(raw):
        where = f"intake.groups[{index}]"
        key = _table_str(item, where, "key")
        # At most 32 characters: the key is stored on the case (cases.reporter_group).
        if not KEY_PATTERN.fullmatch(key) or len(key) > MAX_GROUP_KEY:
            raise ConfigError(
                f"{where}.key: use up to {MAX_GROUP_KEY} lower-case letters, digits and underscores"
            )
        groups.append(ReporterGroup(key=key, label=_table_str(item, where, "label")))
    return groups


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

    def optional(
        self,
        dotted: str,
        kind: type[T] | tuple[type, ...],
        default: T,
        check: Callable[[str, Any], Any] | None = None,
    ) -> Any:
        """Like ``get``, but a missing key (or table) gives ``default``."""
        section, key = dotted.split(".")
        table = self._raw.get(section)
        if not isinstance(table, Mapping) or key not in table:
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or isinstance(value, bool):
            names = " or ".join(k.__name__ for k in kinds)
            raise ConfigError(f"{dotted}: must be of type {names}")
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


def _backup_key(key: str, value: str) -> bytes:
    if not value:
        return b""
    try:
        public = bytes.fromhex(value)
    except ValueError:
        public = b""
    if len(public) != MIN_SECRET_BYTES:
        raise ConfigError(
            f"{key}: must be the 64 hex digits that `candor backup keygen` prints, or empty"
        )
    return public


def _proof_signing_key(key: str, value: str) -> bytes:
    if not value:
        return b""
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = b""
    if len(secret) != MIN_SECRET_BYTES:
        raise ConfigError(f"{key}: must be 64 hex digits (an Ed25519 private key), or empty")
    return secret


def _proof_public_key(key: str, value: object) -> bytes:
    public = b""
    if isinstance(value, str):
        try:
            public = bytes.fromhex(value)
        except ValueError:
            public = b""
    if len(public) != MIN_SECRET_BYTES:
        raise ConfigError(
            f"{key}: must be 64 hex digits (a public key that `proof public-key` printed)"
        )
    return public


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


EMERGENCY_NUMBER = re.compile(r"\+?[0-9][0-9 -]{0,19}")


def _emergency_number(key: str, value: str) -> str:
    """A telephone number to show reporters: digits, spaces and dashes, an optional leading +."""
    number = value.strip()
    if not EMERGENCY_NUMBER.fullmatch(number):
        raise ConfigError(f'{key}: must be a telephone number such as "112" or "+1 911"')
    return number


ONION_V3 = re.compile(r"(?P<scheme>https?)://(?P<host>[a-z2-7]{56})\.onion(?P<port>:[0-9]{1,5})?")
ONION_V3_VERSION = 3


def _onion_address(key: str, value: str) -> str:
    """A v3 onion service URL (scheme and host, no path), or "" for none.

    Browsers follow Onion-Location to this address, so a typo would send reporters to a site
    that someone else could own: the format and the version byte are checked here.
    """
    address = value.strip().rstrip("/")
    if not address:
        return ""
    found = ONION_V3.fullmatch(address)
    if found is None:
        raise ConfigError(
            f"{key}: must be a v3 onion address such as http://<56 letters and digits>.onion "
            '(no path), or "" for none'
        )
    try:
        # 32 bytes of public key, 2 of checksum, then the version.
        decoded = base64.b32decode(found["host"].upper())
    except binascii.Error:
        raise ConfigError(f"{key}: the onion address is not valid base32") from None
    if decoded[-1] != ONION_V3_VERSION:
        raise ConfigError(f"{key}: not a version 3 onion address; check it for typos")
    return address
