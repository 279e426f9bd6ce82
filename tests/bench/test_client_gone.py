"""A request that waited for an Argon2id slot does no Argon2id work once its client has gone:
checked against a real gunicorn (the shipped gunicorn.conf.py) with clients that close their
sockets while their check-backs wait behind one slot."""

from __future__ import annotations

import socket
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import bench_load  # noqa: E402
from _common import toml_text  # noqa: E402

import crypto  # noqa: E402

GONE = "Argon2id not started: the client went away while it waited"


def _check_back(port: int, cookie: str, token: str) -> bytes:
    body = urllib.parse.urlencode(
        {
            "csrf_token": token,
            "receipt_code": crypto.generate_receipt_code(),
            "passphrase": "not the right passphrase",
        }
    )
    return (
        f"POST /check HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    ).encode()


def test_a_check_back_whose_client_closed_while_waiting_runs_no_argon2(tmp_path: Path) -> None:
    raw, env = bench_load.prepare_site(tmp_path)
    raw["security"]["argon2_concurrency"] = 1
    raw["security"]["argon2_queue_seconds"] = 30
    raw["security"]["argon2_queue_max"] = 8
    Path(env["CANDOR_CONFIG"]).write_text(toml_text(raw))
    server = bench_load.Server("site", "wsgi:app", env, tmp_path / "site.log", ROOT)
    try:
        _, headers, page = bench_load.request(server.port, "GET", "/check")
        cookie = bench_load.session_cookie(headers)
        request = _check_back(server.port, cookie, bench_load.hidden(page, "csrf_token"))
        # Two clients that stay: the first holds the one slot, the second waits and is served.
        stay = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
        stay[0].sendall(request)
        time.sleep(0.05)
        stay[1].sendall(request)
        # Four that leave while they wait behind them.
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", server.port)) as gone:
                gone.sendall(
                    _check_back(server.port, cookie, bench_load.hidden(page, "csrf_token"))
                )
                time.sleep(0.05)
        for client in stay:
            client.settimeout(30)
            answer = client.recv(200)
            client.close()
            assert answer.startswith(b"HTTP/1.1 400"), answer  # a wrong passphrase, answered
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (tmp_path / "site.log").read_text().count(GONE) >= 4:
                break
            time.sleep(0.2)
    finally:
        server.stop()
    log = (tmp_path / "site.log").read_text()
    assert log.count(GONE) == 4, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
