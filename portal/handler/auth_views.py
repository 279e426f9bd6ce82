from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import flask_babel
import pyotp
import segno
from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal import i18n
from portal.handler import bp
from portal.handler.forms import (
    ChangePasswordForm,
    EnrolForm,
    NewPasswordForm,
    PasswordForm,
    PlainForm,
    RecoverForm,
    SignInForm,
)
from portal.handler.notify_views import notify_form
from portal.i18n import _
from portal.services import accounts, readiness, staff_auth, tokens
from portal.services.errors import InvalidInputError, NotFoundError
from portal.staff import SESSION_KEY, current_login, remember_login, staff, staff_required
from portal.timeutil import utcnow
from portal.web import (
    ErrorTitle,
    app_config,
    argon2_gate,
    argon2_profile,
    db_session,
    http_error_page,
    limiter,
    site_look,
)


def _username_key() -> str:
    # The username as the service will look it up; never the client's address.
    username = accounts.normalise_username(request.form.get("username", ""))[:64]
    return f"staff-sign-in:{username}"


def _refused(response: Response) -> bool:
    return response.status_code >= 400


# Against a spray (one password tried over many usernames, each under its own limit): failed
# attempts also count against one budget for the whole site, shared by sign-in and recovery.
_site_limit = limiter.shared_limit(
    lambda: app_config().ratelimit.staff_sign_in_site,
    scope="staff-sign-in-site",
    methods=["POST"],
    deduct_when=_refused,
)
_account_limit = limiter.limit(
    "10 per 15 minutes", key_func=_username_key, methods=["POST"], deduct_when=_refused
)


def _link_key() -> str:
    token = str((request.view_args or {}).get("token", ""))
    return f"re-enrol:{tokens.token_hash(token).hex()}"


SIGN_IN_ENDPOINTS = ("handler.sign_in", "handler.recover", "handler.re_enrol")


@bp.errorhandler(429)
def _too_many(error: HTTPException) -> ResponseReturnValue:
    if request.endpoint not in SIGN_IN_ENDPOINTS:
        return http_error_page(error)
    limit = limiter.current_limit
    now = utcnow()
    reset_at = datetime.fromtimestamp(limit.reset_at, UTC) if limit is not None else now
    # Rounded up to the next whole minute, the way the page states it.
    reset_at = reset_at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    text = _(
        "Too many sign-in attempts failed, for this account or across the whole site, so "
        "sign-in is paused for a while to keep out people guessing passwords. Nothing was "
        "changed. Try again after %(time)s.",
        # In the site's time zone (Flask-Babel's), written for the page's language.
        time=flask_babel.format_time(reset_at, "short"),
    )
    retry = str(max(60, int((reset_at - now).total_seconds())))
    page = render_template("error.html", error=ErrorTitle(_("Sign-in paused")), text=text)
    return page, 429, {"Retry-After": retry}


@bp.route("/sign-in", methods=["GET", "POST"])
@_site_limit
@_account_limit
def sign_in() -> ResponseReturnValue:
    form = SignInForm()
    if not form.validate_on_submit():
        # Say what was wrong with a field (an overlong password, say); never which account.
        problem = next(iter([*form.password.errors, *form.code.errors]), "")
        return render_template("handler/sign_in.html", form=form, problem=problem), (
            400 if request.method == "POST" else 200
        )
    try:
        login = staff_auth.sign_in(
            db_session(),
            form.username.data or "",
            form.password.data or "",
            form.code.data or "",
            profile=argon2_profile(),
            now=utcnow(),
            gate=argon2_gate(),
        )
    except (staff_auth.SignInError, InvalidInputError) as exc:
        return render_template("handler/sign_in.html", form=form, problem=str(exc)), 400
    remember_login(login)
    return redirect(_local_target(request.args.get("next", "")) or url_for("handler.home"))


def _local_target(target: str) -> str | None:
    """``target`` if it is a staff or admin path of this site, else None: never an open
    redirect, and never a line break that would add a header to the redirect."""
    if not target.startswith(("/staff/", "/admin/")) or urlsplit(target).netloc:
        return None
    if "\\" in target or not target.isprintable():
        return None
    return target


@bp.get("/")
@staff_required
def home() -> ResponseReturnValue:
    if staff().user.is_handler:
        return redirect(url_for("handler.inbox"))
    if staff().user.is_admin:
        return redirect(url_for("admin.users"))
    if staff().user.is_custodian:
        return redirect(url_for("handler.identity_requests"))
    if staff().user.is_analyst:
        return redirect(url_for("handler.statistics_page"))
    # A new handler whose role a second person has not approved yet: nothing to read so far.
    flash(
        _(
            "Your account is ready, but you receive no reports yet: your handler role waits for "
            "approval by a second person (an admin, or a handler at level 2 or 3). Nothing is "
            "lost; sign in again once they have approved it."
        ),
        "info",
    )
    return redirect(url_for("handler.account"))


def _qr_svg(uri: str) -> Markup:
    # Drawn on the server as SVG: no script and no third-party service ever sees the secret.
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#1d2330")
    return Markup(svg)  # noqa: S704  (generated by segno from our own URI, not user input)


def _enrol_page(form: EnrolForm, pending: staff_auth.PendingEnrolment, problem: str = "") -> str:
    user_name = g.enrolling_username
    secret = pending.totp_secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=site_look().name)
    return render_template(
        "handler/enrol.html",
        form=form,
        secret=secret,
        qr=_qr_svg(uri),
        recovery_key=pending.recovery_key,
        problem=problem,
    )


