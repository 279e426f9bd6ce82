"""The statistics page, its CSV downloads and the annual report for the board.

Handlers, admins and analysts see it; every figure is an aggregate of metadata
(``services.statistics``), so nothing is opened and no staff key is needed.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import flask_babel
from flask import Response, abort, render_template, request
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.i18n import _
from portal.services import annual_report, statistics, statistics_figures
from portal.services.errors import InvalidInputError
from portal.staff import staff, staff_required
from portal.timeutil import utcnow
from portal.web import app_config, db_session


def _zone() -> ZoneInfo:
    return ZoneInfo(app_config().site.timezone)


def _may_see() -> None:
    user = staff().user
    # An analyst sees the organisation's figures, never a case; a custodian not even those.
    if not (user.is_handler or user.is_admin or user.is_analyst):
        abort(403)


def _category_labels() -> dict[str, str]:
    return {c.key: c.label for c in app_config().intake.categories}


def _day(name: str) -> date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(
            _("Enter each date as year-month-day, for example 2026-01-31.")
        ) from None


def _period() -> tuple[statistics.Period, str | None]:
    """The period the query asks for, or the last 12 months and what was wrong with it."""
    default = statistics.default_period(utcnow(), _zone())
    try:
        first, last = _day("start"), _day("end")
        if first is None and last is None:
            return default, None
        return statistics.make_period(
            first or default.first_day, last or default.last_day, _zone()
        ), None
    except InvalidInputError as exc:
        return default, str(exc)


def _period_text(period: statistics.Period) -> str:
    return _(
        "Reports received from %(first)s to %(last)s",
        first=flask_babel.format_date(period.first_day, "long"),
        last=flask_babel.format_date(period.last_day, "long"),
    )


@bp.get("/statistics")
@staff_required
def statistics_page() -> ResponseReturnValue:
    _may_see()
    period, error = _period()
    now = utcnow()
    figures = statistics_figures.figures(
        statistics.compute(db_session(), period, now=now), _category_labels()
    )
    return render_template(
        "handler/statistics.html",
        period=period,
        period_text=_period_text(period),
        error=error,
        figures=figures,
        charts={f.key: statistics_figures.chart(f) for f in figures},
        this_year=now.astimezone(_zone()).year,
    )


@bp.get("/statistics.csv")
@staff_required
def statistics_csv() -> ResponseReturnValue:
    _may_see()
    period, error = _period()
    if error is not None:
        abort(400)
    stats = statistics.compute(db_session(), period, now=utcnow())
    key = request.args.get("figure", "")
    chosen = [f for f in statistics_figures.figures(stats, _category_labels()) if f.key == key]
    if not chosen:
        abort(404)
    name = f"statistics-{key}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return Response(
        statistics_figures.to_csv(chosen[0], _period_text(period)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.get("/statistics/annual-report")
@staff_required
def annual_report_pdf() -> ResponseReturnValue:
    _may_see()
    try:
        period = statistics.year_period(int(request.args.get("year", "")), _zone())
    except (ValueError, InvalidInputError):
        abort(400)
    now = utcnow()
    body = annual_report.render(
        statistics.compute(db_session(), period, now=now),
        site_name=app_config().site.name,
        category_labels=_category_labels(),
        now=now,
    )
    name = f"annual-report-{period.first_day.year}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
