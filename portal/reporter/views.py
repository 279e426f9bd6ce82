from __future__ import annotations

import math
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from portal import i18n
from portal.argon2_gate import Argon2BusyError
from portal.downloads import attachment_response
from portal.i18n import N_, _
from portal.reporter import blank_pages, bp
from portal.reporter.forms import (
    CheckForm,
    MessageForm,
    MinutesCorrectionForm,
    ReceiptForm,
    SignOutForm,
    intake_form,
    late_answer,
)
from portal.services import (
    clock,
    identity_access,
    intake,
    messaging,
    oral,
    quota,
    readiness,
    reporter_access,
    retention,
    sitetext,
)
from portal.services.attachments import StoreUnavailableError
from portal.services.clock import appeals
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.policy_page.words import kept_words
from portal.services.reporting import awaited, proofs
from portal.timeutil import utcnow
from portal.uploads import (
    STORE_FAILED_TEXT,
    attachment_store,
    collect_uploads,
    store_failed,
    upload_problem,
)
from portal.web import (
    BUSY_TEXT,
    DATABASE_RETRY_SECONDS,
    app_config,
    argon2_gate,
    argon2_profile,
    busy_headers,
    clock_settings,
    current_settings,
    database_unavailable,
    db_session,
    forget_database_connections,
    http_error_page,
    intake_settings,
    local_time,
    receipt_delay_policy,
)

STATUS_WORDS = {
    "new": N_("Received. It is waiting to be acknowledged."),
    "acknowledged": N_("Acknowledged. A handler is looking at your report."),
    "investigating": N_("Under investigation."),
    "resolved": N_("Resolved. You can still read and send messages."),
    "closed": N_("Closed."),
}
SESSION_KEY = "reporter"
RECEIPT_KEY = "receipt"


@bp.get("/")
def landing() -> str:
    texts = sitetext.get_texts(db_session(), "other_ways", "welcome")
    return render_template(
        "reporter/landing.html",
        promises=clock.site_promises(db_session(), intake_settings()),
        other_ways=texts["other_ways"],
        welcome=texts["welcome"],
        first_run=not readiness.has_staff(db_session()),
        kept_for=[
            (kept.label, kept_words(kept.days))
            for kept in retention.kept_for(
                current_settings().retention_days,
                app_config().retention,
                intake_settings().categories,
            )
        ],
    )


BUSY_REPORT_TEXT = N_(
    "The site is busy right now, so the report could not be filed yet. Everything you "
    "typed is kept below; press the button again in a few seconds."
)


@bp.route("/report", methods=["GET", "POST"])
def file_report() -> ResponseReturnValue:
    config = app_config()
    recipients = intake.list_recipients(db_session())
    if not recipients:
        return render_template("reporter/not_ready.html"), 503
    if request.method == "GET":
        return _blank_intake_page(recipients)
    gate = argon2_gate()
    if gate.saturated:
        # Refused before the form is even read: a flood of posts must not cost a full page each.
        # What was typed comes back on a small page that sends it again as it was.
        files_dropped = any(f.filename for f in request.files.getlist("attachments"))
        page = _try_again_page(files_dropped, _(BUSY_REPORT_TEXT))
        return page, 503, {"Retry-After": str(gate.retry_after_seconds)}
    form = intake_form(intake_settings(), recipients)
    uploads = collect_uploads(request.files.getlist("attachments"))
    problems = []
    if form.website.data:
        problems.append(_("The form could not be accepted."))
    if not form.validate():
        problems.extend(
            # A field's label, then what is wrong with it.
            _("%(field)s: %(problems)s", field=getattr(form, k).label.text, problems=" ".join(v))
            for k, v in form.errors.items()
        )
    if upload_problem():
        problems.append(upload_problem() or "")
    if problems:
        # A store that refused the files is the site's fault, not the form's: try again later.
        status = 503 if store_failed() else 400
        return _intake_page(form, problems, uploads_dropped=bool(uploads)), status
    submission = intake.Submission(
        form_token=form.form_token.data or "",
        category=form.category.data or "",
        tier=int(form.tier.data or 0),
        answers={
            q.key: getattr(form, f"q_{q.key}").data or "" for q in intake_settings().questions
        },
        confidential=form.anonymity.data == "confidential",
        name=form.name.data or "",
        contact=form.contact.data or "",
        excluded_handler_ids=frozenset(form.excluded.data or ()),
        uploads=uploads,
        late=late_answer(form),
        group=form.group.data or "",
        third_party=bool(form.third_party.data),
        language=i18n.current_language().code,
    )
    try:
        intake.submit_report(
            db_session(),
            submission,
            intake=intake_settings(),
            pepper=config.security.receipt_pepper,
            profile=argon2_profile(),
            store=attachment_store(),
            clock_settings=clock_settings(),
            now=utcnow(),
            gate=gate,
            proof_key=config.proof.signing_key,
        )
    except InvalidInputError as exc:
        return _intake_page(form, [str(exc)], uploads_dropped=bool(uploads)), 400
    except StoreUnavailableError:
        page = _intake_page(form, [str(STORE_FAILED_TEXT)], uploads_dropped=bool(uploads))
        return page, 503
    except Argon2BusyError as exc:
        page = _intake_page(form, [_(BUSY_REPORT_TEXT)], uploads_dropped=bool(uploads))
        return page, 503, busy_headers(exc)
    except intake.AlreadyFiledError as exc:
        return render_template("reporter/already_filed.html", message=str(exc)), 409
    # Post, then redirect: the receipt is a page that Back, Forward and Reload can show again
    # without the browser offering to post the report a second time. The cookie holds only the
    # form's token, under which the receipt is kept wrapped until "I have saved these".
    session[RECEIPT_KEY] = submission.form_token
    return redirect(url_for("reporter.receipt"), 303)


