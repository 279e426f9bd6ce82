"""Two web instances behind nginx, on one PostgreSQL and one Redis, with two clock workers.

The shipped parts (gunicorn.conf.py, deploy/nginx.conf, storage.backend = "database") are run as
a deployment would run them. A reporter files with an attachment and checks back; a handler signs
in with a one-time code, opens the case, downloads the file and replies; requests alternate
between the instances (nginx's round robin), and one instance is killed half way. Then nothing is
lost and nothing happened twice: one case, one reply, the file's bytes intact, each clock action
once.

Needs nginx (the Debian package; `make test` installs it when run as root), PostgreSQL
(CANDOR_TEST_DATABASE_URL) and Redis on 127.0.0.1:6379; skipped with the reason otherwise.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from portal import PROJECT_ROOT, migrate
from portal.db import make_session_factory
from portal.models import Attachment, AttachmentChunk, AuditEntry, Case, Deadline, Message
from portal.models.cases import AuthorKind
from portal.setup_config import write_local_config
from portal.timeutil import utcnow
from tests.conftest import POSTGRES_URL, drop_postgres_schema, postgres_schema_engine
from tests.factories import PASSWORD, make_handler, totp_code

NGINX_CONF = PROJECT_ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
REDIS = ("127.0.0.1", 6379)
STARTUP_SECONDS = 30
REPORT_TEXT = "The night shift signs the forklift checks without doing them."
REPLY = "Thank you. Which forklifts, and since when?"
# Larger than one row of the database store, and not a whole number of rows.
EVIDENCE = secrets.token_bytes(200_000)


def _nginx() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        pytest.skip("nginx is not installed (Debian package; `make test` installs it as root)")
    return found


def _require_redis() -> None:
    try:
        with socket.create_connection(REDIS, timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                pytest.skip("Redis on 127.0.0.1:6379 does not answer PING")
    except OSError:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Browser:
    """A cookie-keeping HTTP client: the same requests a browser without JavaScript sends."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    upstreams: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "") -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "expires=Thu, 01 Jan 1970" in value or not val:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        headers_out = {k.lower(): v for k, v in response.getheaders()}
        self.upstreams.append(headers_out.get("x-test-upstream", ""))
        return Answer(response.status, headers_out, data)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str]) -> Answer:
        return self.request(
            "POST", path, urlencode(fields).encode(), "application/x-www-form-urlencoded"
        )

    def post_files(
        self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]]
    ) -> Answer:
        boundary = secrets.token_hex(16)
        parts: list[bytes] = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, data) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                + data
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST", path, b"".join(parts), f"multipart/form-data; boundary={boundary}"
        )


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]+)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


