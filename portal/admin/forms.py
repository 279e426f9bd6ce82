from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange

from portal.config import IntakeConfig, ReporterGroup
from portal.i18n import _l
from portal.services.accounts import MAX_NAME_LENGTH
from portal.web import coerce_number

LEVEL_CHOICES = [
    SelectChoice("1", _l("1: handler")),
    SelectChoice("2", _l("2: supervisor")),
    SelectChoice("3", _l("3: executive or committee")),
]
MAX_SITE_TEXT_LENGTH = 20_000


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AccountFormBase(FlaskForm):
    display_name = StringField(
        _l("Display name"), validators=[InputRequired(), Length(max=MAX_NAME_LENGTH)]
    )
    title = StringField(
        _l("Title (the role shown to reporters, e.g. Compliance officer)"),
        validators=[Length(max=MAX_NAME_LENGTH)],
    )
    email = StringField(
        _l("E-mail for notifications (optional; they name a case reference, never its content)"),
        validators=[Length(max=320)],
    )
    level = RadioField(
        _l("Escalation level"), choices=LEVEL_CHOICES, coerce=coerce_number, default=1
    )
    is_handler = BooleanField(_l("Handler: receives and works on cases"), default=True)
    is_admin = BooleanField(_l("Admin: manages accounts and site texts"))
    is_custodian = BooleanField(
        _l("Custodian: decides requests to see a confidential reporter's identity; reads no case")
    )
    is_analyst = BooleanField(_l("Analyst: sees the statistics; reads no case"))
    categories = MultiCheckboxField(_l("Categories received (none ticked: every category)"))