@bp.get("/report/receipt")
def receipt() -> ResponseReturnValue:
    """The receipt of the report just filed in this browser, as often as it is reloaded."""
    token = session.get(RECEIPT_KEY)
    if not isinstance(token, str) or not token:
        return render_template(
            "reporter/already_filed.html",
            message=_(
                "There is no receipt to show in this browser. If you saved your receipt "
                "code and passphrase, use them with “Check a report”."
            ),
        ), 404
    try:
        pending = intake.show_pending_receipt(
            db_session(), token, pepper=app_config().security.receipt_pepper
        )
    except intake.AlreadyFiledError:
        session.pop(RECEIPT_KEY, None)
        return render_template(
            "reporter/already_filed.html",
            message=_(
                "Your report was filed and you confirmed that you saved its receipt, so it "
                "is no longer shown. Use your receipt code and passphrase with “Check a "
                "report”."
            ),
        ), 410
    form = ReceiptForm(formdata=None, form_token=token)
    return render_template(
        "reporter/receipt.html",
        receipt=pending,
        form=form,
        files=pending.files,
        case_language=writes_in(pending.language),
    )


def writes_in(code: str | None) -> i18n.Language:
    """The language the organisation's automatic messages to a reporter are written in: the
    case's, or the site's default when it has none (or one the site no longer offers)."""
    default = i18n.BY_CODE.get(i18n.site_default(), i18n.BY_CODE[i18n.DEFAULT])
    return i18n.BY_CODE.get(code or "", default)


def _intake_page(
    form: object, problems: list[str] | None = None, uploads_dropped: bool = False
) -> str:
    return render_template(
        "reporter/file_report.html",
        form=form,
        problems=problems or [],
        uploads_dropped=uploads_dropped,
        **_intake_page_facts(),
    )


def _intake_page_facts() -> dict[str, object]:
    """What the intake page shows besides the form: the same for every visitor."""
    settings = intake_settings()
    return {
        "questions": settings.questions,
        "max_upload_mb": app_config().storage.max_upload_mb,
        "promises": clock.site_promises(db_session(), settings),
        "late_windows": clock.late_windows(db_session(), settings),
    }


def _blank_intake_page(recipients: list[intake.Recipient]) -> str:
    """The empty intake form with fresh tokens, from a page rendered once for everyone who
    sees the same site (see portal/reporter/blank_pages.py)."""
    token = intake.new_form_token()
    if not blank_pages.servable():
        form = intake_form(intake_settings(), recipients)
        form.form_token.data = token
        return _intake_page(form)
    facts = _intake_page_facts()
    # Everything the page is drawn from, besides the tokens: the page's language, the site's
    # settings (names, look, intake questions and their translations), the handlers offered for
    # exclusion, and the promises and limits above.
    key = repr(
        (
            i18n.current_language().code,
            sorted(request.args.items()),
            current_settings(),
            intake_settings(),
            recipients,
            facts,
        )
    )

    def render() -> str:
        form = intake_form(intake_settings(), recipients)
        form.csrf_token.current_token = blank_pages.CSRF_MARK
        form.form_token.data = blank_pages.FORM_TOKEN_MARK
        return render_template(
            "reporter/file_report.html", form=form, problems=[], uploads_dropped=False, **facts
        )

    return blank_pages.blank_form_page(key, render, token)


