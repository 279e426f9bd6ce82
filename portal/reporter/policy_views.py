"""The published policy: /policy and its PDF, written from the policies the clock runs."""

from __future__ import annotations

from datetime import date

import flask_babel
from flask import Response, render_template, url_for

from portal.reporter import bp
from portal.services.policy_page import blocks, content, document, flowchart, sections
from portal.timeutil import utcnow
from portal.web import app_config, clock_settings, current_settings, db_session, intake_settings


def _page() -> content.PolicyPage:
    return content.policy_page(
        db_session(),
        intake_settings=intake_settings(),
        site_name=current_settings().look.name,
        retention_days=current_settings().retention_days,
        retention_config=app_config().retention,
        calendar=clock_settings().calendar,
        now=utcnow(),
    )


def _day(value: date) -> str:
    """A day in the page's language and the site's time zone ("30 November 2026")."""
    return str(flask_babel.format_date(value, "long"))


@bp.get("/policy")
def policy() -> str:
    page = _page()
    return render_template(
        "reporter/policy.html",
        page=page,
        sections=sections.sections(
            page,
            day=_day,
            report_url=url_for("reporter.file_report"),
            check_url=url_for("reporter.check"),
        ),
        kind=blocks.kind,
        flowchart_markup=flowchart.markup,
    )


@bp.get("/policy.pdf")
def policy_pdf() -> Response:
    """The same page as a PDF, in the page's language (``?lang=`` as on every page)."""
    base = app_config().site.base_url.rstrip("/")
    body = document.render_policy(
        _page(),
        day=_day,
        report_url=base + url_for("reporter.file_report"),
        check_url=base + url_for("reporter.check"),
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'inline; filename="policy.pdf"'},
    )
