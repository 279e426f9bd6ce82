"""Policies as an admin reads them: each clock in words beside the source it encodes, and the
timeline a report would follow if nobody acted."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.admin.forms import REPORTER_GROUPS, PreviewForm
from portal.services import clock
from portal.services.clock import preview
from portal.services.errors import InvalidInputError
from portal.services.policies import PRESETS, load_policy
from portal.staff import admin_required
from portal.timeutil import utcnow
from portal.web import app_config, clock_settings, db_session


@bp.get("/policies")
@admin_required
def policies() -> str:
    config = app_config()
    used_by: dict[str, list[str]] = {}
    for key, names in clock.policies_by_category(db_session(), config.intake).items():
        category = config.intake.category(key)
        for name in names:
            used_by.setdefault(name, []).append(category.label if category else key)
    return render_template(
        "admin/policies.html",
        policies=[load_policy(name) for name in PRESETS],
        used_by=used_by,
    )


@bp.get("/policies/<policy>")
@admin_required
def policy_page(policy: str) -> ResponseReturnValue:
    if policy not in PRESETS:
        abort(404)
    chosen = load_policy(policy)
    timezone = app_config().site.timezone
    form = PreviewForm(request.args)
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
                policy,
                form.received.data.replace(tzinfo=ZoneInfo(timezone)),
                form.tier.data,
                calendar=clock_settings().calendar,
                group=form.group.data or None,
            )
        except InvalidInputError as exc:
            problems.append(str(exc))
    else:
        problems.extend(
            "The date and time: write it as 2026-12-18 16:00." if field == "received" else e
            for field, errors in form.errors.items()
            for e in errors
        )
    group_label = REPORTER_GROUPS.get(form.group.data or "", "")
    return render_template(
        "admin/policy.html",
        policy=chosen,
        words={rule.key: preview.clock_in_words(rule, chosen) for rule in chosen.clocks},
        form=form,
        timeline=timeline,
        problems=problems,
        group_label=group_label,
        timezone=timezone,
        local_minute=preview.local_minute,
    ), (400 if problems else 200)
