"""`candor backup` and `candor restore`: a site backed up while running, destroyed and restored
carries on where it was, for the reporter and the handler; a wrong key or a tampered backup
changes nothing."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.engine import make_url

import crypto
from portal import backup_config, create_app, migrate
from portal.backup import BackupError, _pg_dump
from portal.config import BackupConfig, Config, ConfigError, config_from_mapping
from portal.db import make_engine
from portal.models import Attachment, Case, CaseStatus, Message
from portal.timeutil import utcnow
from tests.conftest import make_config, require_postgres
from tests.factories import file_bytes, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, intake_fields, receipt_of

PROOF = b"%PDF-1.4 the second ledger, page 3"
FIRST_REPLY = "We have received your report and opened an inquiry."
SECOND_REPLY = "Thank you; the depot logs confirm it."
FOLLOW_UP = "The ledger is in the blue folder."


@dataclass
class Site:
    app: Flask
    config: Config
    private_key_file: Path
    tmp: Path

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.extensions["candor.engine"]
        return engine

    def cli(self, *args: str) -> tuple[int, str]:
        result = self.app.test_cli_runner().invoke(args=["candor", *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def count(self, model: type[Case] | type[Message]) -> int:
        with self.app.extensions["candor.sessionmaker"]() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _postgres_database(tmp_path: Path) -> Iterator[str]:
    base = make_url(require_postgres())
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are missing: install postgresql-client to run this test")
    name = f"candor_backup_{secrets.token_hex(4)}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "site" / "candor.sqlite3"
        path.parent.mkdir()
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    yield from _postgres_database(tmp_path)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    key_file = tmp_path / "backup-private.key"
    config = make_config(database_url, tmp_path / "site")
    app = create_app(config)
    public = _keygen(app, key_file)
    config = replace(config, backup=BackupConfig(public_key=bytes.fromhex(public)))
    app = create_app(config)
    app.config["TESTING"] = True
    migrate.upgrade(app.extensions["candor.engine"])
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True)
    yield Site(app, config, key_file, tmp_path)
    app.extensions["candor.engine"].dispose()


def _keygen(app: Flask, key_file: Path) -> str:
    result = app.test_cli_runner().invoke(args=["candor", "backup", "keygen", str(key_file)])
    assert result.exit_code == 0, result.output
    found = re.search(r'public_key = "([0-9a-f]{64})"', result.output)
    assert found
    return found.group(1)


def staff_client(site: Site, user_name: str, level: int = 1) -> FlaskClient:
    client = site.app.test_client()
    with site.app.extensions["candor.sessionmaker"]() as session:
        sign_in_as(client, session, make_handler(session, user_name, level=level))
    return client


def case_url(site: Site) -> str:
    with site.app.extensions["candor.sessionmaker"]() as session:
        return f"/staff/cases/{session.scalars(select(Case.uid)).one()}"


def reply(handler: FlaskClient, url: str, body: str) -> None:
    page = handler.get(url).get_data(as_text=True)
    sent = handler.post(
        url + "/messages", data={"csrf_token": csrf_of(page), "kind": "reply", "body": body}
    )
    assert sent.status_code == 302


def reporter_case(site: Site, code: str, passphrase: str) -> tuple[FlaskClient, str]:
    reporter = site.app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    response = reporter.get("/case")
    assert response.status_code == 200
    return reporter, response.get_data(as_text=True)


def has_no_case_table(site: Site) -> bool:
    with site.engine.connect() as connection:
        return not connection.exec_driver_sql(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'cases'"
            if site.engine.dialect.name == "postgresql"
            else "SELECT 1 FROM sqlite_master WHERE name = 'cases'"
        ).first()


def attachment_link(page: str) -> str:
    link = re.search(r'href="(/staff/cases/[0-9a-f]+/attachments/[0-9a-f]+)">proof.pdf', page)
    assert link
    return link.group(1)


def open_a_case(site: Site) -> tuple[str, str, FlaskClient]:
    """A report with an attachment, and a handler's reply the reporter has read."""
    handler = staff_client(site, "hanna")
    filer = site.app.test_client()
    response = filer.post(
        "/report",
        data=intake_fields(filer, attachments=[file_bytes("proof.pdf", PROOF)]),
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    code, passphrase = receipt_of(response.get_data(as_text=True))
    reply(handler, case_url(site), FIRST_REPLY)
    assert FIRST_REPLY in reporter_case(site, code, passphrase)[1]
    return code, passphrase, handler


def destroy(site: Site) -> None:
    site.engine.dispose()
    url = site.engine.url
    if url.get_backend_name() == "sqlite":
        assert url.database
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    else:
        with site.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        site.engine.dispose()
    shutil.rmtree(site.config.storage.attachments_dir)


def test_a_destroyed_site_restored_carries_on_where_it_was(site: Site) -> None:
    code, passphrase, handler = open_a_case(site)
    backup = site.tmp / "candor.backup"
    status, output = site.cli("backup", str(backup))
    assert status == 0, output
    assert "1 attachment files" in output
    raw = backup.read_bytes()
    assert raw.startswith(b"CNDRBKUP") and PROOF not in raw and FIRST_REPLY.encode() not in raw
    assert b"SQLite format" not in raw and b"PGDMP" not in raw

    destroy(site)
    assert not site.config.storage.attachments_dir.exists()
    assert has_no_case_table(site)
    status, output = site.cli("restore", str(backup), "--private-key", str(site.private_key_file))
    assert status == 0, output
    assert "1 attachment files" in output

    # The reporter signs in with the same receipt code and passphrase, reads the reply, answers.
    reporter, page = reporter_case(site, code, passphrase)
    assert FIRST_REPLY in page
    sent = reporter.post("/case/messages", data={"csrf_token": csrf_of(page), "body": FOLLOW_UP})
    assert sent.status_code in (200, 302)
    # The handler's session survived in the database: the same browser carries on.
    url = case_url(site)
    case_page = handler.get(url)
    assert case_page.status_code == 200
    assert FOLLOW_UP in case_page.get_data(as_text=True)
    download = handler.get(attachment_link(case_page.get_data(as_text=True)))
    assert download.status_code == 200 and download.data == PROOF
    reply(handler, url, SECOND_REPLY)
    assert SECOND_REPLY in reporter_case(site, code, passphrase)[1]
    assert site.count(Message) == 3


def test_a_restore_refuses_to_overwrite_a_site_without_replace(site: Site) -> None:
    open_a_case(site)
    backup = site.tmp / "candor.backup"
    assert site.cli("backup", str(backup))[0] == 0
    status, output = site.cli("restore", str(backup), "--private-key", str(site.private_key_file))
    assert status != 0 and "this site is not empty" in output and "--replace" in output
    # With --replace, a case filed after the backup is gone: the site is the backup's again.
    filer = site.app.test_client()
    filer.post("/report", data=intake_fields(filer), follow_redirects=True)
    assert site.count(Case) == 2
    status, output = site.cli(
        "restore", str(backup), "--private-key", str(site.private_key_file), "--replace"
    )
    assert status == 0, output
    assert site.count(Case) == 1


def test_the_wrong_key_and_a_tampered_backup_change_nothing(site: Site) -> None:
    open_a_case(site)
    backup = site.tmp / "candor.backup"
    assert site.cli("backup", str(backup))[0] == 0
    filer = site.app.test_client()
    filer.post("/report", data=intake_fields(filer), follow_redirects=True)
    folder = site.config.storage.attachments_dir
    files_before = sorted(p.name for p in folder.iterdir())

    other = site.tmp / "other.key"
    other.write_text(crypto.generate_keypair().private_key.hex() + "\n")
    status, output = site.cli("restore", str(backup), "--private-key", str(other), "--replace")
    assert status != 0 and "made for another backup key" in output

    data = bytearray(backup.read_bytes())
    tampered = site.tmp / "tampered.backup"
    # A byte late in the file: everything before it verifies, and still nothing is applied.
    data[-100] ^= 0x01
    tampered.write_bytes(bytes(data))
    key = str(site.private_key_file)
    status, output = site.cli("restore", str(tampered), "--private-key", key, "--replace")
    assert (
        status != 0 and "damaged or has been altered" in output and "nothing was restored" in output
    )
    cut = site.tmp / "cut.backup"
    cut.write_bytes(backup.read_bytes()[:-20])
    status, output = site.cli("restore", str(cut), "--private-key", key, "--replace")
    assert status != 0 and "nothing was restored" in output

    assert site.count(Case) == 2
    assert sorted(p.name for p in folder.iterdir()) == files_before
    leftovers = [p.name for p in folder.parent.iterdir() if p.name.startswith(".candor-restore")]
    assert leftovers == []


def test_keygen_writes_a_private_file_and_backup_needs_the_key(site: Site, tmp_path: Path) -> None:
    mode = stat.S_IMODE(os.stat(site.private_key_file).st_mode)
    assert mode == 0o600
    assert len(bytes.fromhex(site.private_key_file.read_text().strip())) == 32
    again = site.app.test_cli_runner().invoke(
        args=["candor", "backup", "keygen", str(site.private_key_file)]
    )
    assert again.exit_code != 0 and "exists" in again.output
    bare = create_app(replace(site.config, backup=BackupConfig()))
    result = bare.test_cli_runner().invoke(args=["candor", "backup", str(tmp_path / "b")])
    assert result.exit_code != 0 and "[backup] public_key" in result.output
    assert not (tmp_path / "b").exists()
    bare.extensions["candor.engine"].dispose()


def test_a_backup_taken_while_reports_arrive_is_consistent(site: Site) -> None:
    handler = open_a_case(site)[2]
    stop = threading.Event()
    filed: list[int] = []

    def keep_filing() -> None:
        client = site.app.test_client()
        while not stop.is_set():
            response = client.post(
                "/report",
                data=intake_fields(client, attachments=[file_bytes("more.pdf", PROOF)]),
                content_type="multipart/form-data",
            )
            filed.append(response.status_code)

    writer = threading.Thread(target=keep_filing)
    writer.start()
    try:
        while not filed:
            time.sleep(0.01)
        backup = site.tmp / "busy.backup"
        status, output = site.cli("backup", str(backup))
    finally:
        stop.set()
        writer.join()
    assert status == 0, output
    assert filed and set(filed) == {303}
    destroy(site)
    key = str(site.private_key_file)
    assert site.cli("restore", str(backup), "--private-key", key)[0] == 0
    # Every attachment the restored database names is in the restored folder, and opens.
    folder = site.config.storage.attachments_dir
    with site.app.extensions["candor.sessionmaker"]() as session:
        uids = list(session.scalars(select(Attachment.uid)))
    assert uids and all((folder / uid).is_file() for uid in uids)
    with site.app.extensions["candor.sessionmaker"]() as session:
        first = session.scalars(select(Case.uid).order_by(Case.id)).first()
    page = handler.get(f"/staff/cases/{first}").get_data(as_text=True)
    assert handler.get(attachment_link(page)).data == PROOF


def test_without_the_postgresql_client_tools_the_message_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match=r"pg_dump is missing: .*postgresql-client"):
        _pg_dump(make_url("postgresql+psycopg://candor@127.0.0.1/candor"), tmp_path / "dump")


