"""Admin > Training: the trainings staff must have, each person's completions, and the gaps."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs

from portal.admin import bp
from portal.admin.forms import ConfirmForm
from portal.admin.training_forms import CompletionForm, RequirementForm, requirement_form
from portal.admin.views import _status, _user_or_404
from portal.i18n import _
from portal.models import TrainingCompletion, TrainingRequirement, User
from portal.services import training, training_records
from portal.services.errors import InvalidInputError, NotFoundError
from portal.staff import admin_required, staff
from portal.timeutil import utcnow
from portal.web import app_config, db_session


def today() -> date:
    """Today in the site's time zone: a training completed "today" there is not in the future."""
    return utcnow().astimezone(ZoneInfo(app_config().site.timezone)).date()


@bp.get("/training")
@admin_required
def training_page() -> ResponseReturnValue:
    overview = training_records.overview(db_session())
    return render_template(
        "admin/training.html",
        overview=overview,
        today=today(),
        training=training,
        suggestion=_suggestion() if not overview.requirements else None,
    )


def _suggestion() -> RequirementForm:
    form = requirement_form(formdata=None)
    form.name.data = _(training.SUGGESTED_NAME)
    form.who.data = "handlers:1"
    form.months.data = str(training.SUGGESTED_MONTHS)
    return form