@bp.post("/report/receipt")
def receipt_action() -> ResponseReturnValue:
    """Either the printable view or the "I have saved these" step, for the form's own token."""
    config = app_config()
    form = ReceiptForm()
    token = form.form_token.data or ""
    if not form.validate():
        return render_template("reporter/already_filed.html", message=_("The form expired.")), 400
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
            case_language=writes_in(receipt.language),
            problem=_(
                "Tick the box to confirm that you have saved the receipt code and passphrase."
            ),
        ), 400
    intake.confirm_receipt_saved(db_session(), token, pepper=config.security.receipt_pepper)
    session.pop(RECEIPT_KEY, None)
    flash(_("Your report has been filed. Keep your receipt code and passphrase safe."), "info")
    return redirect(url_for("reporter.landing"))


def _too_many(retry_at: datetime, now: datetime) -> str:
    return _(
        "Too many attempts for this receipt code. Try again after %(time)s.",
        time=local_time(retry_at, now),
    )


@bp.route("/check", methods=["GET", "POST"])
def check() -> ResponseReturnValue:
    """Sign in with the receipt code and passphrase.

    No lockout and no limit keyed on anything but the code: failures on one code meet a growing
    delay that the page states, and a flood anywhere is bounded by the Argon2id gate (503 with
    Retry-After). Every refusal shows the form again with the code and any unsent message kept.
    """
    config = app_config()
    form = CheckForm()
    draft = request.form.get("draft", "")

    def page(
        problem: str, status: int, headers: dict[str, str] | None = None
    ) -> tuple[str, int, dict[str, str]]:
        html = render_template("reporter/check.html", form=form, draft=draft, problem=problem)
        return html, status, headers or {}

    if not form.validate_on_submit():
        if request.method != "POST":
            return page("", 200)
        problems = [m for field in (form.receipt_code, form.passphrase) for m in field.errors]
        return page(
            problems[0]
            if problems
            else _(
                "The form could not be accepted, perhaps because it was open too long. "
                "Enter your receipt code and passphrase again."
            ),
            400,
        )
    gate = argon2_gate()
    busy = f"{BUSY_TEXT} {_('Your receipt code is kept below.')}"
    if gate.saturated:
        # Refused before the case is even looked up: a flood's refusals cost next to nothing.
        return page(busy, 503, {"Retry-After": str(gate.retry_after_seconds)})
    now = utcnow()
    try:
        login = reporter_access.sign_in(
            db_session(),
            form.receipt_code.data or "",
            form.passphrase.data or "",
            pepper=config.security.receipt_pepper,
            profile=argon2_profile(),
            now=now,
            idle=timedelta(minutes=config.security.session_idle_minutes),
            delays=receipt_delay_policy(),
            gate=gate,
            language=i18n.current_language().code,
        )
    except reporter_access.TooManyAttemptsError as exc:
        wait = math.ceil((exc.retry_at - now).total_seconds())
        return page(_too_many(exc.retry_at, now), 429, {"Retry-After": str(max(wait, 1))})
    except reporter_access.AccessDeniedError as exc:
        problem = str(exc)
        if exc.retry_at is not None:
            problem = f"{problem} {_too_many(exc.retry_at, now)}"
        return page(problem, 400)
    except InvalidInputError as exc:
        return page(str(exc), 400)
    except Argon2BusyError as exc:
        return page(busy, 503, busy_headers(exc))
    # A fresh cookie at sign-in, CSRF token included: Flask-WTF caches it on g for this request,
    # and the page shown with a draft would otherwise carry a token planted before sign-in.
    i18n.clear_session()
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


@dataclass(frozen=True)
class _Reporter:
    login: reporter_access.ReporterLogin
    context: reporter_access.ReporterContext


