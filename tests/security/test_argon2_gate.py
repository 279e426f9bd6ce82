"""Attack: exhausting CPU and memory with a flood of requests that each run Argon2id.

Each Argon2id run costs about 150 ms of CPU and 64 MiB. Without a bound, a flood of check-backs on
made-up codes (or staff sign-ins, or report filings) runs them all at once, and the server slows
to a crawl or runs out of memory. The site holds every Argon2id run triggered by a request to a
fixed number of slots per process; a request waits a short time for a slot, a bounded number
may wait, and the rest get 503 with Retry-After at once: never a 500, never a pile-up of threads,
nothing lost (the typed receipt code, the unsent message and the report's text are shown again).
These tests hold the gate's slots from the test itself and count Argon2id runs.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.argon2_gate import Argon2BusyError, Argon2Gate, ClientGoneError
from portal.models import Case, ReceiptCodeDelay, ReporterSession
from portal.services import accounts
from portal.timeutil import utcnow
from portal.web import client_connected
from tests.factories import PASSWORD, RECOVERY_KEYS, make_admin, make_handler, sign_in_as
from tests.portal.test_reporter_web import csrf_of, file_report, intake_fields
from tests.security.guessing_support import check_back, count_argon2_runs

NEW_PASSWORD = "a new and rather long password"


@pytest.fixture
def argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_argon2_runs(monkeypatch)


@pytest.fixture
def hold() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def take_every_slot(gate: Argon2Gate, stack: ExitStack) -> None:
    for _ in range(gate.slots):
        stack.enter_context(gate.slot())


def install(app: Flask, **bounds: Any) -> Argon2Gate:
    gate = Argon2Gate(**bounds)
    app.extensions["candor.argon2_gate"] = gate
    return gate


# --- the gate on its own ------------------------------------------------------------------------


def test_never_more_runs_at_once_than_slots() -> None:
    gate = Argon2Gate(slots=2, wait_seconds=30, max_waiting=8)
    inside = []
    most = []
    lock = threading.Lock()
    go = threading.Event()

    def work() -> None:
        with gate.slot():
            with lock:
                inside.append(1)
                most.append(len(inside))
            go.wait(timeout=30)
            with lock:
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert gate.wait_until_waiting(4, timeout=10)
    assert len(inside) == 2
    go.set()
    for thread in threads:
        thread.join(timeout=30)
    assert max(most) == 2 and len(most) == 6


def test_beyond_the_queue_cap_the_answer_is_immediate() -> None:
    gate = Argon2Gate(slots=1, wait_seconds=30, max_waiting=1)
    outcome: list[str] = []
    with ExitStack() as stack:
        take_every_slot(gate, stack)

        def wait_for_a_slot() -> None:
            with gate.slot():
                outcome.append("ran")

        waiter = threading.Thread(target=wait_for_a_slot)
        waiter.start()
        assert gate.wait_until_waiting(1, timeout=10)
        # The queue is full: refused at once, not after 30 seconds, and it does not queue.
        with pytest.raises(Argon2BusyError) as refused, gate.slot():
            pass
        assert refused.value.retry_after_seconds >= 2
        assert gate.waiting == 1
    waiter.join(timeout=30)
    assert outcome == ["ran"]
    assert gate.waiting == 0


def test_waiters_are_served_in_turn_and_nobody_overtakes_them() -> None:
    gate = Argon2Gate(slots=1, wait_seconds=30, max_waiting=4)
    order: list[str] = []

    def wait_for_a_slot(name: str) -> None:
        with gate.slot():
            order.append(name)

    first, second = (threading.Thread(target=wait_for_a_slot, args=(n,)) for n in "AB")
    with ExitStack() as stack:
        take_every_slot(gate, stack)
        first.start()
        assert gate.wait_until_waiting(1, timeout=10)
        second.start()
        assert gate.wait_until_waiting(2, timeout=10)
    # The slot just freed went to A, not to whoever asks next: a newcomer queues behind B.
    wait_for_a_slot("newcomer")
    for thread in (first, second):
        thread.join(timeout=30)
    assert order == ["A", "B", "newcomer"]


def test_a_waiter_whose_client_has_gone_runs_nothing_and_passes_the_slot_on() -> None:
    gate = Argon2Gate(slots=1, wait_seconds=30, max_waiting=4)
    order: list[str] = []
    outcomes: dict[str, str] = {}

    def wait_for_a_slot(name: str, connected: bool) -> None:
        try:
            with gate.for_client(lambda: connected).slot():
                order.append(name)
            outcomes[name] = "ran"
        except ClientGoneError:
            outcomes[name] = "gone"

    gone = threading.Thread(target=wait_for_a_slot, args=("gone", False))
    there = threading.Thread(target=wait_for_a_slot, args=("there", True))
    with ExitStack() as stack:
        take_every_slot(gate, stack)
        gone.start()
        assert gate.wait_until_waiting(1, timeout=10)
        there.start()
        assert gate.wait_until_waiting(2, timeout=10)
    for thread in (gone, there):
        thread.join(timeout=30)
    assert outcomes == {"gone": "gone", "there": "ran"}
    assert order == ["there"]
    # The slot came back: a request that finds it free asks nothing and runs at once.
    with gate.for_client(lambda: False).slot():
        order.append("free")
    assert order == ["there", "free"]


def test_a_closed_peer_reads_as_gone_and_an_open_one_as_there() -> None:
    ours, theirs = socket.socketpair()
    with ours:
        assert client_connected(ours)
        theirs.sendall(b"GET / HTTP/1.1\r\n")  # a pipelined request is still a client
        assert client_connected(ours)
        assert ours.recv(100)
        theirs.close()
        assert not client_connected(ours)


def test_a_wait_that_runs_out_is_refused_and_leaves_the_queue() -> None:
    gate = Argon2Gate(slots=1, wait_seconds=0, max_waiting=4)
    with ExitStack() as stack:
        take_every_slot(gate, stack)
        with pytest.raises(Argon2BusyError), gate.slot():
            pass
        assert gate.waiting == 0
    with gate.slot():  # the slot is free again
        pass


# --- through the site ---------------------------------------------------------------------------


@pytest.fixture
def report(client: FlaskClient, db: Session) -> tuple[str, str]:
    make_handler(db, "hanna")
    return file_report(client)


def test_check_back_gets_503_with_retry_after_and_the_draft_kept(
    app: Flask,
    client: FlaskClient,
    db: Session,
    report: tuple[str, str],
    hold: ExitStack,
    argon2_runs: list[int],
) -> None:
    code, passphrase = report
    gate = install(app, slots=2, wait_seconds=0, max_waiting=2)
    take_every_slot(gate, hold)
    runs = len(argon2_runs)
    draft = "Here is the invoice number you asked for."
    response = check_back(client, code, passphrase, draft=draft)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert "The site is busy right now; nothing was lost" in html
    assert draft in html and f'value="{code}"' in html
    assert len(argon2_runs) == runs
    # Nothing counted against the code, and no session opened.
    assert db.scalar(select(func.count()).select_from(ReceiptCodeDelay)) == 0
    assert db.scalar(select(func.count()).select_from(ReporterSession)) == 0
    hold.close()  # the strangers' runs end
    assert check_back(client, code, passphrase, draft=draft).status_code == 200
    assert db.scalar(select(func.count()).select_from(ReporterSession)) == 1


def test_waiters_beyond_the_cap_get_503_at_once_and_the_waiter_gets_in(
    app: Flask, report: tuple[str, str], hold: ExitStack
) -> None:
    code, passphrase = report
    gate = install(app, slots=1, wait_seconds=30, max_waiting=1)
    take_every_slot(gate, hold)
    results: list[int] = []
    waiter = threading.Thread(
        target=lambda: results.append(check_back(app.test_client(), code, passphrase).status_code)
    )
    waiter.start()
    try:
        assert gate.wait_until_waiting(1, timeout=10)
        beyond = check_back(app.test_client(), code, passphrase)
        assert beyond.status_code == 503
        assert beyond.headers["Retry-After"] == str(gate.retry_after_seconds)
        assert results == [] and gate.waiting == 1  # answered while the waiter still waits
    finally:
        hold.close()
        waiter.join(timeout=30)
    assert results == [302]


def test_filing_a_report_gets_503_with_the_text_kept(
    app: Flask, client: FlaskClient, db: Session, hold: ExitStack
) -> None:
    make_handler(db, "hanna")
    take_every_slot(install(app, slots=1, wait_seconds=0, max_waiting=0), hold)
    fields = intake_fields(client)
    response = client.post("/report", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert "The site is busy right now" in html
    assert str(fields["q_what_happened"]) in html
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    hold.close()
    again = client.post("/report", data=fields)  # the same form, sent again
    assert again.status_code == 303
    assert db.scalar(select(func.count()).select_from(Case)) == 1


def staff_post(client: FlaskClient, path: str, **fields: str) -> Any:
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_of(page), **fields})


def test_every_staff_argon2_route_answers_503_when_busy(
    app: Flask, db: Session, hold: ExitStack, argon2_runs: list[int]
) -> None:
    admin = make_admin(db)
    hanna = make_handler(db, "hanna")
    _, token = accounts.invite_user(
        db,
        admin,
        username="ivo",
        display_name="Ivo",
        title="",
        level=1,
        is_handler=True,
        is_admin=False,
        categories=(),
        now=utcnow(),
    )
    signed_in = app.test_client()
    sign_in_as(signed_in, db, hanna)
    take_every_slot(install(app, slots=1, wait_seconds=0, max_waiting=0), hold)
    runs = len(argon2_runs)
    attempts = {
        "sign-in": staff_post(
            app.test_client(), "/staff/sign-in", username="hanna", password=PASSWORD, code="1"
        ),
        "activation": staff_post(
            app.test_client(),
            f"/staff/activate/{token}",
            password=NEW_PASSWORD,
            confirm=NEW_PASSWORD,
        ),
        "recovery": staff_post(
            app.test_client(),
            "/staff/recover",
            username="hanna",
            recovery_key=RECOVERY_KEYS["hanna"],
            password=NEW_PASSWORD,
            confirm=NEW_PASSWORD,
        ),
        "password change": staff_post(
            signed_in,
            "/staff/account",
            current=PASSWORD,
            password=NEW_PASSWORD,
            confirm=NEW_PASSWORD,
        ),
    }
    for name, response in attempts.items():
        assert response.status_code == 503, name
        assert "Retry-After" in response.headers, name
        text = re.sub(r"\s+", " ", response.get_data(as_text=True))
        assert "nothing was lost" in text, name
    assert len(argon2_runs) == runs


def test_the_gate_says_when_it_would_refuse_at_once() -> None:
    gate = Argon2Gate(slots=1, wait_seconds=30, max_waiting=1)
    assert not gate.saturated
    with ExitStack() as stack:
        take_every_slot(gate, stack)
        assert not gate.saturated  # one request may still wait
        results: list[str] = []

        def wait() -> None:
            with gate.slot():
                results.append("ran")

        waiter = threading.Thread(target=wait)
        waiter.start()
        assert gate.wait_until_waiting(1, timeout=10)
        assert gate.saturated
        assert gate.for_client(lambda: True).saturated
    waiter.join(timeout=10)
    assert results == ["ran"] and not gate.saturated


def test_a_report_refused_before_it_is_read_comes_back_whole_and_sends_again(
    app: Flask, client: FlaskClient, db: Session, hold: ExitStack, argon2_runs: list[int]
) -> None:
    make_handler(db, "hanna")
    gate = install(app, slots=1, wait_seconds=0, max_waiting=0)
    take_every_slot(gate, hold)
    assert gate.saturated
    fields = intake_fields(client, q_when_where="Depot 4, on Tuesday", name="", contact="")
    runs = len(argon2_runs)
    response = client.post("/report", data=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(gate.retry_after_seconds)
    assert "The site is busy right now, so the report could not be filed yet" in html
    assert len(argon2_runs) == runs
    assert db.scalar(select(func.count()).select_from(Case)) == 0
    # Every field comes back, the tokens included, on a small page that sends it all again.
    again = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    again |= dict(
        re.findall(r'<textarea id="again-\d+" name="([^"]+)"[^>]*>([^<]*)</textarea>', html)
    )
    for name in ("csrf_token", "form_token", "category", "tier", "q_what_happened", "q_when_where"):
        assert again[name] == str(fields[name]), name
    hold.close()
    sent = client.post("/report", data=again)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    assert db.scalar(select(func.count()).select_from(Case)) == 1
