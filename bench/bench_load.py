"""The whole site under load: page cost against a bare Flask-WTF page, a flood, memory.

Starts the site with the shipped gunicorn configuration (gunicorn.conf.py) on a migrated temp
SQLite site (production Argon2id profile), and a bare Flask page with a Flask-WTF form
(bench/_bare_app.py) with the same gunicorn configuration, then:

1. Page cost: drives ``/``, ``/report`` and ``/check`` and the bare page with ``wrk`` in the
   same run; prints requests/s and p50/p99 of each, and as ratios to the bare page (the target:
   70 % of the bare page's requests/s).
2. Overload: a flood of wrong check-backs (made-up receipt codes of the right form, so that each
   costs Argon2id work) and intake posts at ten times the sustainable rate (the Argon2id slots
   divided by one production run), while legitimate clients load ``/``, ``/report`` and sign in
   with the right passphrase. Prints the flood's status mix (200/400/429/503/500/timeouts, and
   whether every 429/503 carried Retry-After), the legitimate p95 (the target: under 2 s) and how
   long the site takes to answer a sign-in normally after the flood stops.
3. Memory: resident memory (RSS) of the gunicorn workers before and after a bounded soak.

Prints figures; asserts only that the servers answer. Needs ``wrk`` (Debian package ``wrk``;
``make bench`` installs it when run as root). Run: .venv/bin/python bench/bench_load.py;
``--quick`` runs each part for a second or two (tests/bench/test_bench_load.py runs it).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import BENCH_INTEGRITY_KEY, app_config, argon2_production_ms, percentile, toml_text  # noqa: E402

import crypto  # noqa: E402
from portal import migrate  # noqa: E402
from portal.config import default_argon2_concurrency  # noqa: E402
from portal.db import make_engine, make_session_factory  # noqa: E402
from portal.models import Role  # noqa: E402
from portal.services import accounts  # noqa: E402

GUNICORN = Path(sys.executable).with_name("gunicorn")
CLIENT_TIMEOUT = 10.0  # a flood or legitimate request unanswered this long counts as a timeout
PAGES = ("/", "/report", "/check")
WRK = shutil.which("wrk") or "wrk"


@dataclass(frozen=True)
class Durations:
    wrk_seconds: int
    flood_seconds: float
    soak_seconds: int


FULL = Durations(wrk_seconds=10, flood_seconds=20, soak_seconds=30)
QUICK = Durations(wrk_seconds=1, flood_seconds=2, soak_seconds=1)


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """gunicorn with the shipped gunicorn.conf.py, on a port of its own."""

    def __init__(self, name: str, app: str, env: dict[str, str], log: Path, chdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603  # our own gunicorn and configuration
            [
                str(GUNICORN),
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--chdir",
                str(chdir),
                app,
            ],
            env={**env, "CANDOR_BIND": f"127.0.0.1:{self.port}"},
            stdout=self.log,
            stderr=self.log,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
            try:
                status, _, _ = request(self.port, "GET", "/", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer:\n{log.read_text()[-3000:]}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_rss_mib(self) -> float:
        """The resident memory of the master's worker processes, in MiB."""
        total = 0
        for child in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            for pid in child.read_text().split():
                status = Path(f"/proc/{pid}/status").read_text()
                found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
                total += int(found.group(1)) if found else 0
        return total / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # a quick shutdown: nothing to finish
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: dict[str, str] | None = None,
    cookie: str = "",
    timeout: float = CLIENT_TIMEOUT,
) -> tuple[int, dict[str, str], str]:
    """One request on a fresh connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


def session_cookie(headers: dict[str, str]) -> str:
    raw = headers.get("set-cookie", "")
    return raw.split(";", 1)[0]


def hidden(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    found = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
    if found is None:
        raise RuntimeError(f"no {name} in the page")
    return found.group(1)


def intake_fields(raw: dict[str, Any], page: str) -> dict[str, str]:
    fields = {
        "csrf_token": hidden(page, "csrf_token"),
        "form_token": hidden(page, "form_token"),
        "category": raw["intake"]["categories"][0]["key"],
        "tier": "3",
        "anonymity": "anonymous",
        "website": "",
    }
    for question in raw["intake"]["questions"]:
        fields[f"q_{question['key']}"] = "The invoices were approved twice by the same person."
    return fields


# --- set-up -------------------------------------------------------------------------------------


def prepare_site(tmp: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A migrated SQLite site with one handler; its raw config and the environment to serve it."""
    raw = app_config(tmp, f"sqlite:///{tmp / 'candor.sqlite3'}", argon2_profile="production")
    engine = make_engine(raw["database"]["url"])
    migrate.upgrade(engine)
    with make_session_factory(engine, integrity_key=BENCH_INTEGRITY_KEY)() as db:
        account = accounts.create_user(
            db,
            username="alice",
            display_name="Alice",
            role=Role.HANDLER,
            password="correct horse battery staple",  # noqa: S106  # a throwaway account
            level=1,
            profile=crypto.TEST,
            now=crypto_now(),
        )
        account.user.title = "Compliance officer"
        db.commit()
    engine.dispose()
    (tmp / "attachments").mkdir()
    config_path = tmp / "candor.toml"
    config_path.write_text(toml_text(raw))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
    env["CANDOR_CONFIG"] = str(config_path)
    return raw, env


