"""Admins give the site texts and the intake's labels per language.

A site text (other ways to report, the mediator's notice) is edited per language on the texts
page (views.texts); here a language's own text is removed again. The labels of categories,
questions and reporter groups are translated on one page per language; the editors of
site_views.py keep writing them in the default language.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal import i18n
from portal.admin import bp
from portal.admin.translation_forms import RemoveTextForm, TranslationsForm
from portal.i18n import _, _l
from portal.services import site_settings, sitetext
from portal.services.errors import InvalidInputError
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, current_settings, db_session

TEXT_LABELS = {
    "welcome": _l(
        "Welcome (start page): shown in place of the built-in introduction; save it empty to "
        "show the built-in one again"
    ),
    "other_ways": _l("Other ways to report (start page)"),
    "mediator_notice": _l(
        "Notice of the external mediator (sent to the reporter by the clock): name the mediator "
        "and how to reach them; {duration} is replaced by the policy's time to resolve"
    ),
    # The sections of the published policy (/policy) that only people can write.
    "policy_purpose": _l("Policy page: purpose and scope"),
    "policy_definitions": _l("Policy page: definitions beyond the glossary"),
    "policy_investigation": _l("Policy page: how we investigate"),
    "policy_quality": _l("Policy page: quality assurance"),
    "policy_training": _l("Policy page: training requirements"),
    "policy_regulatory": _l("Policy page: regulatory summary"),
}


def text_languages() -> list[i18n.Language]:
    """The languages a site text may be given in: the reporters', the default first."""
    default = i18n.site_default()
    offered = i18n.site_languages()
    return [i18n.BY_CODE[default], *(x for x in offered if x.code != default)]


def text_language() -> i18n.Language:
    """The language of ``?language=`` (the default language without one); 404 if not offered."""
    code = request.args.get("language", i18n.site_default())
    chosen = next((x for x in text_languages() if x.code == code), None)
    if chosen is None:
        abort(404)
    return chosen


def text_key() -> str:
    key = request.args.get("key", "other_ways")
    if key not in TEXT_LABELS:
        abort(404)
    return key


@bp.route("/texts/remove", methods=["GET", "POST"])
@admin_required
def remove_text() -> ResponseReturnValue:
    key, language = text_key(), text_language()
    if not sitetext.has_own_text(db_session(), key, language.code):
        abort(404)
    form = RemoveTextForm()
    if not form.validate_on_submit():
        page = render_template(
            "admin/text_remove.html",
            key=key,
            label=TEXT_LABELS[key],
            language=language,
            is_default=language.code == i18n.site_default(),
            form=form,
        )
        return page, 400 if request.method == "POST" else 200
    sitetext.remove_text(db_session(), key, language.code, utcnow(), actor_id=staff().user.id)
    flash(_("The text in %(language)s is removed.", language=language.name), "info")
    return redirect(url_for("admin.texts", key=key, language=language.code))


@dataclass(frozen=True)
class Line:
    """One label to translate: its kind (site_settings.KINDS), key, the text as written, the
    admin's translation, and what a reader gets without one (the catalogue's, or as written)."""

    kind: str
    key: str
    written: str
    given: str
    otherwise: str
    multiline: bool = False


def _lines(language: str, typed: dict[str, dict[str, str]] | None = None) -> dict[str, list[Line]]:
    intake = current_settings().intake
    given = typed or site_settings.translations(db_session(), app_config(), language)

    def line(kind: str, key: str, written: str, multiline: bool = False) -> Line:
        with i18n.in_language(language):
            otherwise = _(written) if written else ""
        return Line(kind, key, written, given.get(kind, {}).get(key, ""), otherwise, multiline)

    return {
        "categories": [
            line("categories", c.key, c.label) for c in (*intake.categories, *intake.retired)
        ],
        "questions": [
            item
            for q in intake.questions
            for item in (
                line("questions", q.key, q.label),
                *([line("help", q.key, q.help, multiline=True)] if q.help else []),
            )
        ],
        "groups": [line("groups", g.key, g.label) for g in intake.groups],
    }


def _translation_languages() -> list[i18n.Language]:
    default = i18n.site_default()
    return [x for x in i18n.site_languages() if x.code != default]


def _translations_page(
    language: i18n.Language | None,
    typed: dict[str, dict[str, str]] | None = None,
    problem: str | None = None,
) -> str:
    return render_template(
        "admin/site_translations.html",
        language=language,
        languages=_translation_languages(),
        default=i18n.BY_CODE[i18n.site_default()],
        lines=_lines(language.code, typed) if language is not None else {},
        problem=problem,
        max_label=site_settings.MAX_LABEL_LENGTH,
        max_help=site_settings.MAX_HELP_LENGTH,
        form=TranslationsForm(),
    )


@bp.route("/site/translations", methods=["GET", "POST"])
@admin_required
def site_translations() -> ResponseReturnValue:
    offered = _translation_languages()
    code = request.args.get("language")
    if code is None and request.method == "GET":
        # No language chosen yet: the first one, or a page saying there is none to choose.
        return _translations_page(offered[0] if offered else None)
    language = next((x for x in offered if x.code == code), None)
    if language is None:
        abort(404)
    if request.method == "GET":
        return _translations_page(language)
    if not TranslationsForm().validate():
        abort(400)
    typed = {
        kind: {
            name.split("-", 1)[1]: value
            for name, value in request.form.items()
            if name.startswith(f"{kind}-")
        }
        for kind in site_settings.KINDS
    }
    try:
        site_settings.save_translations(
            db_session(),
            app_config(),
            language.code,
            typed,
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _translations_page(language, typed, str(exc)), 400
    flash(_("The translations into %(language)s are saved.", language=language.name), "info")
    return redirect(url_for("admin.site_translations", language=language.code))
