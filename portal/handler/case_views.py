from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from portal.downloads import attachment_response
from portal.handler import bp
from portal.handler.forms import ConfirmForm, IdentityRequestForm, PlainForm
from portal.i18n import BY_CODE, _, _l, _n, site_default
from portal.models import CaseStatus, User
from portal.services import (
    audit,
    casework,
    drafts,
    follow_ups,
    identity_access,
    masking,
    oral,
    redaction,
    retention,
    tokens,
)
from portal.services import clock as clock_service
from portal.services import inbox as inbox_service
from portal.services.clock import appeals, committee
from portal.services.errors import InvalidInputError, NotFoundError
from portal.services.response_templates import catalogue as response_catalogue
from portal.staff import (
    DRAFT_ENDPOINTS,
    case_handler_required,
    handler_required,
    keep_typed_text,
    staff,
    take_drafts_for,
)
from portal.timeutil import utcnow
from portal.uploads import attachment_store, collect_uploads, upload_problem
from portal.web import (
    app_config,
    clock_settings,
    current_settings,
    db_session,
    http_error_page,
    intake_settings,
    parse_id,
    parse_number,
)

STATUS_LABELS = {
    CaseStatus.NEW.value: _l("New"),
    CaseStatus.ACKNOWLEDGED.value: _l("Acknowledged"),
    CaseStatus.INVESTIGATING.value: _l("Investigating"),
    CaseStatus.RESOLVED.value: _l("Resolved"),
    CaseStatus.CLOSED.value: _l("Closed"),
}
# Who did something in the audit trail, when it was not a handler (whose name is shown).
ACTOR_KINDS = {
    "staff": _l("staff"),
    "reporter": _l("reporter"),
    "system": _l("system"),
    "clock": _l("clock"),
    "anonymous": _l("anonymous"),
}


def _int_arg(name: str, allowed: range) -> int | None:
    number = parse_number(request.args.get(name, ""))
    return number if number is not None and number in allowed else None


# The inbox's sortable columns, in the table's order: (sort key, header text).
SORT_HEADERS = (
    ("received", _l("Case")),
    ("due", _l("Next due")),
    ("status", _l("Status")),
    ("tier", _l("Tier")),
    ("category", _l("Category")),
    ("level", _l("Level")),
    ("assigned", _l("Assigned")),
)
# Query arguments that choose the order or the page; the rest are the filters, kept as they are.
_PAGING_ARGS = ("sort", "dir", "cursor", "page")


@bp.get("/inbox")
@handler_required
def inbox() -> ResponseReturnValue:
    status = request.args.get("status", "")
    filters = inbox_service.InboxFilters(
        status=CaseStatus(status) if status in STATUS_LABELS else None,
        tier=_int_arg("tier", range(1, 4)),
        category=request.args.get("category") or None,
        overdue=request.args.get("overdue") == "1",
        due_soon=request.args.get("due_soon") == "1",
        mine=request.args.get("mine") == "1",
        level=_int_arg("level", range(1, 4)),
        unread=request.args.get("unread") == "1",
        reference=request.args.get("q", "")[:64],
    )
    context = staff()
    page = inbox_service.list_cases(
        db_session(),
        context.user,
        context.private_key,
        filters,
        now=utcnow(),
        sort=request.args.get("sort", inbox_service.DEFAULT_SORT),
        direction=request.args.get("dir", "asc"),
        cursor=request.args.get("cursor", "")[:1024],
    )
    kept = {k: v for k, v in request.args.items() if k not in _PAGING_ARGS}
    intake = app_config().intake
    labels = {}
    for row in page.rows:
        category = intake.category(row.category)
        # A category since removed from the configuration still shows its key.
        labels[row.category] = category.label if category is not None else row.category
    return render_template(
        "handler/inbox.html",
        page=page,
        statuses=STATUS_LABELS,
        # Retired categories too: their old cases can still be found by them.
        categories=(*intake_settings().categories, *intake_settings().retired),
        category_labels=labels,
        sort_headers=_sort_headers(page, kept),
        paging={
            "next": _inbox_url(kept, page, page.next_cursor),
            "previous": _inbox_url(kept, page, page.previous_cursor),
            "first": _inbox_url(kept, page, "") if page.previous_cursor else None,
        },
        args=request.args,
        names=_names(),
    )


