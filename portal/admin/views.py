from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypedDict

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.admin.forms import AccountFormBase, ConfirmForm, SiteTextForm, account_form
from portal.models import User
from portal.services import accounts, intake, sitetext
from portal.services.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from portal.services.timeline import promise_words
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, db_session

OTHER_WAYS = "other_ways"


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    return redirect(url_for("admin.users"))


@bp.get("/users")
@admin_required
def users() -> str:
    labels = {c.key: c.label for c in app_config().intake.categories}
    return render_template(
        "admin/users.html", accounts=accounts.list_accounts(db_session()), labels=labels
    )


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> ResponseReturnValue:
    form = account_form(app_config().intake, new=True)
    if not form.validate_on_submit():
        return _account_page(form, None, _form_problems(form)), _status()
    try:
        user, token = accounts.invite_user(
            db_session(),
            staff().user,
            username=form.username.data or "",
            **_account_fields(form),
            now=utcnow(),
        )
    except (InvalidInputError, AlreadyExistsError) as exc:
        return _account_page(form, None, [str(exc)]), 400
    # Shown in this response only: the database keeps just the token's hash.
    return render_template("admin/link.html", user=user, link=_activation_link(token), new=True)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    if request.method == "GET":
        current = accounts.user_categories(db_session(), user.id)
        form = account_form(app_config().intake, new=False, obj=user, categories=current)
    else:
        form = account_form(app_config().intake, new=False)
    if not form.validate_on_submit():
        return _account_page(form, user, _form_problems(form)), _status()
    try:
        accounts.update_user(
            db_session(), staff().user, user, **_account_fields(form), now=utcnow()
        )
    except InvalidInputError as exc:
        return _account_page(form, user, [str(exc)]), 400
    flash(f"The account {user.username} has been saved.", "info")
    return redirect(url_for("admin.users"))


@dataclass(frozen=True)
class Act:
    """A destructive act: what its confirmation page says, and the button that does it."""

    heading: str
    consequences: tuple[str, ...]
    button: str
    warning: str = ""

    def about(self, user: User) -> Act:
        """The wording for ``user``; the page escapes it like anything else a person typed."""
        name = user.display_name
        return replace(
            self,
            heading=self.heading.format(name=name),
            consequences=tuple(c.format(name=name) for c in self.consequences),
            warning=self.warning.format(name=name),
        )


DEACTIVATE = Act(
    heading="Deactivate {name}",
    consequences=(
        "{name} is signed out at once and can no longer sign in.",
        "Their cases and everything they wrote stay as they are.",
    ),
    button="Deactivate this account",
)
RESET_SECOND_FACTOR = Act(
    heading="Reset the second factor of {name}",
    consequences=(
        "{name} is signed out at once.",
        "At their next sign-in, with their password, they set up a new authenticator app.",
        "Their password, recovery key and cases stay as they are.",
    ),
    button="Reset the second factor",
)
RESET_WITHOUT_RECOVERY = Act(
    heading="Reset {name} without the recovery key",
    warning=(
        "{name} loses access to every existing case until a colleague who can read that case "
        "grants it to them again. This cannot be undone."
    ),
    consequences=(
        "{name} is signed out at once; their password, recovery key and second factor stop "
        "working.",
        "You receive a new activation link for them, shown once, to set everything up again.",
        "If they still have their recovery key, they should use it instead: it keeps their cases.",
    ),
    button="Reset without the recovery key",
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
    flash(f"The account {user.username} is deactivated and signed out.", "info")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-second-factor", methods=["GET", "POST"])
@admin_required
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _confirm_page(RESET_SECOND_FACTOR, form, user), _status()
    accounts.reset_second_factor(db_session(), staff().user, user, utcnow())
    flash(f"The second factor of {user.username} is reset; they set up a new one.", "info")
    return redirect(url_for("admin.users"))


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
    form = SiteTextForm()
    if request.method == "GET":
        form.html.data = sitetext.get_source(db_session(), OTHER_WAYS)
    if not form.validate_on_submit():
        return _texts_page(form, _form_problems(form)), _status()
    if request.form.get("action") == "preview":
        return _texts_page(form, previewing=True)
    sitetext.set_text(
        db_session(), OTHER_WAYS, form.html.data or "", utcnow(), actor_id=staff().user.id
    )
    flash("The text is saved and shows on the start page.", "info")
    return redirect(url_for("admin.texts"))


@bp.get("/categories")
@admin_required
def categories() -> str:
    rows = [
        (
            category,
            promise_words(category.policy),
            intake.list_recipients(db_session(), category.key),
        )
        for category in app_config().intake.categories
    ]
    return render_template("admin/categories.html", rows=rows)


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
        problems.append(f"{label}: {' '.join(messages)}")
    return problems


class AccountFields(TypedDict):
    display_name: str
    title: str
    level: int
    is_handler: bool
    is_admin: bool
    categories: list[str]


def _account_fields(form: AccountFormBase) -> AccountFields:
    return {
        "display_name": form.display_name.data or "",
        "title": form.title.data or "",
        "level": int(form.level.data or 0),
        "is_handler": bool(form.is_handler.data),
        "is_admin": bool(form.is_admin.data),
        "categories": list(form.categories.data or []),
    }


def _account_page(form: AccountFormBase, user: User | None, problems: list[str]) -> str:
    return render_template("admin/account.html", form=form, user=user, problems=problems)


def _confirm_page(act: Act, form: ConfirmForm, user: User, problem: str = "") -> str:
    return render_template(
        "admin/confirm.html", act=act.about(user), form=form, user=user, problem=problem
    )


def _texts_page(
    form: SiteTextForm, problems: list[str] | None = None, previewing: bool = False
) -> str:
    return render_template(
        "admin/texts.html",
        form=form,
        problems=problems or [],
        previewing=previewing,
        preview=sitetext.sanitized_markup(form.html.data or ""),
        allowed_tags=sorted(sitetext.ALLOWED_TAGS),
    )


def _activation_link(token: str) -> str:
    return app_config().site.base_url + url_for("handler.activate", token=token)