@dataclass
class Site:
    url_port: int
    instances: dict[str, subprocess.Popen[bytes]]
    ports: dict[str, int]
    workers: list[subprocess.Popen[bytes]]
    engine: Engine
    sessions: sessionmaker[Session]
    logs: Path


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(  # noqa: S603  # our own interpreter and arguments
        args,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        # Its own process group, so that killing an instance kills its workers with it.
        start_new_session=True,
    )


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"a process ended at start:\n{log.read_text(errors='replace')}")
        try:
            if Browser(port).get("/check").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"nothing answered on {port}:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    nginx = _nginx()
    if not POSTGRES_URL:
        pytest.skip(
            "needs PostgreSQL: set CANDOR_TEST_DATABASE_URL (e.g. postgresql+psycopg://...)"
        )
    _require_redis()
    schema = f"candor_two_{secrets.token_hex(4)}"
    engine = postgres_schema_engine(POSTGRES_URL, schema)
    migrate.upgrade(engine)
    logs = tmp_path / "logs"
    logs.mkdir()
    proxy_port, ports = free_port(), {"a": free_port(), "b": free_port()}

    config = tmp_path / "instance" / "candor.toml"
    assert write_local_config(config)
    text = config.read_text()
    for key, value in {
        "url": engine.url.render_as_string(hide_password=False),
        "argon2_profile": "test",
        "storage_url": "redis://127.0.0.1:6379/0",
        "backend": "database",
        "interval_seconds": 1,
        "base_url": f"http://127.0.0.1:{proxy_port}",
        "staff_sign_in_site": "1000 per 15 minutes",
    }.items():
        literal = f'"{value}"' if isinstance(value, str) else str(value)
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {literal}", text, count=1)
        assert count == 1, key
    # Two machines: each instance has a folder of its own, so only the shared store can work.
    configs = {}
    for name in ports:
        configs[name] = tmp_path / f"candor-{name}.toml"
        configs[name].write_text(
            re.sub(
                r"(?m)^attachments_dir = .*$",
                f'attachments_dir = "{tmp_path / ("attachments-" + name)}"',
                text,
            )
        )
    integrity_key = bytes.fromhex(tomllib.loads(text)["security"]["integrity_key"])
    sessions = make_session_factory(engine, integrity_key=integrity_key)

    # The shipped nginx file, with the addresses this test picked; the test's own wrapper adds
    # only what a process outside /etc needs, and a header naming the instance that answered.
    shipped = NGINX_CONF.read_text()
    shipped = shipped.replace("127.0.0.1:8081", f"127.0.0.1:{ports['a']}")
    shipped = shipped.replace("127.0.0.1:8082", f"127.0.0.1:{ports['b']}")
    shipped = shipped.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{proxy_port};")
    (tmp_path / "candor.conf").write_text(shipped)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"""
daemon off;
pid {tmp_path / "nginx.pid"};
error_log stderr crit;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    add_header X-Test-Upstream $upstream_addr always;
    include {tmp_path / "candor.conf"};
}}
"""
    )
    env = {**os.environ, "CANDOR_CONFIG": str(configs["a"]), "PYTHONUNBUFFERED": "1"}
    instances: dict[str, subprocess.Popen[bytes]] = {}
    workers: list[subprocess.Popen[bytes]] = []
    proxy: subprocess.Popen[bytes] | None = None
    try:
        for name, port in ports.items():
            instances[name] = _start(
                [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "wsgi:app"],
                {**env, "CANDOR_CONFIG": str(configs[name]), "CANDOR_BIND": f"127.0.0.1:{port}"},
                logs / f"web-{name}.log",
            )
        for number in (1, 2):
            workers.append(
                _start(
                    [sys.executable, "-m", "flask", "--app", "wsgi", "candor", "clock", "run"],
                    env,
                    logs / f"clock-{number}.log",
                )
            )
        proxy = _start(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            env,
            logs / "nginx.log",
        )
        for name, port in ports.items():
            _wait_for(port, instances[name], logs / f"web-{name}.log")
        _wait_for(proxy_port, proxy, logs / "nginx.log")
        yield Site(proxy_port, instances, ports, workers, engine, sessions, logs)
    finally:
        for process in [*instances.values(), *workers, *([proxy] if proxy else [])]:
            _stop(process)
        engine.dispose()
        drop_postgres_schema(POSTGRES_URL, schema)


def _db(site: Site) -> Session:
    return site.sessions()


def _make_the_acknowledgement_overdue(site: Site) -> None:
    """As if the days had passed: the clock workers act on their next pass."""
    past = utcnow() - timedelta(minutes=1)
    with _db(site) as db:
        db.execute(
            update(Deadline)
            .where(Deadline.clock == "acknowledge")
            .values(due_at=past, next_action_at=past)
        )
        db.commit()


def _wait_for_the_clock(site: Site) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with _db(site) as db:
            done = db.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "deadline_breached")
            )
            due = db.scalar(
                select(func.count())
                .select_from(Deadline)
                .where(Deadline.next_action_at <= utcnow())
            )
        if done and not due:
            # One more pass of each worker, which must find nothing left to do.
            time.sleep(2.5)
            return
        time.sleep(0.3)
    pytest.fail("the clock workers did not act:\n" + _logs(site))


def _logs(site: Site) -> str:
    return "\n".join(
        f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in site.logs.iterdir()
    )


