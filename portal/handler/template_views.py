"""A handler starts a message to the reporter from a response template, without JavaScript: the
"Use template" button posts the reply form here, and the case page comes back with the template,
filled for the case, in the message box. Nothing is sent or stored; the handler edits and sends
as usual."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, request
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.handler.case_views import access_or_404, render_template_start
from portal.handler.forms import PlainForm
from portal.i18n import _
from portal.services.response_templates import catalogue, filling
from portal.staff import case_handler_required
from portal.web import app_config, db_session, site_look


@bp.post("/cases/<uid>/template")
@case_handler_required
def use_template(uid: str) -> ResponseReturnValue:
    """The case page with the chosen template filled in below what the handler had typed.

    A POST, not a link: the typed text travels in the body, never in a URL that a log keeps.
    """
    if not PlainForm().validate():
        abort(400)
    access = access_or_404(uid)
    kind = request.form.get("template", "")
    typed = request.form.get("body", "")
    if kind not in catalogue.KINDS:
        return render_template_start(
            access,
            kind="",
            text=typed,
            notice=_("Choose a template."),
            status=400,
        )
    filled = filling.prefill(
        db_session(),
        access.case,
        kind,
        handler=access.handler,
        zone=ZoneInfo(app_config().site.timezone),
        site_name=site_look().name,
    )
    # What was typed stays first, whole; the template comes below it (nothing is replaced).
    text = f"{typed.rstrip()}\n\n{filled.text}" if typed.strip() else filled.text
    notice = _(
        "The template “%(template)s” is in the message box below, filled in for this case. "
        "Check and edit it, then send it.",
        template=catalogue.kind_label(kind),
    )
    if typed.strip():
        notice += " " + _("What you had typed is kept above it.")
    if filled.missing:
        notice += " " + _(
            "This case has no value for %(names)s: fill it in by hand.",
            names=", ".join(f"{{{name}}}" for name in filled.missing),
        )
    if any(request.form.getlist("attachments")):
        notice += " " + _("Choose your files again: a browser does not keep them.")
    return render_template_start(access, kind=kind, text=text, notice=notice, status=200)