def _inbox_url(
    kept: dict[str, str], page: inbox_service.InboxPage, cursor: str | None
) -> str | None:
    if cursor is None:
        return None
    query: dict[str, Any] = dict(kept, sort=page.sort, dir=page.direction)
    if cursor:
        query["cursor"] = cursor
    return url_for("handler.inbox", **query)


def _sort_headers(page: inbox_service.InboxPage, kept: dict[str, str]) -> list[dict[str, str]]:
    """Each column's header: a link that sorts by it (the active one turns round), and the
    aria-sort value of the active column."""
    headers = []
    for key, text in SORT_HEADERS:
        active = key == page.sort
        turn = "desc" if active and page.direction == "asc" else "asc"
        query: dict[str, Any] = dict(kept, sort=key, dir=turn)
        headers.append(
            {
                "text": str(text),
                "url": url_for("handler.inbox", **query),
                "aria_sort": (
                    ("ascending" if page.direction == "asc" else "descending") if active else ""
                ),
            }
        )
    return headers


def _names() -> dict[int, str]:
    return {
        u.id: u.display_name for u in db_session().query(User).filter(User.is_handler.is_(True))
    }


def _access(uid: str) -> casework.CaseAccess:
    context = staff()
    try:
        return casework.open_case(db_session(), context.user, context.private_key, uid)
    except casework.AccessError:
        # The same answer as for a case that does not exist.
        abort(404)


# For the case's other view modules (the identity request).
access_or_404 = _access


def render_case(
    access: casework.CaseAccess, *, problem: str, reason: str, status: int
) -> ResponseReturnValue:
    """The case page again after a refused identity request, with the typed reason kept."""
    return _render_case(access, None, problem=problem, status=status, reason=reason)


@bp.get("/cases/<uid>")
@case_handler_required
def case_page(uid: str) -> ResponseReturnValue:
    access = _access(uid)
    kept = take_drafts_for(access.case, access.case_private_key)
    return _render_case(access, None, kept=kept)


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError) -> ResponseReturnValue:
    """A reply or note whose form expired is kept for the case page, never dropped."""
    if keep_typed_text():
        flash(
            _(
                "The form had been open too long, so your text was not sent. It is kept on the "
                "case page: check it and send it again."
            ),
            "info",
        )
        return redirect(url_for("handler.case_page", uid=(request.view_args or {})["uid"]))
    return http_error_page(error)


def render_template_start(
    access: casework.CaseAccess, *, kind: str, text: str, notice: str, status: int
) -> ResponseReturnValue:
    """The case page with a response template's text in the message box of its kind (the
    reply form's, or the Company Secretary's answer)."""
    start = TemplateStart(kind=kind, text=text, notice=notice)
    return _render_case(access, None, status=status, start=start)


@dataclass(frozen=True)
class TemplateStart:
    kind: str = ""
    text: str = ""
    notice: str = ""

    @property
    def form_kind(self) -> str:
        return response_catalogue.FORM_KINDS.get(self.kind, "")


