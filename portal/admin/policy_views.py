"""Policies as an admin reads them: each clock in words beside the source it encodes, and the
timeline a report would follow if nobody acted."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.admin.forms import ConfirmForm, preview_form
from portal.i18n import _
from portal.services import clock
from portal.services.clock import meetings, preview, reviews, versions
from portal.services.errors import InvalidInputError
from portal.services.policies import PRESETS, Policy, PolicyError, load_policy
from portal.services.policy_page import facts, flowchart
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, clock_settings, db_session, intake_settings


@bp.get("/policies")
@admin_required
def policies() -> str:
    used_by: dict[str, list[str]] = {}
    for key, names in clock.policies_by_category(db_session(), intake_settings()).items():
        category = intake_settings().category(key)
        for name in names:
            used_by.setdefault(name, []).append(category.label if category else key)
    return render_template(
        "admin/policies.html",
        policies=[load_policy(name) for name in PRESETS],
        custom=versions.custom_policies(db_session()),
        used_by=used_by,
    )


@bp.get("/policies/<policy>")
@admin_required
def policy_page(policy: str) -> ResponseReturnValue:
    """A preset as shipped, or a custom policy at the version asked for (else its latest); the
    preview runs the very version the page shows."""
    chosen = _shown(policy, request.args.get("version"))
    timezone = app_config().site.timezone
    groups = intake_settings().groups
    form = preview_form(groups, request.args)
    timeline = None
    problems: list[str] = []
    first_visit = "received" not in request.args
    if first_visit:
        # A first visit previews a report received now, so the page is never empty.
        form.received.data = (
            utcnow().astimezone(ZoneInfo(timezone)).replace(tzinfo=None, second=0, microsecond=0)
        )
    if (first_visit or form.validate()) and form.received.data is not None:
        try:
            timeline = preview.preview_timeline(
                chosen,
                form.received.data.replace(tzinfo=ZoneInfo(timezone)),
                form.tier.data,
                calendar=clock_settings().calendar,
                group=form.group.data or None,
                meetings=meetings.meeting_days(db_session()),
            )
        except InvalidInputError as exc:
            problems.append(str(exc))
    else:
        problems.extend(
            _("The date and time: write it as 2026-12-18 16:00.") if field == "received" else e
            for field, errors in form.errors.items()
            for e in errors
        )
    group_label = next((g.label for g in groups if g.key == form.group.data), "")
    custom = versions.is_custom(policy)
    latest = versions.latest_version(db_session(), policy) if custom else None
    return render_template(
        "admin/policy.html",
        policy=chosen,
        page_name=policy,
        version=versions.version_label(chosen.name),
        version_number=versions.split_reference(chosen.name)[1],
        latest=latest,
        words={rule.key: preview.clock_in_words(rule, chosen) for rule in chosen.clocks},
        form=form,
        timeline=timeline,
        problems=problems,
        group_label=group_label,
        group_labels={g.key: g.label for g in groups},
        timezone=timezone,
        local_minute=preview.local_minute,
        review=reviews.review_status(db_session(), policy, clock_settings().calendar),
        # The flowchart the policy page publishes, of the very version shown here.
        flow=flowchart.flowchart_of(chosen, tuple(facts.clock_facts(chosen, groups))),
        flowchart_markup=flowchart.markup,
        now=utcnow(),
        local_day=_local_day,
    ), (400 if problems else 200)


@bp.route("/policies/<policy>/review", methods=["GET", "POST"])
@admin_required
def mark_reviewed(policy: str) -> ResponseReturnValue:
    """The admin confirms that the policy was reviewed; a bare POST without the confirmation
    page's field (or its CSRF token) records nothing."""
    chosen = _shown(policy, None)
    calendar = clock_settings().calendar
    form = ConfirmForm()
    if not form.validate_on_submit():
        status = reviews.review_status(db_session(), policy, calendar)
        return render_template(
            "admin/confirm_review.html",
            policy=chosen,
            page_name=policy,
            review=status,
            form=form,
            would_be_due=(
                calendar.add(utcnow(), chosen.review_every) if chosen.review_every else None
            ),
            local_day=_local_day,
        ), (400 if request.method == "POST" else 200)
    done = reviews.mark_reviewed(
        db_session(), policy, actor=staff().user, calendar=calendar, now=utcnow()
    )
    if done.next_due is not None:
        flash(
            _(
                "%(title)s: recorded as reviewed today. The next review is due on %(date)s.",
                title=_(chosen.title),
                date=_local_day(done.next_due),
            ),
            "info",
        )
    else:
        flash(_("%(title)s: recorded as reviewed today.", title=_(chosen.title)), "info")
    return redirect(url_for("admin.policy_page", policy=policy))


def _shown(name: str, version: str | None) -> Policy:
    """The policy a page shows: a preset, or a custom policy's version (its latest by default);
    404 for anything else, a version reference in the address included."""
    if "@" in name or (version is not None and (name in PRESETS or not version.isdigit())):
        abort(404)
    try:
        return versions.resolve_policy(
            db_session(), versions.reference(name, int(version)) if version else name
        )
    except PolicyError:
        abort(404)


def _local_day(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(app_config().site.timezone)).strftime("%Y-%m-%d")
