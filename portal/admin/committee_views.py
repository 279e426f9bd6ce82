"""The appeal's people and dates (seeds/002, lines 80-82): who is Company Secretary, who sits on
the committee, and when the committee meets."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs

from portal.admin import bp
from portal.admin.forms import MeetingsForm, SecretaryForm
from portal.i18n import _, _n
from portal.services.clock import appeals, meetings
from portal.services.errors import InvalidInputError
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import clock_settings, db_session, parse_id

SUGGESTED_MEETINGS = 6


@bp.get("/committee")
@admin_required
def committee() -> ResponseReturnValue:
    """The page; ``?first=2027-01-14`` fills the dates with a bi-monthly suggestion to check."""
    days = meetings.meeting_days(db_session())
    meetings_form = MeetingsForm(formdata=None)
    problems: list[str] = []
    first = request.args.get("first", "").strip()
    if first:
        try:
            suggested = meetings.bi_monthly(date.fromisoformat(first), SUGGESTED_MEETINGS)
        except ValueError:
            problems.append(
                _("“%(given)s” is not a date. Write it as 2027-01-14.", given=first[:20])
            )
            suggested = ()
        days = tuple(sorted(set(days) | set(suggested)))
        if suggested:
            flash(
                _(
                    "The dates below include a bi-monthly suggestion. Check them against the "
                    "committee's calendar, then save: nothing is saved until you do."
                ),
                "info",
            )
    meetings_form.days.data = "\n".join(d.isoformat() for d in days)
    return _page(meetings_form=meetings_form, problems=problems), (400 if problems else 200)


@bp.post("/committee/meetings")
@admin_required
def committee_meetings() -> ResponseReturnValue:
    form = MeetingsForm()
    if not form.validate():
        return _page(meetings_form=form, problems=_problems(form)), 400
    try:
        days = meetings.choose_meetings(
            db_session(), form.days.data or "", actor_id=staff().user.id, now=utcnow()
        )
    except InvalidInputError as exc:
        return _page(meetings_form=form, problems=[str(exc)]), 400
    flash(
        _n(
            "The committee's meeting dates are saved (%(num)d in all). An appeal that reaches "
            "the committee from now on is due at the first meeting after it; appeals already "
            "before the committee keep their due time.",
            "The committee's meeting dates are saved (%(num)d in all). An appeal that reaches "
            "the committee from now on is due at the first meeting after it; appeals already "
            "before the committee keep their due time.",
            len(days),
        ),
        "info",
    )
    return redirect(url_for("admin.committee"))


@bp.post("/committee/secretary")
@admin_required
def committee_secretary() -> ResponseReturnValue:
    form = _secretary_form()
    if not form.validate():
        return _page(secretary_form=form, problems=_problems(form)), 400
    value = form.user_id.data or ""
    user_id = parse_id(value)
    if value and user_id is None:
        return _page(secretary_form=form, problems=[_("Choose an account from the list.")]), 400
    try:
        chosen = appeals.assign_secretary(db_session(), user_id, actor=staff().user, now=utcnow())
    except InvalidInputError as exc:
        return _page(secretary_form=form, problems=[str(exc)]), 400
    if chosen is None:
        flash(_("No one is Company Secretary now: appeals go straight to the committee."), "info")
    else:
        flash(_("%(name)s is now the Company Secretary.", name=chosen.display_name), "info")
    return redirect(url_for("admin.committee"))


def _secretary_form() -> SecretaryForm:
    form = SecretaryForm()
    form.user_id.choices = [SelectChoice("", _("Nobody: appeals go straight to the committee"))] + [
        SelectChoice(str(u.id), f"{u.display_name} ({u.title})")
        for u in appeals.secretary_candidates(db_session())
    ]
    return form


def _page(
    *,
    secretary_form: SecretaryForm | None = None,
    meetings_form: MeetingsForm | None = None,
    problems: list[str],
) -> str:
    session = db_session()
    secretary = appeals.current_secretary(session)
    if secretary_form is None:
        secretary_form = _secretary_form()
        secretary_form.user_id.data = str(secretary.id) if secretary else ""
    if meetings_form is None:
        meetings_form = MeetingsForm(formdata=None)
        meetings_form.days.data = "\n".join(d.isoformat() for d in meetings.meeting_days(session))
    settings = clock_settings()
    return render_template(
        "admin/committee.html",
        secretary=secretary,
        secretary_form=secretary_form,
        meetings_form=meetings_form,
        schedule=meetings.schedule(session, now=utcnow(), calendar=settings.calendar),
        members=appeals.committee_members(session),
        zone=settings.calendar.timezone,
        problems=problems,
    )


def _problems(form: object) -> list[str]:
    errors: dict[str, list[str]] = getattr(form, "errors", {})
    problems = []
    for name, messages in errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        problems.append(_("%(label)s: %(messages)s", label=label, messages=" ".join(messages)))
    return problems
