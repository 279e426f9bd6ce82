"""`flask --app wsgi candor ...`: set-up and automation commands."""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import Engine

import crypto
from portal import i18n, migrate
from portal.config import Config
from portal.models import Role
from portal.services import (
    accounts,
    audit,
    clock,
    integrity_scan,
    notifications,
    retention,
    site_settings,
    stray_uploads,
)
from portal.services.clock import meetings, preview, reviews, versions
from portal.services.errors import ServiceError
from portal.services.policies import PRESETS, PolicyError
from portal.services.readiness import next_steps, site_readiness
from portal.timeutil import utcnow

STATISTICS_EVERY_SECONDS = 3600
IDLE_REPORT = "deadlines acted on: 0 of 0 due; notifications sent: 0, to retry: 0, failed: 0"
candor = AppGroup("candor", help="Candor administration commands.")


def init_app(app: Flask) -> None:
    app.cli.add_command(candor)


def _config() -> Config:
    config: Config = current_app.extensions["candor.config"]
    return config


def argon2_profile(config: Config) -> crypto.Argon2Profile:
    return crypto.PROFILES[config.security.argon2_profile]


@candor.command("init")
def init_command() -> None:
    """Create the attachment folder and upgrade the database to the newest schema."""
    config = _config()
    config.storage.attachments_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine: Engine = current_app.extensions["candor.engine"]
    migrate.upgrade(engine)
    if engine.dialect.name == "sqlite":
        # Statistics let SQLite's planner pick the inbox index (PostgreSQL gathers its own).
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    click.echo("Database is at the newest schema.")
    _say_what_next(config)


def _say_what_next(config: Config) -> None:
    """On a new site, the console says what to do next; the README's first run says the same."""
    with current_app.extensions["candor.sessionmaker"]() as session:
        readiness = site_readiness(session)
    steps = next_steps(
        readiness,
        config_path=os.environ.get("CANDOR_CONFIG", "instance/candor.toml"),
        base_url=config.site.base_url,
    )
    if steps:
        click.echo("This site cannot take reports yet. Next:")
        for number, step in enumerate(steps, 1):
            click.echo(f"  {number}. {step}")
    served = os.environ.get("CANDOR_SERVE_URL", "").rstrip("/")
    if served and _port(served) != _port(config.site.base_url):
        click.echo(
            f"Note: the site is served at {served}, but links it writes (activation, "
            f"notifications) use site.base_url = {config.site.base_url}. That is right behind a "
            "proxy; otherwise start with PORT=... make run, which sets both, or change base_url."
        )


def _port(url: str) -> int | None:
    parts = urlsplit(url)
    return parts.port or {"http": 80, "https": 443}.get(parts.scheme)


@candor.command("create-user")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--level", type=click.IntRange(1, 3), default=1, show_default=True)
def create_user_command(role: str, username: str, display_name: str, level: int) -> None:
    """Create a staff account; the password is read from standard input.

    The account is in effect at once, handler role and level included: whoever runs this holds
    the site's configuration anyway. Through the web pages, a new or wider recipient waits for a
    second person's approval; use this for the first handler, or for a level-2 handler who can
    approve when the site has a single admin.
    """
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    session = current_app.extensions["candor.sessionmaker"]()
    try:
        account = accounts.create_user(
            session,
            username=username,
            display_name=display_name,
            role=Role(role),
            password=password,
            level=level,
            profile=argon2_profile(_config()),
            now=utcnow(),
            issuer=site_settings.site_look(session, _config()).name,
        )
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        session.close()
    click.echo(f"Created {role} {account.user.username!r}.")
    click.echo("Shown once; store it offline. It restores access if the password is lost:")
    click.echo(f"  recovery key: {account.recovery_key}")
    click.echo("Add this to an authenticator app (TOTP):")
    click.echo(f"  {account.totp_uri}")


@candor.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify_command() -> None:
    """Check the hash chain; report the first changed, removed or inserted entry."""
    session = current_app.extensions["candor.sessionmaker"]()
    try:
        result = audit.verify(session)
    finally:
        session.close()
    if not result.ok:
        raise click.ClickException(f"audit trail broken: {result.problem}")
    click.echo(f"Audit trail intact: {result.checked} entries.")


@candor.group("integrity")
def integrity_group() -> None:
    """Integrity tags on sealed items and public keys."""


