"""The staff login gate shared by the handler and admin blueprints."""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec

from flask import abort, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from portal.services import staff_auth
from portal.timeutil import utcnow
from portal.web import app_config, db_session

SESSION_KEY = "staff"
P = ParamSpec("P")


def remember_login(login: staff_auth.StaffLogin) -> None:
    # A fresh cookie at sign-in; nothing from before it carries over, not even the CSRF token
    # (Flask-WTF caches it on g for the request, so that goes too).
    session.clear()
    g.pop("csrf_token", None)
    session[SESSION_KEY] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}


def current_login() -> staff_auth.StaffLogin | None:
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    return staff_auth.StaffLogin(token=str(raw["t"]), cookie_key=b64decode(raw["k"]))


def staff() -> staff_auth.StaffContext:
    """The signed-in staff member of this request (set by the decorators below)."""
    context: staff_auth.StaffContext = g.staff
    return context


def _gate(
    view: Callable[P, ResponseReturnValue],
    check: Callable[[staff_auth.StaffContext], bool],
    refusal: int = 403,
) -> Callable[P, ResponseReturnValue]:
    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        login = current_login()
        if login is None:
            return redirect(url_for("handler.sign_in", next=request.path))
        try:
            context = staff_auth.resume(
                db_session(),
                login,
                now=utcnow(),
                idle=timedelta(minutes=app_config().security.session_idle_minutes),
            )
        except staff_auth.StaffSessionExpiredError as exc:
            session.pop(SESSION_KEY, None)
            flash(str(exc), "error")
            return redirect(url_for("handler.sign_in"))
        if not context.second_factor_done:
            return redirect(url_for("handler.enrol"))
        if not check(context):
            abort(refusal)
        g.staff = context
        return view(*args, **kwargs)

    return wrapped


def handler_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Signed in, second factor done, and a handler: only handlers read cases."""
    return _gate(view, lambda c: c.user.is_handler)


def case_handler_required(
    view: Callable[P, ResponseReturnValue],
) -> Callable[P, ResponseReturnValue]:
    """As :func:`handler_required`, for pages of one case: someone who is not a handler gets
    404, the answer for a case that does not exist, so a case URL never confirms a case."""
    return _gate(view, lambda c: c.user.is_handler, refusal=404)


def admin_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    return _gate(view, lambda c: c.user.is_admin)


def staff_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    return _gate(view, lambda c: True)