class NewAccountFormBase(AccountFormBase):
    username = StringField(
        _l("Username (lower-case letters, digits, dots, dashes or underscores)"),
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
    html = TextAreaField(_l("Other ways to report"), validators=[Length(max=MAX_SITE_TEXT_LENGTH)])


class HolidaysForm(FlaskForm):
    country = SelectField(_l("Country"), validators=[InputRequired()])
    subdivision = StringField(
        _l("Region (its code, such as BY for Bavaria; empty for the whole country only)"),
        validators=[Length(max=16)],
    )
    closing_days = TextAreaField(
        _l("The organisation's own closing days (one date a line, such as 2026-12-24)"),
        validators=[Length(max=12_000)],
    )


def holidays_form(countries: dict[str, str], **kwargs: Any) -> HolidaysForm:
    """The holidays form with every country the holiday tables know as its choices."""
    form = HolidaysForm(**kwargs)
    form.country.choices = [
        SelectChoice(code, f"{name} ({code})") for code, name in countries.items()
    ]
    return form


class PreviewForm(Form):
    """The timeline preview's question. Sent by GET: it reads, changes nothing, needs no token."""

    received = DateTimeLocalField(
        _l("Received at (the site's time zone)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message=_l("Give the date and time the report is received."))],
    )
    tier = SelectField(
        _l("Tier"),
        choices=[
            SelectChoice(1, _l("1: critical")),
            SelectChoice(2, _l("2: high")),
            SelectChoice(3, _l("3: other")),
        ],
        coerce=int,
        default=3,
    )
    # The site's reporter groups, set with the form (preview_form).
    group = SelectField(_l("Reporter"), default="")


def preview_form(groups: Sequence[ReporterGroup], formdata: Any) -> PreviewForm:
    """The preview form with the site's reporter groups, as intake asks them, as its choices."""
    form = PreviewForm(formdata)
    form.group.choices = [SelectChoice("", _l("Not said"))] + [
        SelectChoice(g.key, g.label) for g in groups
    ]
    return form


UNIT_CHOICES = [
    SelectChoice("minutes", _l("minutes")),
    SelectChoice("hours", _l("hours")),
    SelectChoice("calendar_days", _l("calendar days")),
    SelectChoice("working_days", _l("working days")),
    SelectChoice("calendar_months", _l("calendar months")),
]
AT_EXPIRY_CHOICES = [
    SelectChoice("notify", _l("Notify the handlers responsible")),
    SelectChoice("escalate", _l("Escalate the case up the ladder")),
    SelectChoice("reporter_notice", _l("Send the reporter the policy's notice")),
]


def _stripped(text: object) -> object:
    return text.strip() if isinstance(text, str) else text


class NewPolicyForm(FlaskForm):
    preset = SelectField(_l("The preset to start from"), validators=[InputRequired()])
    name = StringField(
        _l(
            "Name (lower-case letters, digits and dashes, such as acme-complaints; it cannot "
            "change)"
        ),
        validators=[InputRequired(message=_l("Give the policy a name.")), Length(max=48)],
    )
    title = StringField(
        _l("Title (what admins and handlers read, such as Complaints at Acme)"),
        filters=[_stripped],
        validators=[DataRequired(message=_l("Give the policy a title.")), Length(max=200)],
    )


def new_policy_form(presets: dict[str, str], **kwargs: Any) -> NewPolicyForm:
    """The form with every preset (name: title) as its choices."""
    form = NewPolicyForm(**kwargs)
    form.preset.choices = [
        SelectChoice(name, f"{title} ({name})") for name, title in presets.items()
    ]
    return form


class ClockForm(Form):
    """One clock's values in the edit form; its other keys are changed in the text."""

    key = HiddenField(validators=[InputRequired()])
    duration = IntegerField(
        _l("Duration"),
        validators=[
            InputRequired(message=_l("Give a whole number.")),
            NumberRange(min=1, max=100_000, message=_l("Give a whole number from 1 to 100000.")),
        ],
    )
    unit = SelectField(_l("Unit"), choices=UNIT_CHOICES)
    warn_before = StringField(
        _l(
            "Warnings before the due time (separated by commas, such as 2 calendar_days, 1 "
            "calendar_days; empty for none)"
        ),
        validators=[Length(max=500)],
    )
    escalate_every = StringField(
        _l("Escalation step after the due time (such as 2 calendar_days; empty for none)"),
        validators=[Length(max=100)],
    )
    at_expiry = MultiCheckboxField(_l("At the due time"), choices=AT_EXPIRY_CHOICES)


class _VersionedForm(FlaskForm):
    # The version the admin started from: a save over another admin's newer one is refused.
    edited_version = HiddenField(validators=[InputRequired()])
    note = StringField(
        _l("What changed, and why (kept in the history)"),
        filters=[_stripped],
        validators=[DataRequired(message=_l("Say in a few words what changed.")), Length(max=500)],
    )


class PolicyClocksForm(_VersionedForm):
    clocks = FieldList(FormField(ClockForm))


class PolicyTextForm(_VersionedForm):
    text = TextAreaField(
        _l("The whole policy as TOML"),
        validators=[InputRequired(message=_l("The text is empty.")), Length(max=100_000)],
    )


class SecretaryForm(FlaskForm):
    user_id = SelectField(_l("Company Secretary"), default="")


class MeetingsForm(FlaskForm):
    days = TextAreaField(
        _l("Meeting dates (one date a line, such as 2027-01-14)"),
        validators=[Length(max=4_000)],
    )


class EscrowForm(FlaskForm):
    """The escrow's threshold and escrow custodians: at creation, and for a change (re-split)."""

    threshold = IntegerField(
        _l("Approvals needed (M)"), validators=[InputRequired(), NumberRange(min=2, max=16)]
    )
    custodians = MultiCheckboxField(_l("Staff escrow custodians"), coerce=coerce_number)
    paper_names = TextAreaField(
        _l("Paper custodians (one name a line)"), validators=[Length(max=2_000)]
    )
    reason = TextAreaField(_l("Reason"), validators=[Length(max=1_000)])
    # Sent only by the confirmation page.
    confirm = HiddenField()
