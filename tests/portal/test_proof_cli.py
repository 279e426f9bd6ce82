"""`candor proof verify FILE [--text FILE]`, `candor proof public-key`, and the signing key's
configuration."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from flask import Flask

import crypto
from portal import PROJECT_ROOT, create_app
from portal.config import Config, ConfigError, load_config
from portal.services.reporting import proof_items
from portal.setup_config import add_missing_proof_key, write_local_config
from tests.conftest import TEST_PROOF_KEY, make_config
from tests.factories import NOW

TEXT = "I saw the invoices.\nThey were changed after the audit."


class _Case:
    uid = "1a2b3c4d" + "0" * 24


def write_proof(tmp_path: Path, text: str = TEXT, key: bytes = TEST_PROOF_KEY) -> Path:
    proof = proof_items.make_proof(
        key,
        _Case(),
        "message",
        2,
        NOW,
        proof_items.canonical_text(text),  # type: ignore[arg-type]
    )
    path = tmp_path / proof.file_name
    path.write_text(proof_items.render(proof, site_name="Test", check_url="http://x/proof"))
    return path


def run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["candor", "proof", *args])
    return result.exit_code, result.output


def test_public_key_prints_the_hex_key(app: Flask) -> None:
    code, output = run(app, "public-key")
    assert code == 0
    assert output.strip() == crypto.signing_public_key(TEST_PROOF_KEY).hex()


def test_a_valid_proof_exits_zero_and_says_what_it_covers(app: Flask, tmp_path: Path) -> None:
    path = write_proof(tmp_path)
    assert path.name == "candor-proof-C-1A2B3C4D-message2.txt"
    code, output = run(app, "verify", str(path))
    assert code == 0, output
    assert "Signature: valid, by this site's current key" in output
    assert "Case reference: C-1A2B3C4D" in output
    assert "Covers: message 2" in output
    assert f"Received: {NOW.strftime('%Y-%m-%d %H:%M:%S')} UTC" in output


def test_the_original_text_is_checked(app: Flask, tmp_path: Path) -> None:
    path = write_proof(tmp_path)
    same = tmp_path / "same.txt"
    same.write_text(TEXT.replace("\n", "\r\n") + "\n")
    code, output = run(app, "verify", str(path), "--text", str(same))
    assert code == 0 and "Text: matches" in output
    other = tmp_path / "other.txt"
    other.write_text(TEXT.replace("changed", "kept"))
    code, output = run(app, "verify", str(path), "--text", str(other))
    assert code == 1 and "Text: DOES NOT MATCH" in output


@pytest.mark.parametrize(
    ("find", "replace"),
    [("Item: message 2", "Item: message 3"), ("Case reference: C-1A", "Case reference: C-1B")],
)
def test_a_tampered_proof_exits_non_zero(
    app: Flask, tmp_path: Path, find: str, replace: str
) -> None:
    path = write_proof(tmp_path)
    path.write_text(path.read_text().replace(find, replace))
    code, output = run(app, "verify", str(path))
    assert code == 1
    assert "Signature: NOT VALID" in output


def test_another_sites_proof_is_not_valid(app: Flask, tmp_path: Path) -> None:
    path = write_proof(tmp_path, key=crypto.generate_signing_key())
    code, output = run(app, "verify", str(path))
    assert code == 1 and "NOT VALID" in output


@pytest.mark.parametrize("content", [b"not a proof at all", b"\xff\xfe\x00\x01"])
def test_malformed_files_are_refused_clearly(app: Flask, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code, output = run(app, "verify", str(path))
    assert code == 1
    assert "not a proof" in output


def test_public_key_without_a_key_says_how_to_get_one(
    config: Config, database: tuple[str, object], tmp_path: Path
) -> None:
    site = create_app(make_config(config.database.url, tmp_path, proof__signing_key=""))
    site.extensions["candor.sessionmaker"] = database[1]
    code, output = run(site, "public-key")
    assert code != 0 and "[proof] signing_key" in output


def test_setup_writes_a_signing_key_and_adds_one_to_an_older_config(tmp_path: Path) -> None:
    target = tmp_path / "candor.toml"
    assert write_local_config(target)
    key = tomllib.loads(target.read_text())["proof"]["signing_key"]
    assert len(bytes.fromhex(key)) == 32
    assert add_missing_proof_key(target) is False  # already there: left alone
    old = "\n".join(
        line for line in target.read_text().splitlines() if not line.startswith("signing_key")
    )
    target.write_text(old + "\n")
    assert add_missing_proof_key(target) is True
    added = tomllib.loads(target.read_text())["proof"]["signing_key"]
    assert len(bytes.fromhex(added)) == 32 and added != key
    assert load_config(target).proof.signing_key == bytes.fromhex(added)
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_a_config_without_a_proof_table_gets_one(tmp_path: Path) -> None:
    target = tmp_path / "candor.toml"
    assert write_local_config(target)
    text = target.read_text()
    start = text.index("[proof]")
    end = text.index("\n[", start + 1)
    target.write_text(text[:start] + text[end + 1 :])
    assert "[proof]" not in target.read_text()
    assert add_missing_proof_key(target) is True
    assert load_config(target).proof.signing_key is not None


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"proof__signing_key": "zz" * 32}, "proof.signing_key"),
        ({"proof__signing_key": "ab" * 16}, "proof.signing_key"),
        ({"proof__previous_public_keys": ["ab"]}, r"proof.previous_public_keys\[0\]"),
        ({"proof__previous_public_keys": [7]}, r"proof.previous_public_keys\[0\]"),
    ],
)
def test_malformed_proof_keys_are_named(
    tmp_path: Path, overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{named}: "):
        make_config("sqlite://", tmp_path, **overrides)


def test_the_signing_key_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CANDOR_PROOF_SIGNING_KEY", "cd" * 32)
    config = load_config(PROJECT_ROOT / "config.example.toml")
    assert config.proof.signing_key == bytes.fromhex("cd" * 32)
