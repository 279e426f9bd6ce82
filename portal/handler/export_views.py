"""Exporting a case: a page that warns first, then the PDF or the zip as a download."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

import crypto
from portal.downloads import attachment_response
from portal.handler import bp
from portal.handler.case_views import _access
from portal.handler.forms import ExportForm
from portal.i18n import _
from portal.services import casework
from portal.services import export as export_service
from portal.services import inbox as inbox_service
from portal.services.errors import InvalidInputError
from portal.staff import case_handler_required
from portal.timeutil import utcnow
from portal.uploads import attachment_store
from portal.web import app_config, db_session, intake_settings

CHUNK = 64 * 1024


@bp.route("/cases/<uid>/export", methods=["GET", "POST"])
@case_handler_required
def export(uid: str) -> ResponseReturnValue:
    """GET: what leaving the site means, and the choice of format. POST: the download."""
    access = _access(uid)
    form = ExportForm()
    if not form.validate_on_submit():
        return _page(access, form, status=400 if request.method == "POST" else 200)
    if form.format.data == "pdf" and form.passphrase.data:
        # Refused rather than ignored: a handler must not believe a plain PDF is protected.
        problem = _("A passphrase encrypts only the zip: choose the zip, or leave it empty.")
        return _page(access, form, problem=problem, status=400)
    config = app_config()
    zone = ZoneInfo(config.site.timezone)
    try:
        if form.format.data == "zip":
            done = export_service.export_zip(
                db_session(),
                access,
                attachment_store(),
                passphrase=form.passphrase.data or None,
                intake=intake_settings(),
                zone=zone,
                now=utcnow(),
            )
        else:
            done = export_service.export_pdf(
                db_session(), access, intake=intake_settings(), zone=zone, now=utcnow()
            )
    except InvalidInputError as exc:
        return _page(access, form, problem=str(exc), status=400)
    except crypto.DecryptionError:
        current_app.logger.warning("refused an export: stored content failed its integrity check")
        return render_template(
            "handler/export_refused.html",
            case=access.case,
            reference=inbox_service.reference(access.case),
        ), 500
    content = done.content
    return attachment_response(done.name, done.size, iter(lambda: content.read(CHUNK), b""))


def _page(
    access: casework.CaseAccess, form: ExportForm, problem: str = "", status: int = 200
) -> ResponseReturnValue:
    session = db_session()
    return render_template(
        "handler/export.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        form=form,
        problem=problem,
        has_identity=access.case.sealed_identity is not None,
        identity_included=export_service.has_revealed_identity(session, access),
        identity_withheld=export_service.identity_withheld(session, access),
        min_length=export_service.MIN_PASSPHRASE_LENGTH,
    ), status
