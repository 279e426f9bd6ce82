"""Reports received another way (telephone, voice message, post, e-mail, meeting), the
minutes' revision, the third-party flag and links between cases."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.argon2_gate import Argon2BusyError
from portal.handler import bp
from portal.handler.case_views import case_action
from portal.handler.forms import OralReportForm
from portal.i18n import _
from portal.services import casework, intake, oral
from portal.services.errors import InvalidInputError
from portal.staff import case_handler_required, handler_required, staff
from portal.timeutil import utcnow
from portal.uploads import attachment_store, collect_uploads, upload_problem
from portal.web import (
    app_config,
    argon2_gate,
    argon2_profile,
    busy_headers,
    clock_settings,
    db_session,
    intake_settings,
)


def _oral_form() -> OralReportForm:
    form = OralReportForm()
    form.channel.choices = [
        ("", _("Choose…")),
        *((k, _(label)) for k, label in oral.CHANNELS.items()),
    ]
    form.category.choices = [(c.key, c.label) for c in intake_settings().categories]
    return form


def _page(form: OralReportForm, problems: list[str], status: int = 200) -> ResponseReturnValue:
    return render_template(
        "handler/oral_report.html",
        form=form,
        problems=problems,
        timezone=app_config().site.timezone,
        max_upload_mb=app_config().storage.max_upload_mb,
    ), status


@bp.route("/oral-reports/new", methods=["GET", "POST"])
@handler_required
def record_oral_report() -> ResponseReturnValue:
    """Record a report received another way; the receipt is shown once, in the answer."""
    form = _oral_form()
    if request.method == "GET":
        form.form_token.data = intake.new_form_token()
        return _page(form, [])
    uploads = collect_uploads(request.files.getlist("attachments"))
    config = app_config()
    problems: list[str] = []
    if not form.validate():
        problems.extend(
            _(
                "%(field)s: %(problems)s",
                field=getattr(form, k).label.text,
                problems=" ".join(str(m) for m in v),
            )
            for k, v in form.errors.items()
        )
    if upload_problem():
        problems.append(upload_problem() or "")
    if problems or not form.form_token.data:
        for upload in uploads:
            attachment_store().discard(upload.uid)
        return _page(form, problems or [_("The form could not be accepted.")], 400)
    zone = ZoneInfo(config.site.timezone)
    received = form.received.data
    report = oral.OralReport(
        form_token=form.form_token.data,
        channel=form.channel.data or "",
        received_at=received.replace(tzinfo=zone) if received is not None else None,
        category=form.category.data or "",
        tier=int(form.tier.data or 0) if (form.tier.data or "").isdigit() else 0,
        minutes=form.minutes.data or "",
        third_party=bool(form.third_party.data),
        uploads=uploads,
    )
    try:
        receipt = oral.record_oral_report(
            db_session(),
            report,
            handler=staff().user,
            intake_config=intake_settings(),
            pepper=config.security.receipt_pepper,
            profile=argon2_profile(),
            store=attachment_store(),
            clock_settings=clock_settings(),
            now=utcnow(),
            gate=argon2_gate(),
        )
    except InvalidInputError as exc:
        return _page(form, [str(exc)], 400)
    except Argon2BusyError as exc:
        busy = _(
            "The site is busy right now, so the report was not recorded yet. Press the button "
            "again in a few seconds."
        )
        html = render_template(
            "handler/oral_report.html",
            form=form,
            problems=[busy],
            timezone=config.site.timezone,
            max_upload_mb=config.storage.max_upload_mb,
        )
        return html, 503, busy_headers(exc)
    except intake.AlreadyFiledError:
        flash(
            _(
                "This report was recorded already. Its receipt code and passphrase were shown "
                "once and are not stored, so they cannot be shown again."
            ),
            "info",
        )
        return redirect(url_for("handler.inbox"))
    # Shown once, in the answer to the POST (every page is sent with "no-store").
    return render_template("handler/oral_receipt.html", receipt=receipt)


@bp.post("/cases/<uid>/minutes")
@case_handler_required
def revise_minutes(uid: str) -> ResponseReturnValue:
    """A new version of the minutes after the reporter's correction; the reporter is asked
    again."""
    body = request.form.get("body", "")

    def action(access: casework.CaseAccess) -> str:
        oral.revise_minutes(db_session(), access, body, now=utcnow())
        return _("The revised minutes have been sent to the reporter for approval.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/third-party")
@case_handler_required
def third_party(uid: str) -> ResponseReturnValue:
    value = request.form.get("third_party", "")

    def action(access: casework.CaseAccess) -> str:
        # Checked once the case is open: anyone without it gets 404 whatever they send.
        if value not in ("yes", "no"):
            abort(400)
        oral.set_third_party(db_session(), access, value == "yes", now=utcnow())
        if value == "yes":
            return _("The report is marked as a third party's.")
        return _("The report is no longer marked as a third party's.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/links")
@case_handler_required
def link_case(uid: str) -> ResponseReturnValue:
    reference = request.form.get("reference", "")

    def action(access: casework.CaseAccess) -> str:
        oral.link_cases(db_session(), access, reference, now=utcnow())
        return _("The cases are linked.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/links/remove")
@case_handler_required
def unlink_case(uid: str) -> ResponseReturnValue:
    reference = request.form.get("reference", "")

    def action(access: casework.CaseAccess) -> str:
        oral.unlink_cases(db_session(), access, reference, now=utcnow())
        return _("The link between the cases is removed.")

    return case_action(uid, action)
