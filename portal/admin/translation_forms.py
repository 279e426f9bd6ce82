"""Forms of the translation pages (the labels themselves are read from the posted table)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, InputRequired


# Flask-WTF ships no type information (pyproject lets only portal.*.forms subclass its Any).
class TranslationsForm(FlaskForm):  # type: ignore[misc]
    """The translations table: its CSRF token; the rows are named by kind and key."""


class RemoveTextForm(FlaskForm):  # type: ignore[misc]
    # Only the confirmation page sends this field; a bare POST removes nothing.
    confirm = HiddenField(default="yes", validators=[InputRequired(), AnyOf(["yes"])])