def _signed_in() -> _Reporter | ResponseReturnValue:
    """The signed-in reporter of this request, or the page for one who is not (any more)."""
    login = _login()
    if login is None:
        return redirect(url_for("reporter.check"))
    try:
        return _Reporter(login, _resume(login))
    except reporter_access.SessionExpiredError as exc:
        return _signed_out(str(exc))


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
    login: reporter_access.ReporterLogin,
    draft: str = "",
    problem: str = "",
    minutes_draft: str | None = None,
) -> ResponseReturnValue:
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        again = _("Enter your receipt code and passphrase again.")
        return _signed_out(f"{exc} {again}")
    db = db_session()
    case = context.case
    thread = messaging.read_thread(db, case, context.case_private_key)
    report = messaging.read_report(db, case, context.case_private_key)
    return render_template(
        "reporter/case.html",
        case=case,
        case_language=writes_in(case.language),
        status=_(STATUS_WORDS[case.status.value]),
        awaited=awaited.awaited(db, case, now=utcnow()),
        visits=context.visits,
        expectations=clock.expectations(db, case),
        can_appeal=clock.can_appeal(db, case),
        can_take_to_committee=appeals.can_take_to_committee(db, case),
        can_say_satisfied=clock.can_say_satisfied(db, case),
        report=report,
        thread=thread,
        minutes=oral.minutes_of(db, case, context.case_private_key, report),
        minutes_form=MinutesCorrectionForm(formdata=None, body=minutes_draft),
        minutes_draft=minutes_draft,
        form=MessageForm(formdata=None, body=draft),
        sign_out=SignOutForm(formdata=None),
        problem=problem,
        max_upload_mb=app_config().storage.max_upload_mb,
        storage_used=quota.reporter_storage_used(db, case, attachment_store()),
        storage_quota=app_config().storage.case_quota_mb * 1024 * 1024,
        identity_disclosures=identity_access.disclosure_times(db, case),
        proofs=proofs.session_proofs(db, case, login.token, login.cookie_key),
    ), (400 if problem else 200)


@bp.post("/case/messages")
def send_message() -> ResponseReturnValue:
    form = MessageForm()
    body = form.body.data or ""
    login = _login()
    uploads = collect_uploads(request.files.getlist("attachments"))
    if login is None:
        return _signed_out(
            _("Your session has ended. Sign in again to send your message."), draft=body
        )
    if not form.validate():
        return _case_page(
            login, draft=body, problem=_("The message could not be accepted; send it again.")
        )
    try:
        context = _resume(login)
    except reporter_access.SessionExpiredError as exc:
        again = _("Sign in again to send your message; it is kept below.")
        return _signed_out(f"{exc} {again}", draft=body)
    if upload_problem():
        return _case_page(login, draft=body, problem=upload_problem() or "")
    try:
        proofs.reporter_writes(
            db_session(),
            context.case,
            login.token,
            login.cookie_key,
            body,
            uploads=uploads,
            store=attachment_store(),
            now=utcnow(),
            settings=clock_settings(),
            signing_key=app_config().proof.signing_key,
        )
    except InvalidInputError as exc:
        return _case_page(login, draft=body, problem=str(exc))
    except StoreUnavailableError:
        return _case_page(login, draft=body, problem=str(STORE_FAILED_TEXT))
    flash(_("Your message has been sent."), "info")
    return redirect(url_for("reporter.case") + "#thread")


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> ResponseReturnValue:
    """A post whose session or form has expired: keep what the reporter typed, always."""
    if request.endpoint == "reporter.send_message":
        body = request.form.get("body", "")
        login = _login()
        if login is None:
            return _signed_out(
                _(
                    "Your session has ended, so your message was not sent. It is kept below: "
                    "sign in again and it will be waiting for you to send."
                ),
                draft=body,
            )
        return _case_page(
            login,
            draft=body,
            problem=_(
                "The form had been open too long, so your message was not sent. It is "
                "kept below: send it again. Choose any files again too."
            ),
        )
    if request.endpoint == "reporter.file_report":
        recipients = intake.list_recipients(db_session())
        if recipients:
            form = intake_form(intake_settings(), recipients)
            form.form_token.data = request.form.get("form_token") or intake.new_form_token()
            return _intake_page(
                form,
                [
                    _(
                        "The form had been open too long and was not sent yet. What you typed "
                        "is kept below: check it and send it again."
                    )
                ],
                uploads_dropped=bool(request.files),
            ), 400
    return http_error_page(error)


DATABASE_DOWN = N_(
    "The site could not reach its database just now, so nothing was saved. Everything you "
    "typed is kept below: press the button again in a minute."
)


@bp.errorhandler(OperationalError)
@bp.errorhandler(InterfaceError)
def database_went_away(error: SQLAlchemyError) -> ResponseReturnValue:
    """The database failed in the middle of a post: what the reporter typed comes back to them.

    Nothing of the post was kept: the service commits once, at its end, so a failure before that
    leaves no half case or half message, and the files written for it are removed at the end of
    the request (uploads.discard_unclaimed_uploads). Sending the same form again is safe: its
    form token makes a second post of a report that did get through show the same receipt.
    """
    if request.method != "POST" or request.endpoint not in (
        "reporter.file_report",
        "reporter.send_message",
    ):
        return database_unavailable(error)
    forget_database_connections()
    files_dropped = any(f.filename for f in request.files.getlist("attachments"))
    headers = {"Retry-After": str(DATABASE_RETRY_SECONDS)}
    if request.endpoint == "reporter.file_report":
        try:
            # The database may be back already (a failover, a restarted server): then the
            # whole form comes back, filled in, under the same form token.
            recipients = intake.list_recipients(db_session())
            if recipients:
                form = intake_form(intake_settings(), recipients)
                page = _intake_page(form, [_(DATABASE_DOWN)], uploads_dropped=files_dropped)
                return page, 503, headers
        except SQLAlchemyError:
            forget_database_connections()
    return _try_again_page(files_dropped, _(DATABASE_DOWN)), 503, headers