def _render_case(
    access: casework.CaseAccess,
    identity: dict[str, str] | None,
    problem: str = "",
    status: int = 200,
    kept: Sequence[drafts.Draft] = (),
    reason: str = "",
    start: TemplateStart | None = None,
) -> ResponseReturnValue:
    detail = casework.case_detail(
        db_session(),
        access,
        now=utcnow(),
        session_id_hash=tokens.token_hash(staff().token),
        shown=request.method != "HEAD",
    )
    return render_template(
        "handler/case.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        detail=detail,
        identity=identity,
        identity_access=identity_access.case_identity_access(
            db_session(), access.case, access.handler
        ),
        identity_form=IdentityRequestForm(formdata=None, reason=reason),
        problem=problem,
        form=PlainForm(),
        statuses=STATUS_LABELS,
        outcomes=casework.OUTCOMES,
        outcome_labels=casework.OUTCOME_LABELS,
        reporter_language=_language_name(access.case.language),
        actor_kinds=ACTOR_KINDS,
        action_label=_action_label,
        # A case whose category was retired keeps it (and its label) until a handler moves it.
        categories=(
            *intake_settings().categories,
            *(c for c in intake_settings().retired if c.key == access.case.category),
        ),
        group_label=_group_label(access.case.reporter_group),
        now=utcnow(),
        names=_names(),
        max_upload_mb=app_config().storage.max_upload_mb,
        kept_reply="\n\n".join(d.body for d in kept if d.kind == "reply"),
        kept_note="\n\n".join(d.body for d in kept if d.kind == "note"),
        appeal=committee.appeal_of(
            db_session(), access.case, access.handler, clock_settings().calendar
        ),
        oral=oral.oral_view(db_session(), access, detail.report),
        secretary_answers=appeals.SECRETARY_ANSWERS,
        votes=committee.VOTES,
        deletion_at=retention.deletion_due(
            access.case,
            retention.days_for(
                access.case.category,
                current_settings().retention_days,
                app_config().retention,
            ),
        ),
        may_hold=access.handler.level >= retention.HOLD_LEVEL,
        redactions=redaction.redactions_of(db_session(), access),
        masks_shown=access.masks.shown,
        start=start or TemplateStart(),
        reply_templates={
            kind: response_catalogue.kind_label(kind)
            for kind in response_catalogue.FORM_KINDS
            if kind != "acknowledgement" or detail.can_acknowledge
        },
    ), status


def _language_name(code: str | None) -> str:
    """The language the reporter uses (None is the site's default), by its own name: the
    handler answers in it."""
    language = BY_CODE.get(code or site_default())
    return language.name if language is not None else str(code)


def _action_label(action: str) -> str:
    """An audit entry's action in the page's language; the stored entry is left as it is."""
    label = audit.ACTION_LABELS.get(action)
    return _(label) if label is not None else action.replace("_", " ")


def _group_label(key: str | None) -> str:
    """Who the reporter said they are, as the site words it; a key the site no longer lists is
    shown as stored."""
    if key is None:
        return _("not said")
    group = intake_settings().group(key)
    return group.label if group is not None else key


def case_action(uid: str, action: Callable[[casework.CaseAccess], str]) -> ResponseReturnValue:
    """Run one case action from a POST; a refused one comes back on the case page."""
    form = PlainForm()
    if not form.validate():
        abort(400)
    access = _access(uid)
    try:
        done = action(access)
    except (InvalidInputError, clock_service.ClockError) as exc:
        # What the handler typed goes back into its box: a refusal loses nothing.
        kind = DRAFT_ENDPOINTS.get(request.endpoint or "")
        typed = request.form.get("body", "")
        kept = [drafts.Draft(kind, typed, utcnow())] if kind and typed.strip() else []
        return _render_case(access, None, problem=str(exc), status=400, kept=kept)
    flash(done, "info")
    return redirect(url_for("handler.case_page", uid=uid))


@bp.post("/cases/<uid>/identity")
@case_handler_required
def reveal_identity(uid: str) -> ResponseReturnValue:
    form = PlainForm()
    if not form.validate():
        abort(400)
    access = _access(uid)
    try:
        identity = casework.reveal_identity(db_session(), access, now=utcnow())
    except identity_access.IdentityNotApprovedError as exc:
        return _render_case(access, None, problem=str(exc), status=403)
    return _render_case(access, identity or {})


@bp.post("/cases/<uid>/messages")
@case_handler_required
def send_message(uid: str) -> ResponseReturnValue:
    kind = request.form.get("kind", "reply")
    body = request.form.get("body", "")
    uploads = collect_uploads(request.files.getlist("attachments"))

    def action(access: casework.CaseAccess) -> str:
        problem = upload_problem()
        if problem:
            raise InvalidInputError(problem)
        casework.send_message(
            db_session(),
            access,
            kind,
            body,
            uploads=uploads,
            store=attachment_store(),
            settings=clock_settings(),
            now=utcnow(),
        )
        return _("The message has been sent to the reporter.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/notes")
@case_handler_required
def add_note(uid: str) -> ResponseReturnValue:
    body = request.form.get("body", "")

    def action(access: casework.CaseAccess) -> str:
        casework.add_note(db_session(), access, body, now=utcnow())
        return _("Note added.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/update")