@bp.route("/training/requirements/new", methods=["GET", "POST"])
@admin_required
def new_training_requirement() -> ResponseReturnValue:
    form = requirement_form()
    if request.method == "GET":
        form = _suggestion() if not training.list_requirements(db_session()) else form
        return _requirement_page(form, None, [])
    if not form.validate():
        return _requirement_page(form, None, _problems(form)), 400
    try:
        training.add_requirement(
            db_session(),
            name=form.name.data or "",
            who=form.who.data or "",
            months=form.months.data or "",
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _requirement_page(form, None, [str(exc)]), 400
    flash(_("The training requirement is saved."), "info")
    return redirect(url_for("admin.training_page"))


@bp.route("/training/requirements/<int:requirement_id>", methods=["GET", "POST"])
@admin_required
def edit_training_requirement(requirement_id: int) -> ResponseReturnValue:
    requirement = _requirement_or_404(requirement_id)
    if request.method == "GET":
        form = requirement_form(formdata=None)
        form.name.data = requirement.name
        form.who.data = training.choice_of(requirement)
        form.months.data = "" if requirement.valid_months is None else str(requirement.valid_months)
        return _requirement_page(form, requirement, [])
    form = requirement_form()
    if not form.validate():
        return _requirement_page(form, requirement, _problems(form)), 400
    try:
        training.update_requirement(
            db_session(),
            requirement,
            name=form.name.data or "",
            who=form.who.data or "",
            months=form.months.data or "",
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _requirement_page(form, requirement, [str(exc)]), 400
    flash(_("The training requirement is saved."), "info")
    return redirect(url_for("admin.training_page"))


@bp.route("/training/requirements/<int:requirement_id>/retire", methods=["GET", "POST"])
@admin_required
def retire_training_requirement(requirement_id: int) -> ResponseReturnValue:
    requirement = _requirement_or_404(requirement_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _retire_page(requirement, form), _status()
    try:
        training.retire_requirement(
            db_session(), requirement, actor_id=staff().user.id, now=utcnow()
        )
    except InvalidInputError as exc:
        return _retire_page(requirement, form, str(exc)), 400
    flash(_("The training is no longer required. Its records are kept."), "info")
    return redirect(url_for("admin.training_page"))


@bp.route("/training/people/<int:user_id>", methods=["GET", "POST"])
@admin_required
def training_person(user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = _completion_form()
    if request.method == "GET":
        form.completed_on.data = today()
        return _person_page(user, form, [])
    if not form.validate() or form.completed_on.data is None:
        return _person_page(user, form, _problems(form)), 400
    try:
        training_records.record_completion(
            db_session(),
            user,
            requirement_id=int(form.requirement_id.data or 0),
            completed_on=form.completed_on.data,
            note=form.note.data or "",
            today=today(),
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _person_page(user, form, [str(exc)]), 400
    flash(_("The training of %(name)s is recorded.", name=user.display_name), "info")
    return redirect(url_for("admin.training_person", user_id=user.id))


@bp.route("/training/completions/<int:completion_id>", methods=["GET", "POST"])
@admin_required
def correct_training(completion_id: int) -> ResponseReturnValue:
    completion = _completion_or_404(completion_id)
    user = _user_or_404(completion.user_id)
    form = _completion_form(keep=completion.requirement_id)
    if request.method == "GET":
        form.requirement_id.data = completion.requirement_id
        form.completed_on.data = completion.completed_on
        form.note.data = completion.note
        return _correct_page(completion, user, form, [])
    if not form.validate() or form.completed_on.data is None:
        return _correct_page(completion, user, form, _problems(form)), 400
    try:
        training_records.correct_completion(
            db_session(),
            completion,
            requirement_id=int(form.requirement_id.data or 0),
            completed_on=form.completed_on.data,
            note=form.note.data or "",
            today=today(),
            actor_id=staff().user.id,
            now=utcnow(),
        )
    except InvalidInputError as exc:
        return _correct_page(completion, user, form, [str(exc)]), 400
    flash(_("The training record is corrected."), "info")
    return redirect(url_for("admin.training_person", user_id=user.id))


@bp.route("/training/completions/<int:completion_id>/remove", methods=["GET", "POST"])
@admin_required
def remove_training(completion_id: int) -> ResponseReturnValue:
    completion = _completion_or_404(completion_id)
    user = _user_or_404(completion.user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template(
            "admin/training_remove.html",
            completion=completion,
            requirement=_requirement_or_404(completion.requirement_id),
            user=user,
            form=form,
        ), _status()
    training_records.remove_completion(
        db_session(), completion, actor_id=staff().user.id, now=utcnow()
    )
    flash(_("The training record is removed."), "info")
    return redirect(url_for("admin.training_person", user_id=user.id))


def _completion_form(keep: int | None = None) -> CompletionForm:
    """The form, offering the active requirements (and ``keep``, a retired one a record being
    corrected already names)."""
    form = CompletionForm()
    session = db_session()
    offered = training.list_requirements(session)
    if keep is not None and keep not in {r.id for r in offered}:
        offered.append(training.get_requirement(session, keep))
    form.requirement_id.choices = [SelectChoice(r.id, r.name) for r in offered]
    return form


def _requirement_page(
    form: RequirementForm, requirement: TrainingRequirement | None, problems: list[str]
) -> str:
    return render_template(
        "admin/training_requirement.html", form=form, requirement=requirement, problems=problems
    )


def _retire_page(requirement: TrainingRequirement, form: ConfirmForm, problem: str = "") -> str:
    return render_template(
        "admin/training_retire.html",
        requirement=requirement,
        who=training.audience_words(requirement),
        count=training_records.count_required_of(db_session(), requirement),
        form=form,
        problem=problem,
    )


def _person_page(user: User, form: CompletionForm, problems: list[str]) -> str:
    return render_template(
        "admin/training_person.html",
        user=user,
        record=training_records.person_record(db_session(), user),
        form=form,
        problems=problems,
        today=today(),
        training=training,
    )


def _correct_page(
    completion: TrainingCompletion, user: User, form: CompletionForm, problems: list[str]
) -> str:
    return render_template(
        "admin/training_correct.html",
        completion=completion,
        user=user,
        form=form,
        problems=problems,
    )


def _requirement_or_404(requirement_id: int) -> TrainingRequirement:
    try:
        return training.get_requirement(db_session(), requirement_id)
    except NotFoundError:
        abort(404)


def _completion_or_404(completion_id: int) -> TrainingCompletion:
    try:
        return training_records.get_completion(db_session(), completion_id)
    except NotFoundError:
        abort(404)


def _problems(form: object) -> list[str]:
    errors: dict[str, list[str]] = getattr(form, "errors", {})
    problems = []
    for name, messages in errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None else name
        problems.append(_("%(label)s: %(messages)s", label=label, messages=" ".join(messages)))
    return problems
