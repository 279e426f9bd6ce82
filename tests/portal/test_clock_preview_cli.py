"""`candor clock preview`: one line per event, in the site's time zone, as --received is read."""

from __future__ import annotations

import re

from flask import Flask

LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}  [a-z-]+/[a-z]+  \S.*$")


def preview(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["candor", "clock", "preview", *args])
    return result.exit_code, result.stdout, result.stderr


def test_prints_one_line_per_event_in_the_site_time_zone(app: Flask) -> None:
    code, out, err = preview(
        app,
        "--policy",
        "seed-complaints",
        "--received",
        "2026-12-18 16:00",
        "--tier",
        "1",
        "--group",
        "employee",
    )
    assert code == 0, err
    lines = out.splitlines()
    assert all(LINE.match(line) for line in lines), lines
    # The test site's zone is Europe/Berlin: the times read back as they were typed.
    # Tier 1: the first response is due 15 minutes after receipt, then a step every 15 minutes.
    # An employee's ladder (seeds/000, line 93): "If you do not hear back from them within 15
    # minutes contact one of the executive team".
    assert lines[:3] == [
        "2026-12-18 16:15  seed-complaints/review  due: review the complaint",
        "2026-12-18 16:15  seed-complaints/review  escalation to level 3 (the executive team)",
        "2026-12-18 16:15  seed-complaints/review  notice to the reporter: the report has passed "
        "to someone more senior",
    ]
    assert (
        "2027-02-01 16:00  seed-complaints/resolve  notice to the reporter (mediator_notice)"
        in lines
    )
    assert "no ladder of its own" not in err


def test_the_group_changes_the_escalation_lines(app: Flask) -> None:
    def review_escalations(group: str) -> list[str]:
        code, out, err = preview(
            app,
            *("--policy", "seed-complaints", "--received", "2026-12-18 16:00", "--tier", "1"),
            *("--group", group),
        )
        assert code == 0, err
        return [line for line in out.splitlines() if "review  escalation" in line]

    assert review_escalations("vendor") == [
        "2026-12-18 16:15  seed-complaints/review  escalation to level 3 (support@alloy.co, "
        "marked urgent)",
    ]
    assert review_escalations("customer") == [
        "2026-12-18 16:15  seed-complaints/review  escalation to level 2 (the Alloy team on "
        "the customer's Slack channel)",
        "2026-12-18 16:30  seed-complaints/review  escalation to level 3 (support@alloy.co, "
        "marked urgent)",
    ]
    assert review_escalations("public") == [
        "2026-12-18 16:15  seed-complaints/review  escalation to level 2",
        "2026-12-18 16:30  seed-complaints/review  escalation to level 3",
    ]


def test_a_group_without_a_ladder_is_noted_and_an_unknown_one_refused(app: Flask) -> None:
    code, out, err = preview(
        app, "--policy", "eu-directive", "--received", "2026-12-18 16:00", "--group", "employee"
    )
    assert code == 0 and out
    assert "gives the group 'employee' no ladder of its own" in err
    code, out, err = preview(
        app, "--policy", "eu-directive", "--received", "2026-12-18 16:00", "--group", "boss"
    )
    assert code != 0 and out == ""
    assert "There is no reporter group called 'boss'" in err and "employee, customer" in err


def test_months_clamp_and_the_hour_holds_across_daylight_saving(app: Flask) -> None:
    code, out, err = preview(app, "--policy", "eu-directive", "--received", "2026-11-23T09:00")
    assert code == 0, err
    # Seven days, then three months clamped to February's end, at 09:00 Berlin time in winter.
    assert "2026-11-30 09:00  eu-directive/acknowledge  due: acknowledge the report" in out
    assert "2027-02-28 09:00  eu-directive/feedback  due: give feedback" in out
    # Received in winter, due in summer: the wall-clock hour stays 09:00.
    code, out, err = preview(app, "--policy", "eu-directive", "--received", "2027-03-20 09:00")
    assert code == 0, err
    assert "2027-06-27 09:00  eu-directive/feedback  due: give feedback" in out


def test_unknown_policy_and_bad_time_are_clear_errors(app: Flask) -> None:
    code, out, err = preview(app, "--policy", "gdpr", "--received", "2026-12-18 16:00")
    assert code != 0 and out == ""
    assert "There is no policy called 'gdpr'" in err and "eu-directive" in err
    code, out, err = preview(app, "--policy", "eu-directive", "--received", "18/12/2026 4pm")
    assert code != 0 and out == ""
    assert "is not a date and time. Write it as 2026-12-18 16:00." in err
    code, out, err = preview(
        app, "--policy", "eu-directive", "--received", "2026-12-18 16:00", "--tier", "4"
    )
    assert code != 0 and out == ""
