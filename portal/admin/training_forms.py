"""The training pages' forms: a requirement, and one person's completion."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from portal.i18n import _l
from portal.services import training
from portal.web import coerce_number


# Flask-WTF ships no type information (pyproject lets only portal.*.forms subclass its Any).
class RequirementForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        _l("Name of the training"), validators=[InputRequired(), Length(max=training.MAX_NAME)]
    )
    who = SelectField(_l("Who must have it"), validators=[InputRequired()])
    months = StringField(
        _l("Valid for (months; leave empty if a completion never expires)"),
        validators=[Length(max=40)],
    )


class CompletionForm(FlaskForm):  # type: ignore[misc]
    requirement_id = SelectField(_l("Training"), coerce=coerce_number, validators=[InputRequired()])
    completed_on = DateField(_l("Completed on"), validators=[InputRequired()])
    note = StringField(
        _l("Note (optional: the provider, a certificate number)"),
        validators=[Length(max=training.MAX_NOTE)],
    )


def requirement_form(**kwargs: object) -> RequirementForm:
    form = RequirementForm(**kwargs)
    form.who.choices = training.audience_choices()
    return form
