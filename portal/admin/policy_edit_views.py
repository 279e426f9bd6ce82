"""Policies an organisation makes and changes: create one from a preset, edit its clocks in a
form or its whole text, and read its history. Every save is a new version; no page needs script.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.admin.forms import (
    NewPolicyForm,
    PolicyClocksForm,
    PolicyTextForm,
    new_policy_form,
)
from portal.i18n import _
from portal.models import PolicyVersion
from portal.services.clock import policy_text, preview, versions
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from portal.services.policies import PRESETS, Policy, load_policy
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, db_session


@bp.route("/policies/new", methods=["GET", "POST"])
@admin_required
def new_policy() -> ResponseReturnValue:
    presets = {name: _(load_policy(name).title) for name in PRESETS}
    form = new_policy_form(presets)
    if request.method == "GET" and request.args.get("preset") in presets:
        form.preset.data = request.args["preset"]
    if form.validate_on_submit():
        try:
            created = versions.create_from_preset(
                db_session(),
                form.preset.data or "",
                (form.name.data or "").strip(),
                form.title.data or "",
                actor=staff().user,
                now=utcnow(),
            )
        except (InvalidInputError, AlreadyExistsError) as exc:
            form.name.errors = [str(exc)]
        else:
            flash(
                _(
                    "The policy %(name)s is made (version 1). No category runs it yet: "
                    "choose it under Categories when it is ready.",
                    name=created.name,
                ),
                "info",
            )
            return redirect(url_for("admin.policy_page", policy=created.name))
    return _new_page(form, _expired(form)), (400 if request.method == "POST" else 200)


def _new_page(form: NewPolicyForm, problems: list[str]) -> str:
    return render_template("admin/policy_new.html", form=form, problems=problems)


@bp.get("/policies/<policy>/edit")
@admin_required
def edit_policy(policy: str) -> ResponseReturnValue:
    row = _latest(policy)
    current = versions.resolve_policy(db_session(), versions.reference(policy, row.version))
    clocks_form = PolicyClocksForm(data=_clock_values(current, row.version), formdata=None)
    text_form = PolicyTextForm(data={"edited_version": row.version, "text": row.content})
    return _edit_page(row, current, clocks_form, text_form)


@bp.post("/policies/<policy>/edit")
@admin_required
def save_policy_clocks(policy: str) -> ResponseReturnValue:
    """The form's values on each clock, every other key of the text kept, as the next version."""
    row = _latest(policy)
    current = versions.resolve_policy(db_session(), versions.reference(policy, row.version))
    form = PolicyClocksForm()
    text_form = PolicyTextForm(
        data={"edited_version": row.version, "text": row.content}, formdata=None
    )
    problems = _expired(form)
    clock_errors: dict[str, str] = {}
    if form.validate_on_submit():
        changes = _changes(form, current)
        if changes is not None:
            try:
                text = policy_text.with_clock_changes(row.content, changes)
                return _saved(
                    versions.save_version(
                        db_session(),
                        policy,
                        text,
                        form.note.data or "",
                        edited_version=_number(form.edited_version.data),
                        actor=staff().user,
                        now=utcnow(),
                    )
                )
            except policy_text.PolicyTextError as exc:
                _place(str(exc), current, clock_errors, problems)
            except (InvalidInputError, AlreadyExistsError) as exc:
                problems.append(str(exc))
    return _edit_page(
        row, current, form, text_form, clock_problems=problems, clock_errors=clock_errors
    ), 400


@bp.post("/policies/<policy>/edit/text")
@admin_required
def save_policy_text(policy: str) -> ResponseReturnValue:
    """The admin's whole text (ladders, sources, anything the form does not cover) as the
    next version, read by the presets' own parser first."""
    row = _latest(policy)
    current = versions.resolve_policy(db_session(), versions.reference(policy, row.version))
    form = PolicyTextForm()
    clocks_form = PolicyClocksForm(data=_clock_values(current, row.version), formdata=None)
    problems = _expired(form)
    if form.validate_on_submit():
        try:
            return _saved(
                versions.save_version(
                    db_session(),
                    policy,
                    # Browsers send a textarea's lines ending in CR LF.
                    (form.text.data or "").replace("\r\n", "\n"),
                    form.note.data or "",
                    edited_version=_number(form.edited_version.data),
                    actor=staff().user,
                    now=utcnow(),
                )
            )
        except policy_text.PolicyTextError as exc:
            form.text.errors = [str(exc)]
        except (InvalidInputError, AlreadyExistsError) as exc:
            problems.append(str(exc))
    return _edit_page(row, current, clocks_form, form, text_problems=problems), 400


