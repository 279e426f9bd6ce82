"""Admin > Response templates: the organisation's texts for the typed messages to the
reporter, per kind and language, over the shipped defaults; a preview with a sample case's
values, and a confirmed reset to the default."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from portal import i18n
from portal.admin import bp
from portal.admin.forms import ConfirmForm
from portal.admin.translation_views import text_languages
from portal.i18n import _, _l
from portal.services.errors import InvalidInputError
from portal.services.response_templates import catalogue, filling, store
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, db_session, site_look


# Flask-WTF ships no type information (pyproject lets only portal.*.forms subclass its Any).
class ResponseTemplateForm(FlaskForm):  # type: ignore[misc]
    # The service checks the length again, with a message that says the limit.
    text = TextAreaField(
        _l("The template's text"),
        validators=[Length(max=catalogue.MAX_TEMPLATE_LENGTH * 2)],
    )


def _language_or_404(code: str) -> i18n.Language:
    chosen = next((x for x in text_languages() if x.code == code), None)
    if chosen is None:
        abort(404)
    return chosen


def _kind_or_404(kind: str) -> str:
    if kind not in catalogue.KINDS:
        abort(404)
    return kind


@bp.get("/response-templates")
@admin_required
def response_templates() -> ResponseReturnValue:
    languages = text_languages()
    states = store.list_templates(db_session(), [x.code for x in languages])
    return render_template(
        "admin/response_templates.html",
        states=states,
        languages={x.code: x for x in languages},
        kinds={kind: catalogue.kind_label(kind) for kind in catalogue.KINDS},
    )


def _preview(text: str, language: str) -> catalogue.Filled:
    values = filling.sample_values(
        db_session(),
        admin=staff().user,
        zone=ZoneInfo(app_config().site.timezone),
        site_name=site_look().name,
        language=language,
        now=utcnow(),
    )
    return catalogue.fill(text, values)


def _edit_page(
    kind: str,
    language: i18n.Language,
    form: ResponseTemplateForm,
    problem: str = "",
    previewing: bool = False,
) -> str:
    state = store.template_state(db_session(), kind, language.code)
    return render_template(
        "admin/response_template.html",
        kind=kind,
        kind_label=catalogue.kind_label(kind),
        template_language=language,
        state=state,
        form=form,
        problem=problem,
        previewing=previewing,
        preview=_preview(form.text.data or "", language.code),
        placeholders={name: _(words) for name, words in catalogue.PLACEHOLDERS.items()},
    )


@bp.route("/response-templates/<template_kind>/<language>", methods=["GET", "POST"])
@admin_required
def edit_response_template(template_kind: str, language: str) -> ResponseReturnValue:
    kind, chosen = _kind_or_404(template_kind), _language_or_404(language)
    form = ResponseTemplateForm()
    if request.method == "GET":
        form.text.data = store.template_text(db_session(), kind, chosen.code)
        return _edit_page(kind, chosen, form)
    if not form.validate_on_submit():
        return _edit_page(kind, chosen, form, _("The text is too long.")), 400
    if request.form.get("action") == "preview":
        return _edit_page(kind, chosen, form, previewing=True)
    try:
        store.save_template(
            db_session(),
            kind,
            chosen.code,
            form.text.data or "",
            actor=staff().user,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        # The admin's text stays in the box, as typed.
        return _edit_page(kind, chosen, form, str(exc)), 400
    flash(_("The template is saved."), "info")
    return redirect(
        url_for("admin.edit_response_template", template_kind=kind, language=chosen.code)
    )


@bp.route("/response-templates/<template_kind>/<language>/reset", methods=["GET", "POST"])
@admin_required
def reset_response_template(template_kind: str, language: str) -> ResponseReturnValue:
    kind, chosen = _kind_or_404(template_kind), _language_or_404(language)
    state = store.template_state(db_session(), kind, chosen.code)
    if not state.own:
        return redirect(
            url_for("admin.edit_response_template", template_kind=kind, language=chosen.code)
        )
    form = ConfirmForm()
    if not form.validate_on_submit():
        page = render_template(
            "admin/response_template_reset.html",
            kind=kind,
            kind_label=catalogue.kind_label(kind),
            template_language=chosen,
            default=store.default_text(kind, chosen.code),
            form=form,
        )
        return page, 400 if request.method == "POST" else 200
    store.reset_template(db_session(), kind, chosen.code, actor=staff().user, now=utcnow())
    flash(_("The template is back to the default."), "info")
    return redirect(
        url_for("admin.edit_response_template", template_kind=kind, language=chosen.code)
    )