@integrity_group.command("sign-existing")
def integrity_sign_existing_command() -> None:
    """Tag every row written before tags existed. Run once after upgrading, while the database
    is trusted: what is in an untagged row now is taken as genuine from then on."""
    session = current_app.extensions["candor.sessionmaker"]()
    try:
        result = integrity_scan.sign_existing(session)
    finally:
        session.close()
    click.echo(f"Checked {result.checked} stored values; tagged {result.signed} that had no tag.")
    _report_failures(result)


@integrity_group.command("verify")
def integrity_verify_command() -> None:
    """Check every tag; list the rows (by reference, never content) that fail or have none."""
    session = current_app.extensions["candor.sessionmaker"]()
    try:
        result = integrity_scan.verify(session)
    finally:
        session.close()
    _report_failures(result)
    click.echo(f"All {result.checked} stored values verified.")


def _report_failures(result: integrity_scan.ScanResult) -> None:
    if not result.failed:
        return
    for where in result.failed:
        click.echo(f"  failed: {where}", err=True)
    raise click.ClickException(
        f"{len(result.failed)} of {result.checked} stored values failed their integrity check "
        "and are refused wherever they are read. They were left as they are: if the database "
        "was altered, restore them from a trusted backup."
    )


@candor.group("clock")
def clock_group() -> None:
    """The escalation clock worker."""


# When this worker first saw each pending upload (see portal/services/stray_uploads.py): a
# long-running worker (`clock run`) sweeps; one-off ticks from cron keep no memory and do not.
_PENDING_FIRST_SEEN: dict[str, datetime] = {}


def _clock_pass() -> str:
    config = _config()
    factory = current_app.extensions["candor.sessionmaker"]
    with factory() as session:
        # Each pass reads the admin's choice of holidays afresh: a change applies from the next.
        settings = clock.with_holidays(session, current_app.extensions["candor.clock"])
        # Notifications name the site as its admins call it now.
        effective = site_settings.current(session, config)
        settings = replace(settings, site_name=effective.look.name)
        result = clock.tick(session, now=utcnow(), settings=settings)
    with factory() as session:
        reviews.queue_review_reminders(session, settings, effective.intake, now=utcnow())
    with factory() as session:
        # The counts of due cases only if the site sends them; the cases kept for handlers who
        # chose the digest always, or they would never be told.
        notifications.queue_daily_digests(
            session, settings, now=utcnow(), counts=config.smtp.daily_digest
        )
    with factory() as session:
        # Before delivery, so that a reminder written in this pass goes out in it.
        kept = retention.apply_retention(
            session,
            now=utcnow(),
            config=config.retention,
            store=current_app.extensions["candor.attachments"],
            settings=settings,
        )
    with factory() as session:
        swept = stray_uploads.sweep_stray_uploads(
            session,
            current_app.extensions["candor.attachments"],
            now=utcnow(),
            first_seen=_PENDING_FIRST_SEEN,
        )
    with factory() as session:
        sent = notifications.deliver_due(session, config.smtp, now=utcnow())
    # Said only when something happened, so that a quiet pass stays IDLE_REPORT.
    retained = (
        f"cases deleted after their retention: {kept.deleted}, reminded: {kept.reminded}; "
        if kept.deleted or kept.reminded
        else ""
    )
    stray = (
        f"unfinished uploads made permanent: {swept.kept}, removed: {swept.removed}; "
        if swept.kept or swept.removed
        else ""
    )
    return (
        f"deadlines acted on: {result.acted} of {result.claimed} due; "
        f"{retained}{stray}"
        f"notifications sent: {sent.sent}, to retry: {sent.retried}, failed: {sent.failed}"
    )