@bp.get("/policies/<policy>/history")
@admin_required
def policy_history(policy: str) -> ResponseReturnValue:
    """Every version (who, when, why); with ?version=N, what N changed from the one before."""
    try:
        entries = versions.history(db_session(), policy)
        shown = request.args.get("version")
        number = int(shown) if shown and shown.isdigit() else entries[0].version
        diff = versions.diff_to_previous(db_session(), policy, number)
    except NotFoundError:
        abort(404)
    return render_template(
        "admin/policy_history.html",
        name=policy,
        title=_(versions.resolve_policy(db_session(), policy).title),
        entries=entries,
        number=number,
        diff=diff,
        based_on=versions.get_version(db_session(), policy, 1).based_on,
        timezone=app_config().site.timezone,
        local_minute=lambda moment: preview.local_minute(moment, app_config().site.timezone),
    )


def _latest(policy: str) -> PolicyVersion:
    if not versions.is_custom(policy):
        abort(404)
    try:
        return versions.get_version(db_session(), policy)
    except NotFoundError:
        abort(404)


def _saved(row: PolicyVersion) -> ResponseReturnValue:
    flash(
        _(
            "Version %(version)s of %(name)s is saved. New cases take it; cases already filed "
            "keep the version they were filed under.",
            version=row.version,
            name=row.name,
        ),
        "info",
    )
    return redirect(url_for("admin.policy_page", policy=row.name))


def _number(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _clock_values(policy: Policy, version: int) -> dict[str, Any]:
    return {
        "edited_version": version,
        "clocks": [
            {
                "key": rule.key,
                "duration": rule.duration.amount,
                "unit": rule.duration.unit.value,
                "warn_before": ", ".join(f"{w.amount} {w.unit.value}" for w in rule.warn_before),
                "escalate_every": (
                    f"{rule.escalate_every.amount} {rule.escalate_every.unit.value}"
                    if rule.escalate_every
                    else ""
                ),
                "at_expiry": sorted(rule.at_expiry),
            }
            for rule in policy.clocks
        ],
    }


def _changes(form: PolicyClocksForm, current: Policy) -> dict[str, policy_text.ClockChange] | None:
    """Each clock's values, checked one field at a time (the message goes beside the field);
    None when any is wrong."""
    keys = {rule.key for rule in current.clocks}
    changes: dict[str, policy_text.ClockChange] = {}
    wrong = False
    for entry in form.clocks:
        clock = entry.form
        if clock.key.data not in keys:
            abort(400)
        try:
            warnings = policy_text.durations(clock.warn_before.data or "")
        except policy_text.PolicyTextError as exc:
            clock.warn_before.errors = [str(exc)]
            wrong = True
            warnings = ()
        step = (clock.escalate_every.data or "").strip()
        try:
            step = policy_text.duration(step) if step else ""
        except policy_text.PolicyTextError as exc:
            clock.escalate_every.errors = [str(exc)]
            wrong = True
        changes[clock.key.data] = policy_text.ClockChange(
            duration=int(clock.duration.data or 0),
            unit=clock.unit.data or "",
            warn_before=warnings,
            escalate_every=step or None,
            at_expiry=tuple(clock.at_expiry.data or ()),
        )
    return None if wrong else changes


def _place(
    message: str, current: Policy, clock_errors: dict[str, str], problems: list[str]
) -> None:
    """What reading the whole policy found goes beside the clock it names, if it names one."""
    for rule in current.clocks:
        where = f"clock {rule.key}:"
        if where in message:
            clock_errors[rule.key] = message.split(where, 1)[1].strip()
            return
    problems.append(message)


def _expired(form: Any) -> list[str]:
    if request.method == "POST" and form.csrf_token.errors:
        return [_("The form has expired. Please try again.")]
    return []


def _edit_page(
    row: PolicyVersion,
    current: Policy,
    clocks_form: PolicyClocksForm,
    text_form: PolicyTextForm,
    *,
    clock_problems: list[str] | None = None,
    clock_errors: dict[str, str] | None = None,
    text_problems: list[str] | None = None,
) -> str:
    return render_template(
        "admin/policy_edit.html",
        name=row.name,
        version=row.version,
        policy=current,
        labels={rule.key: _(rule.label) for rule in current.clocks},
        clocks_form=clocks_form,
        text_form=text_form,
        clock_problems=clock_problems or [],
        clock_errors=clock_errors or {},
        text_problems=text_problems or [],
    )
