from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypedDict

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal import i18n
from portal.admin import bp, training_views, translation_views
from portal.admin.forms import (
    LEVEL_CHOICES,
    AccountFormBase,
    ConfirmForm,
    HolidaysForm,
    SiteTextForm,
    account_form,
    holidays_form,
)
from portal.handler import approval_views
from portal.handler.forms import PlainForm
from portal.i18n import N_, _
from portal.models import RecipientChange, User
from portal.services import (
    accounts,
    approvals,
    clock,
    intake,
    notifications,
    readiness,
    sitetext,
    training_records,
)
from portal.services.clock import holidays, preview, versions
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from portal.services.policies import PRESETS
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, clock_settings, db_session, intake_settings, site_look


@bp.context_processor
def _site_state() -> dict[str, object]:
    """What every admin page says about the site as a whole: why it cannot take reports, and
    whether e-mail is off."""
    return {
        "can_receive": readiness.site_readiness(db_session()).can_receive,
        "email_off": not app_config().smtp.host,
        "duration_words": preview.duration_words,
    }


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    return redirect(url_for("admin.users"))


@bp.get("/users")
@admin_required
def users() -> str:
    labels = approval_views.category_labels()
    return render_template(
        "admin/users.html",
        accounts=accounts.list_accounts(db_session()),
        labels=labels,
        pending=approvals.pending_by_user(db_session()),
        training_gaps=training_records.gaps_by_user(db_session(), training_views.today()),
        level_names={int(choice.value): choice.label for choice in LEVEL_CHOICES},
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> ResponseReturnValue:
    form = account_form(intake_settings(), new=True)
    if not form.validate_on_submit():
        return _account_page(form, None, _form_problems(form)), _status()
    try:
        user, token = accounts.invite_user(
            db_session(),
            staff().user,
            username=form.username.data or "",
            **_account_fields(form),
            now=utcnow(),
            notice=approval_views.notice(),
        )
    except (InvalidInputError, AlreadyExistsError) as exc:
        return _account_page(form, None, [str(exc)]), 400
    # Shown in this response only: the database keeps just the token's hash.
    return render_template(
        "admin/link.html",
        user=user,
        link=_activation_link(token),
        new=True,
        pending=approvals.find_pending_change(db_session(), user.id),
        who=approvals.WHO_MAY_APPROVE,
        how=approvals.HOW_TO_GET_AN_APPROVER,
    )


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    if request.method == "GET":
        current = accounts.user_categories(db_session(), user.id)
        form = account_form(intake_settings(), new=False, obj=user, categories=current)
        _show_pending(form, approvals.find_pending(db_session(), user.id))
    else:
        form = account_form(intake_settings(), new=False)
    if not form.validate_on_submit():
        return _account_page(form, user, _form_problems(form)), _status()
    try:
        accounts.update_user(
            db_session(),
            staff().user,
            user,
            **_account_fields(form),
            now=utcnow(),
            notice=approval_views.notice(),
        )
    except InvalidInputError as exc:
        return _account_page(form, user, [str(exc)]), 400
    flash(_("The account %(name)s has been saved.", name=user.username), "info")
    approval_views.flash_pending(user, approvals.find_pending_change(db_session(), user.id))
    return redirect(url_for("admin.users"))


@dataclass(frozen=True)
class Act:
    """A destructive act: what its confirmation page says, and the button that does it."""

    heading: str
    consequences: tuple[str, ...]
    button: str
    warning: str = ""

    def about(self, user: User) -> Act:
        """The wording for ``user`` in the page's language; the page escapes it like anything
        else a person typed."""
        name = user.display_name
        return replace(
            self,
            heading=_(self.heading, name=name),
            consequences=tuple(_(c, name=name) for c in self.consequences),
            button=_(self.button),
            warning=_(self.warning, name=name) if self.warning else "",
        )


DEACTIVATE = Act(
    heading=N_("Deactivate %(name)s"),
    consequences=(
        N_("%(name)s is signed out at once and can no longer sign in."),
        N_("Their cases and everything they wrote stay as they are."),
    ),
    button=N_("Deactivate this account"),
)
RESET_SECOND_FACTOR = Act(
    heading=N_("Reset the second factor of %(name)s"),
    consequences=(
        N_("%(name)s is signed out at once."),
        N_(
            "You receive a one-time link for them, shown once (and e-mailed to them if their "
            "account has an address). With it and their password they set up a new "
            "authenticator app; their password alone does not."
        ),
        N_("Their password, recovery key and cases stay as they are."),
    ),
    button=N_("Reset the second factor"),
)
RESET_WITHOUT_RECOVERY = Act(
    heading=N_("Reset %(name)s without the recovery key"),
    warning=N_(
        "%(name)s loses access to every existing case until a colleague who can read that case "
        "grants it to them again. This cannot be undone."
    ),
    consequences=(
        N_(
            "%(name)s is signed out at once; their password, recovery key and second factor "
            "stop working."
        ),
        N_("You receive a new activation link for them, shown once, to set everything up again."),
        N_(
            "If they still have their recovery key, they should use it instead: it keeps their "
            "cases."
        ),
    ),
    button=N_("Reset without the recovery key"),
)


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@admin_required
def deactivate_user(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirm_page(DEACTIVATE, form, user), _status()
    try:
        accounts.deactivate(db_session(), staff().user, user, utcnow())
    except InvalidInputError as exc:
        return _confirm_page(DEACTIVATE, form, user, str(exc)), 400
    flash(_("The account %(name)s is deactivated and signed out.", name=user.username), "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@admin_required
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirm_page(RESET_SECOND_FACTOR, form, user), _status()
    config = app_config()
    try:
        token = accounts.reset_second_factor(
            db_session(),
            staff().user,
            user,
            utcnow(),
            base_url=config.site.base_url,
            site_name=site_look().name,
        )
    except InvalidInputError as exc:
        return _confirm_page(RESET_SECOND_FACTOR, form, user, str(exc)), 400
    link = accounts.re_enrol_link(config.site.base_url, token)
    return render_template("admin/link.html", user=user, link=link, re_enrol=True)


@bp.route("/users/<int:user_id>/reset-without-recovery", methods=["GET", "POST"])
@admin_required
def reset_without_recovery(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirm_page(RESET_WITHOUT_RECOVERY, form, user), _status()
    token = accounts.reset_without_recovery(db_session(), staff().user, user, utcnow())
    return render_template("admin/link.html", user=user, link=_activation_link(token), new=False)


@bp.route("/texts", methods=["GET", "POST"])
@admin_required
def texts() -> ResponseReturnValue:
    key, language = translation_views.text_key(), translation_views.text_language()
    form = SiteTextForm()
    if request.method == "GET":
        form.html.data = sitetext.get_source(db_session(), key, language.code)
    if not form.validate_on_submit():
        return _texts_page(form, key, language, _form_problems(form)), _status()
    if request.form.get("action") == "preview":
        return _texts_page(form, key, language, previewing=True)
    sitetext.set_text(
        db_session(),
        key,
        form.html.data or "",
        utcnow(),
        actor_id=staff().user.id,
        language=language.code,
    )
    flash(_("The text is saved."), "info")
    return redirect(url_for("admin.texts", key=key, language=language.code))


@bp.route("/categories", methods=["GET", "POST"])
@admin_required
def categories() -> ResponseReturnValue:
    db = db_session()
    if request.method == "POST":
        form = PlainForm()
        category = request.form.get("category", "")
        # Kept in the order the policies are listed, whatever order the browser sent them in.
        listed = [*PRESETS, *versions.custom_names(db)]
        chosen = set(request.form.getlist("policies"))
        if (
            not form.validate()
            or intake_settings().category(category) is None
            or chosen - set(listed)
        ):
            abort(400)
        try:
            clock.choose_policies(
                db,
                category,
                [name for name in listed if name in chosen],
                actor=staff().user,
                now=utcnow(),
            )
        except InvalidInputError as exc:
            flash(str(exc), "error")
        else:
            flash(_("The policies are saved. They apply to reports filed from now on."), "info")
        return redirect(url_for("admin.categories"))
    by_category = clock.policies_by_category(db, intake_settings())
    rows = [
        (
            category,
            versions.resolve_all(db, by_category[category.key]),
            intake.list_recipients(db, category.key),
        )
        for category in intake_settings().categories
    ]
    return render_template(
        "admin/categories.html",
        rows=rows,
        # (the name a category stores, the policy at its latest version)
        choices=[
            (name, versions.resolve_policy(db, name))
            for name in [*PRESETS, *versions.custom_names(db)]
        ],
        form=PlainForm(),
    )


@bp.route("/holidays", methods=["GET", "POST"])
@admin_required
def holiday_settings() -> ResponseReturnValue:
    """Country, region and closing days that working-day deadlines skip."""
    # Without a saved choice the request's calendar is the configuration's default.
    choice = clock.current_choice(db_session(), clock_settings().calendar)
    form = holidays_form(holidays.countries())
    if request.method == "GET":
        form.country.data = choice.country
        form.subdivision.data = choice.subdivision
        form.closing_days.data = "\n".join(d.isoformat() for d in choice.closing_days)
    if not form.validate_on_submit():
        return _holidays_page(form, choice, _form_problems(form)), _status()
    try:
        clock.choose_holidays(
            db_session(),
            form.country.data or "",
            form.subdivision.data or "",
            form.closing_days.data or "",
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _holidays_page(form, choice, [str(exc)]), 400
    flash(
        _(
            "The holidays are saved. Deadlines computed from now on skip them; due times "
            "already set stay as they are."
        ),
        "info",
    )
    return redirect(url_for("admin.holiday_settings"))


def _holidays_page(form: HolidaysForm, choice: clock.HolidayChoice, problems: list[str]) -> str:
    country = form.country.data or choice.country
    return render_template(
        "admin/holidays.html",
        form=form,
        choice=choice,
        problems=problems,
        country_name=holidays.countries().get(country, country),
        regions=holidays.regions(country),
        zone=clock_settings().calendar.timezone,
    )


@bp.get("/notifications")
@admin_required
def failed_notifications() -> str:
    return render_template(
        "admin/notifications.html", messages=notifications.failed_messages(db_session())
    )


def _user_or_404(user_id: int) -> User:
    try:
        return accounts.get_user(db_session(), user_id)
    except NotFoundError:
        abort(404)


def _status() -> int:
    """A form shown again after a POST was refused; a GET is just the page."""
    return 400 if request.method == "POST" else 200


def _form_problems(form: object) -> list[str]:
    if request.method != "POST":
        return []
    errors: dict[str, list[str]] = getattr(form, "errors", {})
    problems = []
    for name, messages in errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        problems.append(_("%(label)s: %(messages)s", label=label, messages=" ".join(messages)))
    return problems


class AccountFields(TypedDict):
    display_name: str
    title: str
    email: str
    level: int
    is_handler: bool
    is_admin: bool
    is_custodian: bool
    is_analyst: bool
    categories: list[str]


def _account_fields(form: AccountFormBase) -> AccountFields:
    return {
        "display_name": form.display_name.data or "",
        "title": form.title.data or "",
        "email": form.email.data or "",
        "level": int(form.level.data or 0),
        "is_handler": bool(form.is_handler.data),
        "is_admin": bool(form.is_admin.data),
        "is_custodian": bool(form.is_custodian.data),
        "is_analyst": bool(form.is_analyst.data),
        "categories": list(form.categories.data or []),
    }


def _show_pending(form: AccountFormBase, change: RecipientChange | None) -> None:
    """Fill the form with what was asked, so saving again does not withdraw the request."""
    if change is not None:
        form.is_handler.data, form.level.data = change.is_handler, change.level
        form.categories.data = list(change.categories)


def _account_page(form: AccountFormBase, user: User | None, problems: list[str]) -> str:
    pending = approvals.find_pending_change(db_session(), user.id) if user else None
    return render_template(
        "admin/account.html",
        form=form,
        user=user,
        problems=problems,
        pending=pending,
        labels=approval_views.category_labels(),
        how=approvals.HOW_TO_GET_AN_APPROVER,
    )


def _confirm_page(act: Act, form: ConfirmForm, user: User, problem: str = "") -> str:
    return render_template(
        "admin/confirm.html", act=act.about(user), form=form, user=user, problem=problem
    )


def _texts_page(
    form: SiteTextForm,
    key: str,
    language: i18n.Language,
    problems: list[str] | None = None,
    previewing: bool = False,
) -> str:
    return render_template(
        "admin/texts.html",
        key=key,
        labels=translation_views.TEXT_LABELS,
        text_language=language,
        text_languages=translation_views.text_languages(),
        default_language=i18n.BY_CODE[i18n.site_default()],
        has_own=sitetext.has_own_text(db_session(), key, language.code),
        form=form,
        problems=problems or [],
        previewing=previewing,
        preview=sitetext.sanitized_markup(form.html.data or ""),
        allowed_tags=sorted(sitetext.ALLOWED_TAGS),
    )


def _activation_link(token: str) -> str:
    return app_config().site.base_url + url_for("handler.activate", token=token)