@case_handler_required
def update_case(uid: str) -> ResponseReturnValue:
    tier = parse_number(request.form.get("tier", ""))
    status = request.form.get("status", "")
    if tier is None or status not in STATUS_LABELS:
        abort(400)

    def action(access: casework.CaseAccess) -> str:
        casework.update_case(
            db_session(),
            access,
            tier=tier,
            category=request.form.get("category", ""),
            status=CaseStatus(status),
            outcome=request.form.get("outcome") or None,
            intake=intake_settings(),
            settings=clock_settings(),
            now=utcnow(),
        )
        return _("The case has been updated.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/assign")
@case_handler_required
def assign(uid: str) -> ResponseReturnValue:
    value = request.form.get("assignee", "")
    assignee = parse_id(value)
    # Empty means "nobody"; anything else that is not an id must not quietly unassign the case.
    if value and assignee is None:
        abort(400)

    def action(access: casework.CaseAccess) -> str:
        casework.assign(db_session(), access, assignee, now=utcnow())
        return _("Assignment saved.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/grant")
@case_handler_required
def grant(uid: str) -> ResponseReturnValue:
    user_id = parse_id(request.form.get("user_id", ""))
    if user_id is None:
        abort(400)

    def action(access: casework.CaseAccess) -> str:
        casework.grant(
            db_session(),
            access,
            user_id,
            with_originals=request.form.get("with_originals") == "yes",
            now=utcnow(),
        )
        return _("Access granted. They can now open the case.")

    return case_action(uid, action)


DEADLINE_ACTS = {
    "extend": _l("The deadline has been extended."),
    "pause": _l("The deadline is paused."),
    "resume": _l("The deadline runs again."),
}


@bp.post("/cases/<uid>/deadlines/<policy>/<clock>/<act>")
@case_handler_required
def deadline_act(uid: str, policy: str, clock: str, act: str) -> ResponseReturnValue:
    """Extend, pause or resume one deadline; extending and pausing take a reason."""
    if act not in DEADLINE_ACTS:
        abort(404)
    reason = request.form.get("reason", "")

    def action(access: casework.CaseAccess) -> str:
        session, case, actor = db_session(), access.case, access.handler
        now, settings = utcnow(), clock_settings()
        if act == "extend":
            clock_service.extend(
                session, case, policy, clock, reason, actor=actor, now=now, settings=settings
            )
        elif act == "pause":
            clock_service.pause(
                session, case, policy, clock, reason, actor=actor, now=now, settings=settings
            )
        else:
            clock_service.resume(
                session, case, policy, clock, actor=actor, now=now, settings=settings
            )
        return str(DEADLINE_ACTS[act])

    return case_action(uid, action)


@bp.post("/cases/<uid>/follow-ups/<policy>/<act>")
@case_handler_required
def follow_up_done(uid: str, policy: str, act: str) -> ResponseReturnValue:
    """Tick one follow-up action (``act``, its key in the policy) of the case's policy as done."""

    def tick(access: casework.CaseAccess) -> str:
        try:
            follow_ups.record_follow_up(
                db_session(), access.case, policy, act, actor=access.handler, now=utcnow()
            )
        except NotFoundError:
            abort(404)
        return _("The follow-up action is recorded as done.")

    return case_action(uid, tick)


@bp.post("/cases/<uid>/appeal/secretary")
@case_handler_required
def secretary_answer(uid: str) -> ResponseReturnValue:
    """The Company Secretary upholds the decision or refers the appeal, writing to the
    reporter."""
    answer = request.form.get("answer", "")
    body = request.form.get("body", "")

    def action(access: casework.CaseAccess) -> str:
        appeals.answer_as_secretary(
            db_session(),
            access.case,
            answer,
            body,
            actor=access.handler,
            now=utcnow(),
            settings=clock_settings(),
        )
        if answer == "refer":
            return _("Your answer was sent to the reporter, and the appeal is with the committee.")
        return _("Your answer was sent to the reporter.")

    return case_action(uid, action)