def test_two_instances_lose_nothing_and_do_nothing_twice(site: Site) -> None:
    started = time.monotonic()
    with _db(site) as db:
        hanna = make_handler(db, f"hanna{secrets.token_hex(3)}", level=2)

    # The reporter files a report with a file, through the proxy.
    reporter = Browser(site.url_port)
    form = reporter.get("/report").text
    filed = reporter.post_files(
        "/report",
        {
            "csrf_token": hidden(form, "csrf_token"),
            "form_token": hidden(form, "form_token"),
            "category": "safety",
            "tier": "2",
            "anonymity": "anonymous",
            "q_what_happened": REPORT_TEXT,
            "website": "",
        },
        {"attachments": ("checklist.bin", EVIDENCE)},
    )
    assert filed.status == 303, filed.text
    receipt = reporter.get(filed.headers["location"]).text
    code = re.search(r'id="receipt-code">([^<]+)<', receipt)
    phrase = re.search(r'id="passphrase">([^<]+)<', receipt)
    assert code and phrase
    saved = reporter.post(
        "/report/receipt",
        {
            "csrf_token": hidden(receipt, "csrf_token"),
            "form_token": hidden(receipt, "form_token"),
            "action": "saved",
            "saved": "y",
        },
    )
    assert saved.status == 302, saved.text

    _make_the_acknowledgement_overdue(site)
    _wait_for_the_clock(site)

    # Both instances have served: nginx alternates.
    served = {u for u in reporter.upstreams if u}
    assert len(served) == 2, reporter.upstreams

    # One instance dies without warning, in the middle of the day.
    killed = site.instances["a"]
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()

    # The handler signs in with a one-time code, opens the case, downloads the file, replies.
    handler = Browser(site.url_port)
    sign_in = handler.get("/staff/sign-in").text
    signed = handler.post(
        "/staff/sign-in",
        {
            "csrf_token": hidden(sign_in, "csrf_token"),
            "username": hanna.username,
            "password": PASSWORD,
            "code": totp_code(hanna),
        },
    )
    assert signed.status in (302, 303), signed.text
    assert handler.get("/staff/inbox?level=2").status == 200
    with _db(site) as db:
        case_uid = db.scalars(select(Case.uid)).one()
    case_page = handler.get(f"/staff/cases/{case_uid}").text
    assert REPORT_TEXT in case_page
    link = re.search(r'href="(/staff/cases/\w+/attachments/[0-9a-f]+)">checklist.bin', case_page)
    assert link, case_page
    download = handler.get(link.group(1))
    assert download.status == 200 and download.body == EVIDENCE
    replied = handler.post(
        f"/staff/cases/{case_uid}/messages",
        {"csrf_token": hidden(case_page, "csrf_token"), "kind": "acknowledge", "body": REPLY},
    )
    assert replied.status == 302, replied.text

    # The reporter checks back, reads the reply and gets the file back as sent.
    check = reporter.get("/check").text
    checked = reporter.post(
        "/check",
        {
            "csrf_token": hidden(check, "csrf_token"),
            "receipt_code": code.group(1),
            "passphrase": phrase.group(1),
        },
    )
    assert checked.status == 302, checked.text
    page = reporter.get("/case").text
    assert REPLY in page
    assert page.count("passed to someone more senior") == 1
    own = re.search(r'href="(/case/attachments/[0-9a-f]+)">checklist.bin', page)
    assert own
    assert reporter.get(own.group(1)).body == EVIDENCE

    # After the kill every answer came from the instance left (nginx may first try the dead one:
    # "a, b" names both, the last one answered).
    alive = f"127.0.0.1:{site.ports['b']}"
    assert {u.rsplit(" ", 1)[-1] for u in handler.upstreams} == {alive}, handler.upstreams

    with _db(site) as db:
        assert db.scalar(select(func.count()).select_from(Case)) == 1
        handler_messages = db.scalar(
            select(func.count())
            .select_from(Message)
            .where(Message.author_kind == AuthorKind.HANDLER)
        )
        assert handler_messages == 1
        assert db.scalar(select(func.count()).select_from(Attachment)) == 1
        # The file is in the shared table, committed, and in neither instance's folder.
        uid = db.scalars(select(Attachment.uid)).one()
        pending = db.scalars(
            select(AttachmentChunk.pending).where(AttachmentChunk.uid == uid)
        ).all()
        assert pending and not any(pending)
        clock_actions = db.execute(
            select(AuditEntry.action, func.count())
            .where(AuditEntry.actor_kind == "clock")
            .group_by(AuditEntry.action)
        ).all()
    assert clock_actions, "the clock did nothing"
    assert all(count == 1 for _action, count in clock_actions), clock_actions
    assert not any(p.is_file() for p in site.logs.parent.glob("attachments-*/**/*"))
    assert all(w.poll() is None for w in site.workers), _logs(site)
    assert time.monotonic() - started < 60
