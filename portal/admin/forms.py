from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    Form,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import AnyOf, InputRequired, Length

from portal.config import IntakeConfig
from portal.services.accounts import MAX_NAME_LENGTH
from portal.web import coerce_number

LEVEL_CHOICES = [
    SelectChoice("1", "1: handler"),
    SelectChoice("2", "2: supervisor"),
    SelectChoice("3", "3: executive or committee"),
]
MAX_SITE_TEXT_LENGTH = 20_000


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AccountFormBase(FlaskForm):
    display_name = StringField(
        "Display name", validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)]
    )
    title = StringField(
        "Title (the role shown to reporters, e.g. Compliance officer)",
        validators=[Length(max=MAX_NAME_LENGTH)],
    )
    email = StringField(
        "E-mail for notifications (optional; they name a case reference, never its content)",
        validators=[Length(max=320)],
    )
    level = RadioField("Escalation level", choices=LEVEL_CHOICES, coerce=coerce_number, default=1)
    is_handler = BooleanField("Handler: receives and works on cases", default=True)
    is_admin = BooleanField("Admin: manages accounts and site texts")
    categories = MultiCheckboxField("Categories received (none ticked: every category)")


class NewAccountFormBase(AccountFormBase):
    username = StringField(
        "Username (lower-case letters, digits, dots, dashes or underscores)",
        validators=[InputRequired(), Length(max=64)],
    )


def account_form(intake: IntakeConfig, *, new: bool, **kwargs: Any) -> AccountFormBase:
    """The account form with this configuration's categories as its choices."""
    form = NewAccountFormBase(**kwargs) if new else AccountFormBase(**kwargs)
    form.categories.choices = [SelectChoice(c.key, c.label) for c in intake.categories]
    return form


class ConfirmForm(FlaskForm):
    # The confirmation page is the only place that sends this; a bare POST does nothing.
    confirm = HiddenField(default="yes", validators=[InputRequired(), AnyOf(["yes"])])


class SiteTextForm(FlaskForm):
    html = TextAreaField("Other ways to report", validators=[Length(max=MAX_SITE_TEXT_LENGTH)])


class HolidaysForm(FlaskForm):
    country = SelectField("Country", validators=[InputRequired()])
    subdivision = StringField(
        "Region (its code, such as BY for Bavaria; empty for the whole country only)",
        validators=[Length(max=16)],
    )
    closing_days = TextAreaField(
        "The organisation's own closing days (one date a line, such as 2026-12-24)",
        validators=[Length(max=12_000)],
    )


def holidays_form(countries: dict[str, str], **kwargs: Any) -> HolidaysForm:
    """The holidays form with every country the holiday tables know as its choices."""
    form = HolidaysForm(**kwargs)
    form.country.choices = [
        SelectChoice(code, f"{name} ({code})") for code, name in countries.items()
    ]
    return form


# Who the reporter is, as intake will ask it; policies give no group a ladder of its own yet.
REPORTER_GROUPS = {
    "": "Any",
    "employee": "Employee",
    "customer": "Customer",
    "vendor": "Vendor or supplier",
    "public": "Member of the public",
    "other": "Other",
}


class PreviewForm(Form):
    """The timeline preview's question. Sent by GET: it reads, changes nothing, needs no token."""

    received = DateTimeLocalField(
        "Received at (the site's time zone)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message="Give the date and time the report is received.")],
    )
    tier = SelectField(
        "Tier",
        choices=[
            SelectChoice(1, "1: critical"),
            SelectChoice(2, "2: high"),
            SelectChoice(3, "3: other"),
        ],
        coerce=int,
        default=3,
    )
    group = SelectField(
        "Reporter",
        choices=[SelectChoice(key, label) for key, label in REPORTER_GROUPS.items()],
        default="",
    )


class SecretaryForm(FlaskForm):
    user_id = SelectField("Company Secretary", default="")


class MeetingsForm(FlaskForm):
    days = TextAreaField(
        "Meeting dates (one date a line, such as 2027-01-14)",
        validators=[Length(max=4_000)],
    )