@bp.post("/cases/<uid>/appeal/vote")
@case_handler_required
def committee_vote(uid: str) -> ResponseReturnValue:
    vote = request.form.get("vote", "")

    def action(access: casework.CaseAccess) -> str:
        committee.cast_vote(db_session(), access.case, vote, actor=access.handler, now=utcnow())
        return _("Your vote to %(vote)s is recorded.", vote=committee.VOTES[vote])

    return case_action(uid, action)


@bp.route("/cases/<uid>/appeal/decide", methods=["GET", "POST"])
@case_handler_required
def committee_decide(uid: str) -> ResponseReturnValue:
    """Record the committee's majority decision; only the confirmation page's POST does."""
    access = _access(uid)
    form = ConfirmForm()
    view = committee.appeal_of(db_session(), access.case, access.handler, clock_settings().calendar)
    if view is None or view.stage != "committee":
        return redirect(url_for("handler.case_page", uid=uid))
    if not form.validate_on_submit():
        return render_template(
            "handler/confirm_decision.html",
            case=access.case,
            reference=inbox_service.reference(access.case),
            appeal=view,
            votes=committee.VOTES,
            outcome_words=committee.REPORTER_OUTCOME,
            form=form,
        ), (400 if request.method == "POST" else 200)
    try:
        outcome = committee.record_decision(
            db_session(),
            access.case,
            actor=access.handler,
            now=utcnow(),
            settings=clock_settings(),
        )
    except InvalidInputError as exc:
        return _render_case(access, None, problem=str(exc), status=400)
    flash(
        _(
            "The committee's decision (%(outcome)s) is recorded, and the reporter has been told.",
            outcome=committee.VOTES[outcome],
        ),
        "info",
    )
    return redirect(url_for("handler.case_page", uid=uid))


@bp.get("/cases/<uid>/recuse")
@case_handler_required
def confirm_recuse(uid: str) -> ResponseReturnValue:
    access = _access(uid)
    return render_template(
        "handler/confirm_recuse.html",
        case=access.case,
        reference=inbox_service.reference(access.case),
        form=PlainForm(),
    )


@bp.post("/cases/<uid>/recuse")
@case_handler_required
def recuse(uid: str) -> ResponseReturnValue:
    form = PlainForm()
    if not form.validate():
        abort(400)
    access = _access(uid)
    try:
        casework.recuse(db_session(), access, now=utcnow())
    except InvalidInputError as exc:
        return _render_case(access, None, problem=str(exc), status=400)
    flash(_("You have recused yourself; you no longer hold this case."), "info")
    return redirect(url_for("handler.inbox"))


@bp.get("/cases/<uid>/attachments/<attachment_uid>")
@case_handler_required
def download(uid: str, attachment_uid: str) -> ResponseReturnValue:
    access = _access(uid)
    try:
        # The name is masked as the case page shows it to this handler; the file is not.
        view, chunks = masking.attachment_for(
            db_session(), access, attachment_uid, attachment_store()
        )
    except NotFoundError:
        abort(404)
    casework.record_download(db_session(), access, attachment_uid, now=utcnow())
    return attachment_response(view.name, view.size, chunks)


@bp.route("/bulk-grant", methods=["GET", "POST"])
@handler_required
def bulk_grant() -> ResponseReturnValue:
    context = staff()
    form = PlainForm()
    db = db_session()
    candidates = [
        u
        for u in db.query(User).filter(
            User.is_handler.is_(True), User.active.is_(True), User.public_key.is_not(None)
        )
        if u.id != context.user.id
    ]
    if request.method == "POST" and form.validate():
        value = request.form.get("user_id", "")
        try:
            count = casework.bulk_grant(
                db,
                context.user,
                context.private_key,
                parse_id(value) or 0,
                with_originals=request.form.get("with_originals") == "yes",
                now=utcnow(),
            )
        except InvalidInputError as exc:
            return render_template(
                "handler/bulk_grant.html", form=form, candidates=candidates, problem=str(exc)
            ), 400
        flash(_n("Granted %(num)d case.", "Granted %(num)d cases.", count), "info")
        return redirect(url_for("handler.bulk_grant"))
    return render_template("handler/bulk_grant.html", form=form, candidates=candidates)