@pytest.mark.parametrize("value", ["abc", "00" * 31, "zz" * 32])
def test_a_malformed_backup_key_stops_start_up(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"backup\.public_key"):
        config_from_mapping({**_raw_config(tmp_path), "backup": {"public_key": value}})


def _raw_config(tmp_path: Path) -> dict[str, object]:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    raw = tomllib.loads(example.read_text())
    raw["storage"]["attachments_dir"] = str(tmp_path)
    return raw


def test_the_configuration_travels_in_the_backup_and_comes_out_with_the_key_alone(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file = site.tmp / "candor.toml"
    secret = f'receipt_pepper = "{secrets.token_hex(32)}"'
    config_file.write_text(f"[security]\n{secret}\n")
    monkeypatch.setenv("CANDOR_CONFIG", str(config_file))
    open_a_case(site)
    backup = site.tmp / "candor.backup"
    status, output = site.cli("backup", str(backup))
    assert status == 0, output
    assert f"The configuration file {config_file} is in the backup too." in output
    assert secret.encode() not in backup.read_bytes()

    # The machine is gone with its configuration: the backup and the private key bring it back.
    out = site.tmp / "rebuilt" / "candor.toml"
    key = str(site.private_key_file)
    assert backup_config.main([str(backup), "--private-key", key, "--out", str(out)]) == 0
    assert out.read_text() == config_file.read_text()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    # Never over an existing file; never from a backup that does not verify.
    assert backup_config.main([str(backup), "--private-key", key, "--out", str(out)]) == 1
    tampered = site.tmp / "tampered.backup"
    data = bytearray(backup.read_bytes())
    data[-100] ^= 0x01
    tampered.write_bytes(bytes(data))
    elsewhere = site.tmp / "elsewhere.toml"
    assert backup_config.main([str(tampered), "--private-key", key, "--out", str(elsewhere)]) == 1
    assert not elsewhere.exists()
    assert [p for p in elsewhere.parent.iterdir() if p.name.startswith(".candor-config")] == []
    # The restore itself is unchanged by the extra member.
    status, output = site.cli("restore", str(backup), "--private-key", key, "--replace")
    assert status == 0, output


def test_a_backup_without_a_configuration_file_says_so(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CANDOR_CONFIG", raising=False)
    backup = site.tmp / "candor.backup"
    status, output = site.cli("backup", str(backup))
    assert status == 0 and "No configuration file is in the backup" in output
    out = site.tmp / "candor.toml"
    key = str(site.private_key_file)
    assert backup_config.main([str(backup), "--private-key", key, "--out", str(out)]) == 1
    assert not out.exists()


def test_a_restore_applies_retention_before_anyone_can_open_a_case_whose_time_ran_out(
    site: Site,
) -> None:
    code, passphrase, _handler = open_a_case(site)
    # The case was closed long ago: its time ran out while the backup lay on a shelf.
    long_ago = utcnow() - timedelta(days=site.config.retention.default_days + 1)
    with site.app.extensions["candor.sessionmaker"]() as session:
        session.execute(update(Case).values(status=CaseStatus.CLOSED, closed_at=long_ago))
        session.commit()
    backup = site.tmp / "candor.backup"
    assert site.cli("backup", str(backup))[0] == 0
    destroy(site)
    status, output = site.cli("restore", str(backup), "--private-key", str(site.private_key_file))
    assert status == 0, output
    assert "cases deleted by retention: 1" in output
    with site.app.extensions["candor.sessionmaker"]() as session:
        case = session.scalars(select(Case)).one()
        assert case.deleted_at is not None and case.sealed_report == b""
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    # The reporter's receipt code opens nothing, and no file is left.
    reporter = site.app.test_client()
    check = reporter.get("/check").get_data(as_text=True)
    refused = reporter.post(
        "/check",
        data={"csrf_token": csrf_of(check), "receipt_code": code, "passphrase": passphrase},
    )
    assert refused.status_code == 400
    assert reporter.get("/case").status_code != 200
    assert list(site.config.storage.attachments_dir.iterdir()) == []