@clock_group.command("preview")
@click.option(
    "--policy",
    "policy_name",
    required=True,
    help="The policy's name (eu-directive, ...); a custom one at its latest version, or NAME@3.",
)
@click.option(
    "--received",
    required=True,
    help='When the report is received, on the site\'s clock (site.timezone): "2026-12-18 16:00".',
)
@click.option("--tier", type=click.IntRange(1, 3), default=3, show_default=True)
@click.option(
    "--group",
    default=None,
    help="Who the reporter is: a key of the site's [intake] groups (employee, vendor, ...).",
)
def clock_preview_command(policy_name: str, received: str, tier: int, group: str | None) -> None:
    """Print every event the policy's clocks would produce if nobody acted, one a line, in the
    site's time zone: warnings, due times, escalations and notices to the reporter."""
    timezone = _config().site.timezone
    with current_app.extensions["candor.sessionmaker"]() as session:
        groups = site_settings.intake_settings(session, _config()).groups
    if group is not None and group not in {g.key for g in groups}:
        known = ", ".join(g.key for g in groups) or "none"
        raise click.ClickException(
            f"There is no reporter group called {group!r}. The site's groups are: {known}."
        )
    # The same calendar the worker uses: the admin's holidays, else the configuration's.
    with current_app.extensions["candor.sessionmaker"]() as session:
        calendar = clock.with_holidays(session, current_app.extensions["candor.clock"]).calendar
        try:
            policy = versions.resolve_policy(session, policy_name)
        except PolicyError:
            known = ", ".join([*PRESETS, *versions.custom_names(session)])
            raise click.ClickException(
                f"There is no policy called {policy_name!r}. The policies are: {known}."
            ) from None
        meeting_days = meetings.meeting_days(session)
    try:
        timeline = preview.preview_timeline(
            policy,
            preview.read_local_time(received, timezone),
            tier,
            calendar=calendar,
            group=group,
            meetings=meeting_days,
        )
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    # The command line speaks English, whatever the site's default language.
    with i18n.in_language("en"):
        for event in timeline.events:
            at = preview.local_minute(event.at, timezone)
            click.echo(f"{at}  {event.clock_name}  {event.describe()}")
        for due in timeline.meeting_dues:
            at = preview.local_minute(due.due, timezone)
            click.echo(f"{at}  {due.clock_name}  {due.describe(timezone)}")
    if group is not None and not timeline.group_used:
        click.echo(
            f"Note: at tier {tier}, {policy_name} gives the group {group!r} no ladder of its "
            "own, so the timeline is the one a reporter who did not say who they are gets.",
            err=True,
        )
    for rule in timeline.not_started:
        click.echo(
            f"Note: {policy_name}/{rule.key} starts only when someone acts, so it is not shown.",
            err=True,
        )


@clock_group.command("tick")
def clock_tick_command() -> None:
    """One pass: act on due deadlines, then send due notifications (for cron or a timer)."""
    click.echo(_clock_pass())


def _refresh_sqlite_statistics(engine: Engine) -> None:
    """SQLite gathers no statistics by itself; without them its planner may skip the inbox index.
    PRAGMA optimize is cheap and only analyses what changed enough."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA optimize")


@clock_group.command("run")
@click.option("--passes", type=int, default=0, help="Stop after this many passes (0: never).")
def clock_run_command(passes: int) -> None:
    """Run passes forever, every clock.interval_seconds; stops cleanly on SIGTERM or Ctrl-C."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    interval = _config().clock.interval_seconds
    engine: Engine = current_app.extensions["candor.engine"]
    optimized_at = 0.0
    done = 0
    # What is loaded by now (the app, the models, the calendars) lives as long as the worker:
    # full collections stop scanning it, which a pass that allocates much would otherwise pay.
    gc.freeze()
    try:
        while not stop.is_set():
            try:
                if time.monotonic() - optimized_at > STATISTICS_EVERY_SECONDS:
                    _refresh_sqlite_statistics(engine)
                    optimized_at = time.monotonic()
                report = _clock_pass()
                if report != IDLE_REPORT:  # a quiet pass says nothing
                    click.echo(report)
            except Exception:  # a database outage must not end the worker
                current_app.logger.exception("clock pass failed; trying again next interval")
            done += 1
            if passes and done >= passes:
                break
            stop.wait(interval)
    except KeyboardInterrupt:
        pass


def _add_backup_commands() -> None:
    # Imported here: portal.backup_cli and portal.escrow_cli stand apart so that this module
    # stays one screenful of commands per subject.
    from portal.backup_cli import backup_group, restore_command
    from portal.escrow_cli import escrow_group

    candor.add_command(backup_group)
    candor.add_command(restore_command)
    candor.add_command(escrow_group)


_add_backup_commands()


def _add_proof_commands() -> None:
    # Imported here for the same reason as the backup commands.
    from portal.proof_cli import proof_group

    candor.add_command(proof_group)


_add_proof_commands()
