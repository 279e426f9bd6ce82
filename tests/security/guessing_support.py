"""Helpers shared by the guessing, Unicode receipt code, gate and overlong-secret tests."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

import crypto
import crypto.kdf
from tests.portal.test_reporter_web import csrf_of


class FixedClock:
    """The time the reporter pages see; tests move it, nothing sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def count_argon2_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets one entry per Argon2id run anywhere in the site from now on."""
    runs: list[int] = []
    real = crypto.kdf.hash_secret_raw

    def counting(**kwargs: Any) -> bytes:
        runs.append(1)
        return real(**kwargs)

    monkeypatch.setattr(crypto.kdf, "hash_secret_raw", counting)
    return runs


def check_back(client: FlaskClient, code: str, passphrase: str, draft: str = "") -> Any:
    """Post the check-back form; one CSRF token per client, so a flood is one request a guess."""
    token = getattr(client, "candor_csrf", None)
    if token is None:
        token = csrf_of(client.get("/check").get_data(as_text=True))
        client.candor_csrf = token  # type: ignore[attr-defined]
    data = {"csrf_token": token, "receipt_code": code, "passphrase": passphrase}
    if draft:
        data["draft"] = draft
    return client.post("/check", data=data)


def alert(response: Any) -> str:
    """The text of the page's alert paragraph."""
    found = re.search(r'role="alert">([^<]+)<', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def made_up_code(n: int) -> str:
    """A well-formed receipt code (right check digit) that no case has, different for each n."""
    payload = f"{n:015d}"
    return payload + str(crypto.codes._damm(payload))