@bp.route("/enrol", methods=["GET", "POST"])
def enrol() -> ResponseReturnValue:
    """Enrol a second factor: after activation, recovery, or the link from an admin's reset.

    Every rendering, a mistyped code's included, shows the recovery key again until enrolment
    completes: a key that was shown only once would be lost to the first typing slip.
    """
    login = current_login()
    db = db_session()
    pending = staff_auth.pending_enrolment(db, login) if login is not None else None
    if login is None or pending is None:
        return redirect(url_for("handler.sign_in"))
    g.enrolling_username = staff_auth.session_username(db, login)
    form = EnrolForm()
    if request.method == "GET":
        return _enrol_page(form, pending)
    if not form.validate():
        problem = _("The form could not be accepted. Type the newest code from the app.")
        if pending.recovery_key and not form.stored.data:
            problem = _("Tick the box to confirm that you have stored your recovery key.")
        problem = next(iter(form.code.errors), problem)
        return _enrol_page(form, pending, problem), 400
    if pending.recovery_key and not form.stored.data:
        problem = _("Tick the box to confirm that you have stored your recovery key.")
        return _enrol_page(form, pending, problem), 400
    if not staff_auth.confirm_second_factor(db, login, form.code.data or "", now=utcnow()):
        problem = _(
            "That code does not match, so the second factor is not set up yet. Nothing is lost: "
            "type the newest code from the app."
        )
        return _enrol_page(form, pending, problem), 400
    flash(_("Your second factor is set up."), "info")
    return redirect(url_for("handler.home"))


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str) -> ResponseReturnValue:
    db = db_session()
    user = accounts.find_invited(db, token, utcnow())
    if user is None:
        return render_template(
            "handler/message.html",
            title=_("Link not valid"),
            message=_("This activation link is not valid any more. Ask an admin for a new one."),
        ), 404
    form = NewPasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("handler/activate.html", form=form, user=user), status
    try:
        user, credentials = accounts.activate(
            db,
            token,
            form.password.data or "",
            profile=argon2_profile(),
            issuer=site_look().name,
            now=utcnow(),
            gate=argon2_gate(),
        )
    except (InvalidInputError, NotFoundError) as exc:
        return render_template("handler/activate.html", form=form, user=user, problem=str(exc)), 400
    login = staff_auth.open_session_after_activation(db, user, credentials, utcnow())
    remember_login(login)
    # The recovery key is kept only wrapped under the new cookie's key, until enrolment ends.
    return redirect(url_for("handler.enrol"))


@bp.route("/re-enrol/<token>", methods=["GET", "POST"])
@_site_limit
@limiter.limit("10 per 15 minutes", key_func=_link_key, methods=["POST"], deduct_when=_refused)
def re_enrol(token: str) -> ResponseReturnValue:
    """The one-time link from an admin's second-factor reset: the password, then a new app."""
    db = db_session()
    user = accounts.find_re_enrolment(db, token, utcnow())
    if user is None:
        return render_template(
            "handler/message.html",
            title=_("Link not valid"),
            message=_(accounts.RE_ENROL_LINK_DEAD),
        ), 404
    form = PasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("handler/re_enrol.html", form=form, user=user), status
    try:
        login = staff_auth.re_enrol(
            db,
            token,
            form.password.data or "",
            profile=argon2_profile(),
            now=utcnow(),
            gate=argon2_gate(),
        )
    except staff_auth.SignInError as exc:
        return render_template("handler/re_enrol.html", form=form, user=user, problem=str(exc)), 400
    except accounts.LinkExpiredError as exc:
        return render_template(
            "handler/message.html", title=_("Link not valid"), message=str(exc)
        ), 404
    remember_login(login)
    return redirect(url_for("handler.enrol"))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    form = PlainForm()
    login = current_login()
    if form.validate() and login is not None:
        staff_auth.sign_out(db_session(), login.token, utcnow())
    session.pop(SESSION_KEY, None)
    i18n.clear_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("handler.sign_in"))


@bp.route("/account", methods=["GET", "POST"])
@staff_required
def account() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("handler/account.html", form=form, notify=notify_form()), (
            400 if request.method == "POST" else 200
        )
    try:
        staff_auth.change_password(
            db_session(),
            staff(),
            form.current.data or "",
            form.password.data or "",
            profile=argon2_profile(),
            now=utcnow(),
            gate=argon2_gate(),
        )
    except (staff_auth.SignInError, InvalidInputError) as exc:
        return render_template(
            "handler/account.html", form=form, notify=notify_form(), problem=str(exc)
        ), 400
    flash(_("Your password has been changed. Your cases stay readable."), "info")
    return redirect(url_for("handler.account"))


@bp.route("/recover", methods=["GET", "POST"])
@_site_limit
@_account_limit
def recover() -> ResponseReturnValue:
    form = RecoverForm()
    if not form.validate_on_submit():
        return render_template("handler/recover.html", form=form), (
            400 if request.method == "POST" else 200
        )
    try:
        login = staff_auth.recover(
            db_session(),
            form.username.data or "",
            form.recovery_key.data or "",
            form.password.data or "",
            profile=argon2_profile(),
            now=utcnow(),
            gate=argon2_gate(),
        )
    except (staff_auth.SignInError, InvalidInputError) as exc:
        return render_template("handler/recover.html", form=form, problem=str(exc)), 400
    remember_login(login)
    flash(
        _("Your password is set and your cases stay readable. Now set up a new second factor."),
        "info",
    )
    return redirect(url_for("handler.enrol"))


@bp.context_processor
def _first_run() -> dict[str, bool]:
    # Only the sign-in page uses it: on a site with no account yet, it says how to make one.
    if request.endpoint != "handler.sign_in":
        return {}
    return {"first_run": not readiness.has_staff(db_session())}
