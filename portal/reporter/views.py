from __future__ import annotations

from base64 import b64decode, b64encode
from datetime import timedelta

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from portal.downloads import attachment_response
from portal.models import AuthorKind
from portal.reporter import bp
from portal.reporter.forms import CheckForm, MessageForm, ReceiptForm, SignOutForm, intake_form
from portal.services import clock, intake, messaging, reporter_access, sitetext
from portal.services.errors import InvalidInputError, NotFoundError
from portal.timeutil import utcnow
from portal.uploads import attachment_store, collect_uploads, total_budget_exceeded
from portal.web import app_config, argon2_profile, clock_settings, db_session, limiter

STATUS_WORDS = {
    "new": "Received. It is waiting to be acknowledged.",
    "acknowledged": "Acknowledged. A handler is looking at your report.",
    "investigating": "Under investigation.",
    "resolved": "Resolved. You can still read and send messages.",
    "closed": "Closed.",
}
SESSION_KEY = "reporter"


@bp.get("/")
def landing() -> str:
    return render_template(
        "reporter/landing.html",
        promises=clock.site_promises(db_session(), app_config().intake),
        other_ways=sitetext.get_text(db_session(), "other_ways"),
    )


@bp.route("/report", methods=["GET", "POST"])
def file_report() -> ResponseReturnValue:
    config = app_config()
    recipients = intake.list_recipients(db_session())
    if not recipients:
        return render_template("reporter/not_ready.html"), 503
    form = intake_form(config.intake, recipients)
    if request.method == "GET":
        form.form_token.data = intake.new_form_token()
        return _intake_page(form)
    uploads = collect_uploads(request.files.getlist("attachments"))
    problems = []
    if form.website.data:
        problems.append("The form could not be accepted.")
    if not form.validate():
        problems.extend(
            f"{getattr(form, k).label.text}: {' '.join(v)}" for k, v in form.errors.items()
        )
    if total_budget_exceeded():
        problems.append(
            f"The files are larger than {config.storage.max_upload_mb} MB in all; "
            "choose smaller or fewer files."
        )
    if problems:
        return _intake_page(form, problems, uploads_dropped=bool(uploads)), 400
    submission = intake.Submission(
        form_token=form.form_token.data or "",
        category=form.category.data or "",
        tier=int(form.tier.data or 0),
        answers={q.key: getattr(form, f"q_{q.key}").data or "" for q in config.intake.questions},
        confidential=form.anonymity.data == "confidential",
        name=form.name.data or "",
        contact=form.contact.data or "",
        excluded_handler_ids=frozenset(form.excluded.data or ()),
        uploads=uploads,
    )
    try:
        receipt = intake.submit_report(
            db_session(),
            submission,
            intake=config.intake,
            pepper=config.security.receipt_pepper,
            profile=argon2_profile(),
            store=attachment_store(),
            clock_settings=clock_settings(),
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _intake_page(form, [str(exc)], uploads_dropped=bool(uploads)), 400
    except intake.AlreadyFiledError as exc:
        return render_template("reporter/already_filed.html", message=str(exc)), 409
    receipt_form = ReceiptForm(formdata=None, form_token=submission.form_token)
    return render_template("reporter/receipt.html", receipt=receipt, form=receipt_form)


def _intake_page(
    form: object, problems: list[str] | None = None, uploads_dropped: bool = False
) -> str:
    config = app_config()
    return render_template(
        "reporter/file_report.html",
        form=form,
        questions=config.intake.questions,
        problems=problems or [],
        uploads_dropped=uploads_dropped,
        max_upload_mb=config.storage.max_upload_mb,
        promises=clock.site_promises(db_session(), config.intake),
    )


@bp.post("/report/receipt")
def receipt_action() -> ResponseReturnValue:
    """Either the printable view or the "I have saved these" step, for the form's own token."""
    config = app_config()
    form = ReceiptForm()
    token = form.form_token.data or ""
    if not form.validate():
        return render_template("reporter/already_filed.html", message="The form expired."), 400
    try:
        receipt = intake.show_pending_receipt(
            db_session(), token, pepper=config.security.receipt_pepper
        )
    except intake.AlreadyFiledError as exc:
        return render_template("reporter/already_filed.html", message=str(exc)), 410
    if request.form.get("action") == "print":
        return render_template("reporter/receipt_print.html", receipt=receipt)
    if not form.saved.data:
        return render_template(
            "reporter/receipt.html",
            receipt=receipt,
            form=form,
            problem="Tick the box to confirm that you have saved the receipt code and passphrase.",
        ), 400
    intake.confirm_receipt_saved(db_session(), token, pepper=config.security.receipt_pepper)
    flash("Your report has been filed. Keep your receipt code and passphrase safe.", "info")
    return redirect(url_for("reporter.landing"))


def _receipt_key() -> str:
    """Rate-limit key: the receipt code being guessed (normalised digits only)."""
    digits = "".join(ch for ch in request.form.get("receipt_code", "") if ch.isdigit())
    return f"receipt:{digits[:32]}"


def _failed(response: Response) -> bool:
    # Only refused attempts count; a sign-in that shows the case with a draft is a success too.
    return response.status_code >= 400 and request.method == "POST"


@bp.route("/check", methods=["GET", "POST"])
@limiter.limit(
    lambda: app_config().ratelimit.check_per_code,
    key_func=_receipt_key,
    methods=["POST"],
    deduct_when=_failed,
)
@limiter.limit(lambda: app_config().ratelimit.check_site, methods=["POST"], deduct_when=_failed)
def check() -> ResponseReturnValue:
    config = app_config()
    form = CheckForm()
    draft = request.form.get("draft", "")
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("reporter/check.html", form=form, draft=draft), status
    try:
        login = reporter_access.sign_in(
            db_session(),
            form.receipt_code.data or "",
            form.passphrase.data or "",
            pepper=config.security.receipt_pepper,
            profile=argon2_profile(),
            now=utcnow(),
            idle=timedelta(minutes=config.security.session_idle_minutes),
        )
    except reporter_access.AccessDeniedError as exc:
        return render_template("reporter/check.html", form=form, draft=draft, problem=str(exc)), 400
    # A fresh cookie at sign-in, CSRF token included: Flask-WTF caches it on g for this request,
    # and the page shown with a draft would otherwise carry a token planted before sign-in.
    session.clear()
    g.pop("csrf_token", None)
    session[SESSION_KEY] = {"t": login.token, "k": b64encode(login.cookie_key).decode()}
    if draft:
        # Show the case with the unsent message in place, instead of keeping it in a cookie.
        return _case_page(login, draft=draft)
    return redirect(url_for("reporter.case"))


def _login() -> reporter_access.ReporterLogin | None:
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    return reporter_access.ReporterLogin(token=str(raw["t"]), cookie_key=b64decode(raw["k"]))


def _resume(login: reporter_access.ReporterLogin) -> reporter_access.ReporterContext:
    return reporter_access.resume(
        db_session(),
        login,
        now=utcnow(),
        idle=timedelta(minutes=app_config().security.session_idle_minutes),
    )


def _signed_out(message: str, draft: str = "") -> ResponseReturnValue:
    session.pop(SESSION_KEY, None)
    form = CheckForm(formdata=None)
    return render_template("reporter/check.html", form=form, draft=draft, problem=message), 401


@bp.get("/case")
def case() -> ResponseReturnValue:
    login = _login()
    if login is None:
        return redirect(url_for("reporter.check"))
    return _case_page(login)


def _case_page(
    login: reporter_access.ReporterLogin, draft: str = "", problem: str = ""
) -> ResponseReturnValue:
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        return _signed_out(f"{exc} Enter your receipt code and passphrase again.")
    db = db_session()
    case = context.case
    thread = messaging.read_thread(db, case, context.case_private_key)
    return render_template(
        "reporter/case.html",
        case=case,
        status=STATUS_WORDS[case.status.value],
        expectations=clock.expectations(db, case),
        can_appeal=clock.can_appeal(db, case),
        report=messaging.read_report(db, case, context.case_private_key),
        thread=thread,
        form=MessageForm(formdata=None, body=draft),
        sign_out=SignOutForm(formdata=None),
        problem=problem,
        max_upload_mb=app_config().storage.max_upload_mb,
    ), (400 if problem else 200)


@bp.post("/case/messages")
def send_message() -> ResponseReturnValue:
    form = MessageForm()
    body = form.body.data or ""
    login = _login()
    uploads = collect_uploads(request.files.getlist("attachments"))
    if login is None:
        return _signed_out(
            "Your session has ended. Sign in again to send your message.", draft=body
        )
    if not form.validate():
        return _case_page(
            login, draft=body, problem="The message could not be accepted; send it again."
        )
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        return _signed_out(
            f"{exc} Sign in again to send your message; it is kept below.", draft=body
        )
    if total_budget_exceeded():
        return _case_page(
            login,
            draft=body,
            problem=f"The files are larger than {app_config().storage.max_upload_mb} MB in all. "
            "Choose them again, smaller or fewer.",
        )
    try:
        messaging.add_message(
            db_session(),
            context.case,
            body,
            author_kind=AuthorKind.REPORTER,
            uploads=uploads,
            store=attachment_store(),
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _case_page(login, draft=body, problem=str(exc))
    flash("Your message has been sent.", "info")
    return redirect(url_for("reporter.case") + "#thread")


@bp.post("/case/appeal")
def appeal() -> ResponseReturnValue:
    form = SignOutForm()  # a form with only its CSRF token
    login = _login()
    if login is None:
        return redirect(url_for("reporter.check"))
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        return _signed_out(str(exc))
    if not form.validate():
        return _case_page(login, problem="The form expired; press the button again.")
    try:
        clock.file_appeal(db_session(), context.case, now=utcnow(), settings=clock_settings())
    except clock.ClockError as exc:
        return _case_page(login, problem=str(exc))
    flash("Your appeal has been sent to the committee.", "info")
    return redirect(url_for("reporter.case"))


@bp.get("/case/attachments/<uid>")
def download(uid: str) -> ResponseReturnValue:
    login = _login()
    if login is None:
        return redirect(url_for("reporter.check"))
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        return _signed_out(str(exc))
    try:
        view, chunks = messaging.open_attachment(
            db_session(), context.case, context.case_private_key, uid, attachment_store()
        )
    except NotFoundError:
        return render_template("reporter/already_filed.html", message="No such file."), 404
    return attachment_response(view.name, view.size, chunks)


@bp.post("/logout")
def sign_out() -> ResponseReturnValue:
    form = SignOutForm()
    login = _login()
    if form.validate() and login is not None:
        reporter_access.sign_out(db_session(), login.token)
    session.clear()
    return render_template("reporter/signed_out.html")
