"""Attack: read a reporter's IP address or user agent out of the server's logs.

Whoever reads the logs, seizes the server or its backups could match a report to a person by the
address it came from. The shipped gunicorn configuration (gunicorn.conf.py) keeps no access log,
even when one is asked for, and removes addresses from gunicorn's own messages, including the
"Invalid request from ip=..." line it writes for a malformed request, together with the request
text it quotes there. Forwarded-for headers are never read. The application's own logging holds
no address or user agent either.
"""

from __future__ import annotations

import logging
import os
import runpy
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal import PROJECT_ROOT, migrate
from portal.db import make_engine
from portal.setup_config import write_local_config
from tests.factories import make_handler
from tests.portal.test_reporter_web import csrf_of, file_report

GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"
USER_AGENT = "CandorProbe/7.3 (unique-agent-5f1e2d)"
FORWARDED_FOR = "203.0.113.77"
FORWARDED = "for=198.51.100.9"
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def exchange(port: int, raw: bytes) -> bytes:
    """Send ``raw`` on a fresh connection and read the answer until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
        conn.sendall(raw)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            # Gunicorn closes on a refused request with part of it unread, which can reset.
            pass
    return b"".join(chunks)


MALFORMED = {
    "bad request line": b"GARBAGE\r\n\r\n",
    "header without a colon": (
        b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent " + USER_AGENT.encode() + b"\r\n\r\n"
    ),
    "bad header name": b"GET / HTTP/1.1\r\nHost: x\r\nBad\x01Name: v\r\n\r\n",
    "oversized header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
    "oversized request line": b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid method": b"g\x01t / HTTP/1.1\r\nHost: x\r\n\r\n",
    "invalid version": b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    startup: str
    log_dir: Path


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Server]:
    config = tmp_path / "instance" / "candor.toml"
    assert write_local_config(config)
    text = config.read_text().replace('argon2_profile = "production"', 'argon2_profile = "test"')
    config.write_text(text)
    engine = make_engine(f"sqlite:///{tmp_path / 'instance' / 'candor.sqlite3'}")
    migrate.upgrade(engine)
    engine.dispose()
    port = free_port()
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = {
        **os.environ,
        "CANDOR_CONFIG": str(config),
        "CANDOR_BIND": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(  # noqa: S603  # our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(GUNICORN_CONF),
            # Debug level shows every message gunicorn has; an access log asked for stays empty.
            "--log-level",
            "debug",
            "--access-logfile",
            str(log_dir / "access.log"),
            "wsgi:app",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,  # unbuffered, so that select() sees every line that is not read yet
    )
    assert process.stdout is not None
    startup = []
    # Wait for the worker to boot; requests sent before it has loaded the app wait in the backlog.
    while True:
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
        line = process.stdout.readline().decode(errors="replace") if ready else ""
        if not line:
            process.kill()
            pytest.fail("gunicorn did not start:\n" + "".join(startup))
        startup.append(line)
        if "Booting worker" in line:
            break
    yield Server(process, port, "".join(startup), log_dir)
    if process.poll() is None:
        process.kill()
        process.wait()


def test_gunicorn_logs_no_client_address_or_user_agent(gunicorn: Server) -> None:
    answers = {name: exchange(gunicorn.port, raw) for name, raw in MALFORMED.items()}
    for name, answer in answers.items():
        assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), name
    normal = exchange(
        gunicorn.port,
        (
            "GET /check HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            f"User-Agent: {USER_AGENT}\r\nX-Forwarded-For: {FORWARDED_FOR}\r\n"
            f"Forwarded: {FORWARDED}\r\n\r\n"
        ).encode(),
    )
    assert normal.startswith(b"HTTP/1.1 200"), normal[:200]
    missing = exchange(
        gunicorn.port,
        f"GET /no-such-page HTTP/1.1\r\nHost: x\r\nUser-Agent: {USER_AGENT}\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    assert missing.startswith(b"HTTP/1.1 404")
    gunicorn.process.send_signal(signal.SIGTERM)
    rest, _ = gunicorn.process.communicate(timeout=60)
    output = gunicorn.startup + rest.decode(errors="replace")
    logs = "".join(p.read_text(errors="replace") for p in gunicorn.log_dir.iterdir())
    # The test saw gunicorn's messages: each malformed request was logged, without its details.
    assert output.count("Invalid request refused") == len(MALFORMED), output
    assert "Listening at" in output and "Shutting down" in output
    for secret in ("127.0.0.1", USER_AGENT, "unique-agent", FORWARDED_FOR, "198.51.100.9"):
        assert secret not in output, (secret, output)
        assert secret not in logs, secret
    assert (gunicorn.log_dir / "access.log").read_text() == ""


def test_scrub_removes_addresses_and_keeps_times() -> None:
    scrub = runpy.run_path(str(GUNICORN_CONF))["scrub"]
    assert scrub("Listening at: http://127.0.0.1:8080 (7)") == (
        "Listening at: http://[address removed]:8080 (7)"
    )
    assert scrub("from ::1, [2001:db8::5]:443 and ::ffff:10.0.0.1.") == (
        "from [address removed], [[address removed]]:443 and [address removed]."
    )
    assert scrub("Invalid request from ip=192.0.2.1: Invalid HTTP Header: 'secret'") == (
        "Invalid request refused: Invalid HTTP Header"
    )
    assert scrub("Worker exiting at 11:37:19 (pid: 42)") == "Worker exiting at 11:37:19 (pid: 42)"


REMOTE_ADDR = "192.0.2.44"


def test_the_app_logs_no_address_during_a_reporter_journey(
    app: Flask, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    make_handler(db, "hanna")
    client: FlaskClient = app.test_client()
    client.environ_base.update(
        {
            "REMOTE_ADDR": REMOTE_ADDR,
            "HTTP_USER_AGENT": USER_AGENT,
            "HTTP_X_FORWARDED_FOR": FORWARDED_FOR,
            "HTTP_FORWARDED": FORWARDED,
        }
    )
    caplog.set_level(logging.DEBUG)
    assert client.get("/").status_code == 200
    code, passphrase = file_report(client)
    page = client.get("/check").get_data(as_text=True)
    wrong = client.post(
        "/check", data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": "no"}
    )
    assert wrong.status_code == 400
    signed_in = client.post(
        "/check",
        data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": passphrase},
    )
    assert signed_in.status_code == 302
    case_page = client.get("/case").get_data(as_text=True)
    sent = client.post(
        "/case/messages", data={"csrf_token": csrf_of(case_page), "body": "One more detail."}
    )
    assert sent.status_code in (200, 302)
    assert client.get("/no-such-page").status_code == 404
    assert client.post("/logout", data={"csrf_token": csrf_of(case_page)}).status_code < 400
    # A stranger guessing passphrases for the code until the limit refuses them.
    page = client.get("/check").get_data(as_text=True)
    guesses = [
        client.post(
            "/check",
            data={"csrf_token": csrf_of(page), "receipt_code": code, "passphrase": f"guess {n}"},
        ).status_code
        for n in range(8)
    ]
    assert set(guesses) <= {400, 429, 503}, guesses
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (REMOTE_ADDR, USER_AGENT, "unique-agent", FORWARDED_FOR, "198.51.100.9"):
        assert secret not in logged, secret
    digits = code.replace(" ", "")
    assert code not in logged and digits not in logged and passphrase not in logged