def _try_again_page(files_dropped: bool, message: str) -> str:
    """Every field of the post, sent again as it was, without asking the database anything."""
    if request.endpoint == "reporter.file_report":
        labels = {f"q_{q.key}": _(q.label) for q in app_config().intake.questions}
        labels |= {"name": _("Your name"), "contact": _("How to contact you")}
    else:
        labels = {"body": _("Your message")}
    # The name and contact only when given: an anonymous reporter is not offered them here.
    shown = [
        (name, label, value)
        for name, label in labels.items()
        if (value := request.form.get(name, "")) or name not in ("name", "contact")
    ]
    hidden = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in labels and name != "attachments"
    ]
    return render_template(
        "reporter/try_again.html",
        action=request.path,
        message=message,
        shown=shown,
        hidden=hidden,
        files_dropped=files_dropped,
    )


def reporter_action(
    action: Callable[[reporter_access.ReporterContext], str],
) -> ResponseReturnValue:
    """Run one of the reporter's one-button acts on their case from a POST (a form with only
    its CSRF token): ``action`` returns what to tell them, a refusal comes back on the case page.
    """
    form = SignOutForm()
    found = _signed_in()
    if not isinstance(found, _Reporter):
        return found
    if not form.validate():
        return _case_page(
            found.login,
            problem=_("The form had expired, so nothing was recorded. Press the button again."),
        )
    try:
        done = action(found.context)
    except (clock.ClockError, InvalidInputError) as exc:
        return _case_page(found.login, problem=str(exc))
    flash(done, "info")
    return redirect(url_for("reporter.case"))


@bp.post("/case/appeal")
def appeal() -> ResponseReturnValue:
    def action(context: reporter_access.ReporterContext) -> str:
        went_to = clock.file_appeal(
            db_session(), context.case, now=utcnow(), settings=clock_settings()
        )
        if went_to == "secretary":
            return _("Your appeal has been sent to the Company Secretary.")
        return _("Your appeal has been sent to the committee.")

    return reporter_action(action)


@bp.post("/case/appeal/committee")
def appeal_to_committee() -> ResponseReturnValue:
    """Still unhappy after the Company Secretary's answer, the reporter takes the matter to the
    full committee (seeds/002, line 82)."""

    def action(context: reporter_access.ReporterContext) -> str:
        appeals.take_to_committee(
            db_session(), context.case, now=utcnow(), settings=clock_settings()
        )
        return _("Your appeal has been sent to the committee.")

    return reporter_action(action)


@bp.get("/case/satisfied")
def satisfied_confirm() -> ResponseReturnValue:
    """The confirmation step: the reporter reads what saying "I am satisfied" does first."""
    found = _signed_in()
    if not isinstance(found, _Reporter):
        return found
    context = found.context
    if not clock.can_say_satisfied(db_session(), context.case):
        return redirect(url_for("reporter.case"))
    return render_template("reporter/satisfied.html", form=SignOutForm(formdata=None))


@bp.post("/case/satisfied")
def satisfied() -> ResponseReturnValue:
    def action(context: reporter_access.ReporterContext) -> str:
        clock.say_satisfied(db_session(), context.case, now=utcnow(), settings=clock_settings())
        return _(
            "Thank you. We have recorded that your complaint is resolved to your satisfaction. "
            "You can still read and send messages here."
        )

    return reporter_action(action)


@bp.get("/case/attachments/<uid>")
def download(uid: str) -> ResponseReturnValue:
    found = _signed_in()
    if not isinstance(found, _Reporter):
        return found
    context = found.context
    try:
        view, chunks = messaging.open_attachment(
            db_session(), context.case, context.case_private_key, uid, attachment_store()
        )
    except NotFoundError:
        return render_template("reporter/already_filed.html", message=_("No such file.")), 404
    return attachment_response(view.name, view.size, chunks)


@bp.post("/logout")
def sign_out() -> ResponseReturnValue:
    form = SignOutForm()
    login = _login()
    if form.validate() and login is not None:
        reporter_access.sign_out(db_session(), login.token)
    i18n.clear_session()
    return render_template("reporter/signed_out.html")
