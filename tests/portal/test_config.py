from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from portal.config import ConfigError, load_config
from portal.setup_config import write_local_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads_and_documents_every_key(tmp_path: Path) -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.security.argon2_profile == "production"
    example = (ROOT / "config.example.toml").read_text()
    for section in dataclasses.fields(config):
        for field in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), field.name)
            documented = (
                f"[[{section.name}.{field.name}]]"
                if isinstance(value, tuple) and not all(isinstance(v, str) for v in value)
                else f"\n{field.name} = "
            )
            assert documented in example, f"{section.name}.{field.name} is undocumented"


def test_config_is_frozen() -> None:
    config = load_config(ROOT / "config.example.toml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.site.name = "Other"  # type: ignore[misc]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def _example_without(line_start: str) -> str:
    lines = (ROOT / "config.example.toml").read_text().splitlines()
    return "\n".join(line for line in lines if not line.startswith(line_start))


@pytest.mark.parametrize(
    ("removed", "named"),
    [
        ("receipt_pepper", "security.receipt_pepper"),
        ("integrity_key", "security.integrity_key"),
        ("secret_key", "site.secret_key"),
        ("url =", "database.url"),
        ("max_upload_mb", "storage.max_upload_mb"),
    ],
)
def test_missing_key_names_it(tmp_path: Path, removed: str, named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named}: missing"):
        load_config(_write(tmp_path, _example_without(removed)))


@pytest.mark.parametrize(
    ("replace", "by", "named"),
    [
        ('argon2_profile = "production"', 'argon2_profile = "fast"', "security.argon2_profile"),
        (
            "session_idle_minutes = 30",
            'session_idle_minutes = "30"',
            "security.session_idle_minutes",
        ),
        ("session_idle_minutes = 30", "session_idle_minutes = 0", "security.session_idle_minutes"),
        ("max_upload_mb = 512", "max_upload_mb = true", "storage.max_upload_mb"),
        ('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"', "site.timezone"),
        ('receipt_pepper = "0000', 'receipt_pepper = "zz00', "security.receipt_pepper"),
        ('integrity_key = "0000', 'integrity_key = "zz00', "security.integrity_key"),
        ('integrity_key = "0000', 'integrity_key = "000000', "security.integrity_key"),
        ('emergency_number = "112"', 'emergency_number = "call 112"', "site.emergency_number"),
        ('emergency_number = "112"', 'emergency_number = ""', "site.emergency_number"),
    ],
)
def test_malformed_key_names_it(tmp_path: Path, replace: str, by: str, named: str) -> None:
    text = (ROOT / "config.example.toml").read_text()
    assert replace in text
    with pytest.raises(ConfigError, match=f"^{named}: "):
        load_config(_write(tmp_path, text.replace(replace, by)))


def test_short_pepper_refused(tmp_path: Path) -> None:
    text = _example_without("receipt_pepper") + "\n"
    text = text.replace("[security]", '[security]\nreceipt_pepper = "abcd"')
    with pytest.raises(ConfigError, match=r"security\.receipt_pepper: must be at least 32 bytes"):
        load_config(_write(tmp_path, text))


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[site\nname="))


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_environment_overrides_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANDOR_RECEIPT_PEPPER", "ab" * 32)
    monkeypatch.setenv("CANDOR_DATABASE_URL", "sqlite:///elsewhere.sqlite3")
    config = load_config(ROOT / "config.example.toml")
    assert config.security.receipt_pepper == bytes.fromhex("ab" * 32)
    assert config.database.url == "sqlite:///elsewhere.sqlite3"


def test_config_path_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANDOR_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="CANDOR_CONFIG is not set"):
        load_config()
    monkeypatch.setenv("CANDOR_CONFIG", str(ROOT / "config.example.toml"))
    assert load_config().site.name == "Example Organisation"


def test_local_config_gets_fresh_secrets_once(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "candor.toml", tmp_path / "b" / "candor.toml"
    assert write_local_config(first) and write_local_config(second)
    a, b = load_config(first), load_config(second)
    assert a.site.secret_key != b.site.secret_key
    assert a.security.receipt_pepper != b.security.receipt_pepper
    assert a.database.url == f"sqlite:///{(tmp_path / 'a' / 'candor.sqlite3').resolve()}"
    before = first.read_text()
    assert write_local_config(first) is False
    assert first.read_text() == before
    assert first.stat().st_mode & 0o077 == 0


def test_intake_comes_from_configuration() -> None:
    config = load_config(ROOT / "config.example.toml")
    assert config.intake.categories[0].key == "fraud"
    assert config.intake.questions[0].required is True
    assert config.intake.category("other") is not None
    assert config.intake.category("nope") is None


def test_intake_category_with_unknown_policy_is_named(tmp_path: Path) -> None:
    text = (
        (ROOT / "config.example.toml")
        .read_text()
        .replace('policies = ["eu-directive"]', 'policies = ["eu-directive", "whenever"]', 1)
    )
    with pytest.raises(ConfigError, match=r"^intake.categories\[0\].policies: each must be one"):
        load_config(_write(tmp_path, text))


def test_intake_category_runs_several_policies() -> None:
    config = load_config(ROOT / "config.example.toml")
    workplace = config.intake.category("workplace")
    assert workplace is not None
    assert workplace.policies == ("eu-directive", "seed-complaints")


def test_intake_category_without_a_policy_is_named(tmp_path: Path) -> None:
    text = (
        (ROOT / "config.example.toml")
        .read_text()
        .replace('policies = ["eu-directive"]', "policies = []", 1)
    )
    with pytest.raises(ConfigError, match=r"^intake.categories\[0\].policies: must not be empty"):
        load_config(_write(tmp_path, text))


def test_argon2_gate_and_check_delay_keys_have_defaults(tmp_path: Path) -> None:
    lines = [
        line
        for line in (ROOT / "config.example.toml").read_text().splitlines()
        if not line.startswith(("argon2_concurrency", "argon2_queue_", "check_"))
    ]
    config = load_config(_write(tmp_path, "\n".join(lines)))
    # One per CPU but one: a flood that fills every slot leaves a CPU for pages.
    assert config.security.argon2_concurrency == max(1, (os.cpu_count() or 1) - 1)
    assert config.security.argon2_queue_seconds == 2.0
    assert config.security.argon2_queue_max == 4 * config.security.argon2_concurrency
    assert config.ratelimit.check_free_failures == 5
    assert config.ratelimit.check_first_delay_minutes == 1
    assert config.ratelimit.check_max_delay_minutes == 60
    # The keys that held the old lockouts are simply ignored in an older file.
    old = "\n".join(lines).replace("[ratelimit]", '[ratelimit]\ncheck_site = "300 per hour"')
    assert load_config(_write(tmp_path, old)).ratelimit.check_free_failures == 5


@pytest.mark.parametrize(
    ("replace", "by", "named"),
    [
        ("argon2_concurrency = 0", "argon2_concurrency = -1", "security.argon2_concurrency"),
        ("argon2_concurrency = 0", 'argon2_concurrency = "2"', "security.argon2_concurrency"),
        ("argon2_queue_seconds = 2", "argon2_queue_seconds = 600", "security.argon2_queue_seconds"),
        ("argon2_queue_max = 8", "argon2_queue_max = -3", "security.argon2_queue_max"),
        ("check_free_failures = 5", "check_free_failures = -1", "ratelimit.check_free_failures"),
        (
            "check_max_delay_minutes = 60",
            "check_max_delay_minutes = 0",
            "ratelimit.check_max_delay_minutes",
        ),
        (
            "check_first_delay_minutes = 1",
            "check_first_delay_minutes = 90",
            "ratelimit.check_max_delay_minutes",
        ),
    ],
)
def test_malformed_gate_and_delay_keys_name_themselves(
    tmp_path: Path, replace: str, by: str, named: str
) -> None:
    text = (ROOT / "config.example.toml").read_text()
    assert replace in text
    with pytest.raises(ConfigError, match=f"^{named}: "):
        load_config(_write(tmp_path, text.replace(replace, by)))


def test_argon2_concurrency_and_queue_wait_are_read(tmp_path: Path) -> None:
    text = (ROOT / "config.example.toml").read_text()
    text = text.replace("argon2_concurrency = 0", "argon2_concurrency = 3")
    text = text.replace("argon2_queue_seconds = 2", "argon2_queue_seconds = 0.5")
    config = load_config(_write(tmp_path, text))
    assert config.security.argon2_concurrency == 3
    assert config.security.argon2_queue_seconds == 0.5
    assert config.security.argon2_queue_max == 8


def test_the_emergency_number_defaults_to_112_and_may_be_set(tmp_path: Path) -> None:
    text = (ROOT / "config.example.toml").read_text()
    without = "\n".join(line for line in text.splitlines() if "emergency_number =" not in line)
    assert load_config(_write(tmp_path, without)).site.emergency_number == "112"
    local = text.replace('emergency_number = "112"', 'emergency_number = "+1 911"')
    assert load_config(_write(tmp_path, local)).site.emergency_number == "+1 911"