def crypto_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def file_report(port: int, raw: dict[str, Any]) -> tuple[str, str]:
    """Submit a report over HTTP; its receipt code and passphrase."""
    status, headers, page = request(port, "GET", "/report")
    assert status == 200, status
    cookie = session_cookie(headers)
    status, headers, page = request(
        port, "POST", "/report", body=intake_fields(raw, page), cookie=cookie
    )
    if status == 303:
        cookie = session_cookie(headers) or cookie
        status, _, page = request(port, "GET", headers["location"], cookie=cookie)
    code = re.search(r'id="receipt-code">([^<]+)<', page)
    phrase = re.search(r'id="passphrase">([^<]+)<', page)
    if status != 200 or code is None or phrase is None:
        raise RuntimeError(f"report not accepted: {status} {page[:1000]}")
    return code.group(1), phrase.group(1)


# --- 1. page cost -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, seconds: int, connections: int = 8) -> WrkResult:
    done = subprocess.run(  # noqa: S603  # wrk from the system
        [WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s", url],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    errors = []
    if found := re.search(r"Socket errors: (.*)", out):
        errors.append(found.group(1))
    if found := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors.append(f"non-2xx {found.group(1)}")
    return WrkResult(rps, p50, p99, "; ".join(errors))


def bench_pages(site: Server, bare: Server, seconds: int) -> None:
    print("== page cost (wrk -t2 -c8, same gunicorn.conf.py for both)", flush=True)
    for server, path in ((site, "/"), (bare, "/")):  # warm-up: imports, templates, caches
        wrk(server.url(path), 1)
    # The bare page is measured before and after the site's pages; the ratios use the mean.
    first = wrk(bare.url("/"), seconds)
    results = {path: wrk(site.url(path), seconds) for path in PAGES}
    second = wrk(bare.url("/"), seconds)
    bare_rps = (first.rps + second.rps) / 2
    bare_p50 = (first.p50_ms + second.p50_ms) / 2
    bare_p99 = (first.p99_ms + second.p99_ms) / 2
    print(
        f"bare Flask-WTF page: {bare_rps:.0f} req/s (runs {first.rps:.0f} and {second.rps:.0f}), "
        f"p50 {bare_p50:.1f} ms, p99 {bare_p99:.1f} ms",
        flush=True,
    )
    for path, result in results.items():
        ratio = result.rps / bare_rps
        verdict = "meets" if ratio >= 0.70 else "below"
        print(
            f"GET {path:<8} {result.rps:7.0f} req/s = {ratio:6.1%} of bare ({verdict} 70 %); "
            f"p50 {result.p50_ms:.1f} ms ({result.p50_ms / bare_p50:.2f}x bare), "
            f"p99 {result.p99_ms:.1f} ms ({result.p99_ms / bare_p99:.2f}x bare)"
            + (f"; {result.errors}" if result.errors else ""),
            flush=True,
        )


# --- 2. overload --------------------------------------------------------------------------------


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    without_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.statuses[outcome] += 1
            if outcome in ("429", "503") and headers is not None and "retry-after" not in headers:
                self.without_retry_after += 1

    def line(self) -> str:
        order = ["200", "302", "400", "429", "503", "500", "timeout"]
        keys = order + sorted(k for k in self.statuses if k not in order)
        return ", ".join(
            f"{k}: {self.statuses[k]}" for k in keys if k in self.statuses or k in order
        )


def outcome_of(call: Any) -> tuple[str, dict[str, str] | None, float]:
    start = time.perf_counter()
    try:
        status, headers, _ = call()
    except TimeoutError:
        return "timeout", None, time.perf_counter() - start
    except OSError as exc:
        return type(exc).__name__, None, time.perf_counter() - start
    return str(status), headers, time.perf_counter() - start


def bench_overload(site: Server, raw: dict[str, Any], seconds: float) -> None:
    argon2_s = statistics.median(argon2_production_ms() for _ in range(3)) / 1000
    slots = raw["security"]["argon2_concurrency"] or default_argon2_concurrency()
    sustainable = slots / argon2_s
    flood_rate = 10 * sustainable
    print(
        f"== overload: Argon2id {argon2_s * 1000:.0f} ms x {slots} slots -> sustainable "
        f"{sustainable:.1f} Argon2id posts/s; flood {flood_rate:.0f}/s for {seconds:.0f} s "
        "(half wrong check-backs on made-up codes, half intake posts)",
        flush=True,
    )
    code, passphrase = file_report(site.port, raw)
    port = site.port

    # The flood's forms: one session and token per kind, reused (as a script would).
    _, check_headers, check_page = request(port, "GET", "/check")
    check_cookie = session_cookie(check_headers)
    check_token = hidden(check_page, "csrf_token")

    def wrong_check() -> tuple[int, dict[str, str], str]:
        fields = {
            "csrf_token": check_token,
            "receipt_code": crypto.generate_receipt_code(),
            "passphrase": "not the right passphrase at all",
        }
        return request(port, "POST", "/check", body=fields, cookie=check_cookie)

    def intake_post() -> tuple[int, dict[str, str], str]:
        status, headers, page = request(port, "GET", "/report")
        if status != 200:
            return status, headers, page
        cookie = session_cookie(headers)
        return request(port, "POST", "/report", body=intake_fields(raw, page), cookie=cookie)

    flood = Tally()
    stop = threading.Event()

    def flood_loop() -> None:
        interval = 1 / flood_rate
        with ThreadPoolExecutor(max_workers=256) as pool:
            start = time.monotonic()
            sent = 0
            while not stop.is_set():
                due = start + sent * interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                call = wrong_check if sent % 2 == 0 else intake_post
                pool.submit(lambda c=call: flood.add(*outcome_of(c)[:2]))
                sent += 1

    legit = Tally()
    legit_times: list[float] = []
    sign_in_times: list[float] = []

    def sign_in() -> tuple[int, dict[str, str], str]:
        _, headers, page = request(port, "GET", "/check")
        cookie = session_cookie(headers)
        fields = {
            "csrf_token": hidden(page, "csrf_token"),
            "receipt_code": code,
            "passphrase": passphrase,
        }
        return request(port, "POST", "/check", body=fields, cookie=cookie)

    def legit_loop() -> None:
        calls = [
            ("GET /", lambda: request(port, "GET", "/")),
            ("GET /report", lambda: request(port, "GET", "/report")),
            ("sign-in", sign_in),
        ]
        index = 0
        while not stop.is_set():
            name, call = calls[index % len(calls)]
            index += 1
            outcome, headers, elapsed = outcome_of(call)
            legit.add(f"{name} {outcome}", headers)
            with legit.lock:
                legit_times.append(elapsed)
                if name == "sign-in":
                    sign_in_times.append(elapsed)
            time.sleep(0.05)

    threads = [threading.Thread(target=flood_loop)] + [
        threading.Thread(target=legit_loop) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    flood_stopped = time.monotonic()
    for thread in threads:
        thread.join()
    drained = time.monotonic() - flood_stopped

    # Recovery: from the moment the flood's last request was answered, until a sign-in with the
    # right passphrase goes through at once and the landing page answers in under 200 ms.
    recovery_start = time.monotonic()
    recovered = None
    while time.monotonic() - recovery_start < 60:
        outcome, _, _ = outcome_of(sign_in)
        _, _, landing_s = outcome_of(lambda: request(port, "GET", "/"))
        if outcome == "302" and landing_s < 0.2:
            recovered = time.monotonic() - recovery_start
            break
        time.sleep(0.1)

    total = sum(flood.statuses.values())
    print(f"flood: {total} requests; {flood.line()}", flush=True)
    print(
        f"  every 429/503 with Retry-After: {'yes' if flood.without_retry_after == 0 else 'no'} "
        f"({flood.without_retry_after} without); flood drained {drained:.1f} s after it stopped",
        flush=True,
    )
    print(f"legitimate: {len(legit_times)} requests; {legit.line()}", flush=True)
    p95 = percentile(legit_times, 0.95) if legit_times else float("nan")
    p50 = percentile(legit_times, 0.50) if legit_times else float("nan")
    sign_p95 = percentile(sign_in_times, 0.95) if sign_in_times else float("nan")
    print(
        f"legitimate p95 {p95:.2f} s (target < 2 s), p50 {p50:.2f} s, max "
        f"{max(legit_times, default=float('nan')):.2f} s; sign-in p95 {sign_p95:.2f} s",
        flush=True,
    )
    print(
        "recovered (sign-in at once, landing < 200 ms) "
        + (
            f"{recovered:.1f} s after the flood drained" if recovered is not None else "NOT in 60 s"
        ),
        flush=True,
    )


# --- 3. memory ----------------------------------------------------------------------------------


def bench_memory(site: Server, seconds: int) -> None:
    before = site.worker_rss_mib()
    for path in PAGES:
        wrk(site.url(path), seconds)
    after = site.worker_rss_mib()
    print(
        f"== memory: gunicorn workers' RSS {before:.1f} MiB before, {after:.1f} MiB after a "
        f"{len(PAGES) * seconds} s soak (wrk on {', '.join(PAGES)}): {after - before:+.1f} MiB",
        flush=True,
    )


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each part for a second or two")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: install the Debian package wrk (make bench does, as root)")
        sys.exit(2)
    durations = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="candor-bench-load-"))
    servers: list[Server] = []
    try:
        raw, env = prepare_site(tmp)
        site = Server("site", "wsgi:app", env, tmp / "site.log", ROOT)
        servers.append(site)
        bare = Server("bare page", "_bare_app:app", env, tmp / "bare.log", ROOT / "bench")
        servers.append(bare)
        print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}", flush=True)
        start_rss = site.worker_rss_mib()
        bench_pages(site, bare, durations.wrk_seconds)
        bench_overload(site, raw, durations.flood_seconds)
        bench_memory(site, durations.soak_seconds)
        print(f"  (worker RSS at start, before any request: {start_rss:.1f} MiB)", flush=True)
        log = (tmp / "site.log").read_text()
        if "Traceback" in log:
            print(f"site log has a traceback:\n{log[-3000:]}", flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
