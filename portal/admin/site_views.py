"""Admins edit the categories, intake questions, reporter groups and the site's name, logo and
colours; the configuration file gives the defaults, restored per section.

The editors show and save the labels as written (in the default language); their translations
are edited under Translations (translation_views.py)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from portal.admin import bp
from portal.admin.forms import ConfirmForm
from portal.config import Question
from portal.handler.forms import PlainForm
from portal.i18n import _, _l
from portal.services import site_settings
from portal.services.errors import InvalidInputError
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.uploads import small_file_route
from portal.web import app_config, current_settings, db_session, site_look

LIST_SECTIONS = ("categories", "questions", "groups")


@dataclass(frozen=True)
class Row:
    """One line of an editing table as the admin sees it (saved, or as they typed it)."""

    key: str
    label: str
    position: str
    help: str = ""
    required: bool = False
    multiline: bool = True


def _ordered(form: MultiDict[str, str]) -> list[Row]:
    """The rows of a submitted table, in the order of their positions (ties keep their order)."""
    rows = [
        Row(
            key=key,
            label=form.get(f"label-{key}", ""),
            position=form.get(f"position-{key}", ""),
            help=form.get(f"help-{key}", ""),
            required=bool(form.get(f"required-{key}")),
            multiline=bool(form.get(f"multiline-{key}")),
        )
        for key in dict.fromkeys(form.getlist("key"))
    ]

    def place(item: tuple[int, Row]) -> tuple[float, int]:
        index, row = item
        try:
            return float(row.position), index
        except ValueError:
            return float(index + 1), index

    return [row for _, row in sorted(enumerate(rows), key=place)]


def _new_row(form: MultiDict[str, str]) -> Row | None:
    key, label = form.get("new_key", "").strip(), form.get("new_label", "").strip()
    if not key and not label:
        return None
    return Row(
        key=key,
        label=label,
        position="",
        help=form.get("new_help", ""),
        required=bool(form.get("new_required")),
        multiline=bool(form.get("new_multiline")),
    )


def _written() -> site_settings.EffectiveIntake:
    """The intake as admins wrote it, not translated for the page: what the editors save."""
    return current_settings().intake


def _saved_rows(section: str) -> list[Row]:
    intake = _written()
    if section == "questions":
        return [
            Row(q.key, q.label, str(i), q.help, q.required, q.multiline)
            for i, q in enumerate(intake.questions, 1)
        ]
    if section == "categories":
        return [Row(c.key, c.label, str(i)) for i, c in enumerate(intake.categories, 1)]
    return [Row(g.key, g.label, str(i)) for i, g in enumerate(intake.groups, 1)]


def _list_page(
    section: str, rows: list[Row], new: Row | None = None, problem: str | None = None
) -> str:
    return render_template(
        "admin/site_list.html",
        section=section,
        rows=rows,
        new=new,
        problem=problem,
        retired=_written().retired if section == "categories" else (),
        form=PlainForm(),
    )


@bp.route("/site/<any(categories, questions, groups):section>", methods=["GET", "POST"])
@admin_required
def site_list(section: str) -> ResponseReturnValue:
    if request.method == "GET":
        return _list_page(section, _saved_rows(section))
    if not PlainForm().validate():
        abort(400)
    rows, new = _ordered(request.form), _new_row(request.form)
    everything = [*rows, *([new] if new is not None else [])]
    actor, now = staff().user.id, utcnow()
    try:
        if section == "questions":
            questions = [
                Question(r.key.strip(), r.label, r.help, r.required, r.multiline)
                for r in everything
            ]
            site_settings.save_questions(
                db_session(), app_config(), questions, actor_id=actor, now=now
            )
        else:
            save = (
                site_settings.save_categories
                if section == "categories"
                else site_settings.save_groups
            )
            pairs = [(r.key.strip(), r.label) for r in everything]
            save(db_session(), app_config(), pairs, actor_id=actor, now=now)
    except InvalidInputError as exc:
        # The admin's table comes back as they typed it, with what is wrong said above it.
        return _list_page(section, rows, new, str(exc)), 400
    flash(str(SAVED[section]), "info")
    return redirect(url_for("admin.site_list", section=section))


SAVED = {
    "categories": _l("The categories are saved. Reporters see them from now on."),
    "questions": _l("The questions are saved. Reports filed from now on answer them."),
    "groups": _l("The reporter groups are saved. Reporters see them from now on."),
    "look": _l("The site's name and colours are saved."),
    "logo": _l("The logo is saved."),
}


@bp.route(
    "/site/<any(categories, questions, groups):section>/<key>/remove", methods=["GET", "POST"]
)
@admin_required
def site_remove(section: str, key: str) -> ResponseReturnValue:
    rows = _saved_rows(section)
    row = next((r for r in rows if r.key == key), None)
    if row is None:
        abort(404)
    in_use = section == "categories" and site_settings.has_cases(db_session(), key)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _remove_page(section, row, in_use, form), 400 if request.method == "POST" else 200
    kept = [r for r in rows if r.key != key]
    actor, now = staff().user.id, utcnow()
    try:
        if section == "questions":
            site_settings.save_questions(
                db_session(),
                app_config(),
                [Question(r.key, r.label, r.help, r.required, r.multiline) for r in kept],
                actor_id=actor,
                now=now,
            )
        elif section == "categories":
            site_settings.save_categories(
                db_session(),
                app_config(),
                [(r.key, r.label) for r in kept],
                actor_id=actor,
                now=now,
            )
        else:
            site_settings.save_groups(
                db_session(),
                app_config(),
                [(r.key, r.label) for r in kept],
                actor_id=actor,
                now=now,
            )
    except InvalidInputError as exc:
        return _remove_page(section, row, in_use, form, str(exc)), 400
    flash(_("“%(label)s” is removed.", label=row.label), "info")
    return redirect(url_for("admin.site_list", section=section))


def _remove_page(
    section: str, row: Row, in_use: bool, form: ConfirmForm, problem: str | None = None
) -> str:
    return render_template(
        "admin/site_remove.html",
        section=section,
        row=row,
        in_use=in_use,
        form=form,
        problem=problem,
    )


@bp.route(
    "/site/<any(categories, questions, groups, look, logo):section>/restore",
    methods=["GET", "POST"],
)
@admin_required
def site_restore(section: str) -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        page = render_template("admin/site_restore.html", section=section, form=form)
        return page, 400 if request.method == "POST" else 200
    site_settings.restore_defaults(
        db_session(), app_config(), section, actor_id=staff().user.id, now=utcnow()
    )
    flash(_("The configuration's defaults apply again."), "info")
    if section in ("look", "logo"):
        return redirect(url_for("admin.site_look"))
    return redirect(url_for("admin.site_list", section=section))


def _look_page(
    name: str,
    accent: str,
    on_accent: str,
    problem: str | None = None,
    logo_problem: str | None = None,
) -> str:
    return render_template(
        "admin/site_look.html",
        name=name,
        accent=accent,
        on_accent=on_accent,
        problem=problem,
        logo_problem=logo_problem,
        max_logo_kib=site_settings.MAX_LOGO_BYTES // 1024,
        form=PlainForm(),
    )


DEFAULT_ACCENT = "#1f5f8b"
DEFAULT_ON_ACCENT = "#ffffff"


@bp.route("/site/look", methods=["GET", "POST"], endpoint="site_look")
@admin_required
def site_look_page() -> ResponseReturnValue:
    look = site_look()
    if request.method == "GET":
        return _look_page(
            look.name, look.accent or DEFAULT_ACCENT, look.on_accent or DEFAULT_ON_ACCENT
        )
    if not PlainForm().validate():
        abort(400)
    name = request.form.get("name", "")
    accent = request.form.get("accent", "")
    on_accent = request.form.get("on_accent", "")
    try:
        site_settings.save_look(
            db_session(), name, accent, on_accent, actor_id=staff().user.id, now=utcnow()
        )
    except InvalidInputError as exc:
        return _look_page(name, accent, on_accent, problem=str(exc)), 400
    flash(str(SAVED["look"]), "info")
    return redirect(url_for("admin.site_look"))


@bp.post("/site/logo")
@admin_required
def site_logo() -> ResponseReturnValue:
    if not PlainForm().validate():
        abort(400)
    look = site_look()
    upload = request.files.get("logo")
    data = upload.stream.read() if upload is not None and upload.filename else b""
    try:
        if not data:
            raise InvalidInputError(_("Choose an image file for the logo."))
        site_settings.save_logo(db_session(), data, actor_id=staff().user.id, now=utcnow())
    except InvalidInputError as exc:
        page = _look_page(
            look.name,
            look.accent or DEFAULT_ACCENT,
            look.on_accent or DEFAULT_ON_ACCENT,
            logo_problem=str(exc),
        )
        return page, 400
    flash(str(SAVED["logo"]), "info")
    return redirect(url_for("admin.site_look"))


small_file_route("admin.site_logo", site_settings.MAX_LOGO_BYTES)

# The translations of these settings and of the site texts: their routes register on import.
from portal.admin import translation_views  # noqa: E402, F401
