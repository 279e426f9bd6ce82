from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

# WTForms 3.3 deprecates choices given as tuples; its type stubs do not know SelectChoice yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length, Optional

from portal.services.accounts import MIN_PASSWORD_LENGTH
from portal.services.export import MAX_PASSPHRASE_LENGTH, MIN_PASSPHRASE_LENGTH
from portal.services.intake import MAX_ANSWER_LENGTH
from portal.services.lengths import (
    MAX_ONE_TIME_CODE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_RECOVERY_KEY_LENGTH,
)
from portal.web import SecretLength


def _at_most(name: str, limit: int) -> Length:
    # Checked before any Argon2id work; the service checks again.
    return SecretLength(name, limit)


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired()])
    password = PasswordField(
        "Password", validators=[InputRequired(), _at_most("password", MAX_PASSWORD_LENGTH)]
    )
    code = StringField(
        "One-time code",
        validators=[InputRequired(), _at_most("one-time code", MAX_ONE_TIME_CODE_LENGTH)],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            InputRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            _at_most("new password", MAX_PASSWORD_LENGTH),
        ],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            EqualTo("password", "The passwords differ."),
            _at_most("repeated password", MAX_PASSWORD_LENGTH),
        ],
    )


class PasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[InputRequired()])


class EnrolForm(FlaskForm):
    code = StringField(
        "One-time code",
        validators=[InputRequired(), _at_most("one-time code", MAX_ONE_TIME_CODE_LENGTH)],
    )
    stored = BooleanField("I have stored my recovery key somewhere safe")


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[InputRequired(), _at_most("current password", MAX_PASSWORD_LENGTH)],
    )


class RecoverForm(NewPasswordForm):
    username = StringField("Username", validators=[InputRequired()])
    recovery_key = StringField(
        "Recovery key",
        validators=[InputRequired(), _at_most("recovery key", MAX_RECOVERY_KEY_LENGTH)],
    )


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


class ConfirmForm(FlaskForm):
    # Only the confirmation page sends this field; a bare POST records nothing.
    confirm = HiddenField(default="yes", validators=[InputRequired(), AnyOf(["yes"])])


class OralReportForm(FlaskForm):
    """A report received by telephone, voice message, post, e-mail or in a meeting."""

    form_token = HiddenField()
    # Any value reaches the service, which refuses an unknown channel with the form kept.
    channel = SelectField("How the report was received", validate_choice=False)
    received = DateTimeLocalField(
        "When it was received (date and time in the site's time zone)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message="Give the date and time the report was received.")],
    )
    category = SelectField("What the report is about", validate_choice=False)
    tier = SelectField(
        "Tier",
        choices=[
            SelectChoice("3", "3: other"),
            SelectChoice("2", "2: high"),
            SelectChoice("1", "1: critical (someone is in immediate danger)"),
        ],
        default="3",
    )
    minutes = TextAreaField(
        "Minutes or transcript of the report",
        validators=[Length(max=MAX_ANSWER_LENGTH)],
    )
    third_party = BooleanField(
        "The reporter reports on someone else's behalf, or about something they witnessed as "
        "a third party"
    )


class MinutesForm(FlaskForm):
    body = TextAreaField("Revised minutes", validators=[Length(max=MAX_ANSWER_LENGTH)])


class ExportForm(FlaskForm):
    """Export a case: the PDF, or a zip of it and the files, optionally with a passphrase."""

    format = RadioField(
        "What to export",
        choices=[SelectChoice("pdf", "PDF"), SelectChoice("zip", "Zip: the PDF and the files")],
        default="pdf",
        validators=[InputRequired()],
    )
    passphrase = PasswordField(
        "Passphrase for the zip (optional)",
        validators=[
            Optional(),
            Length(
                min=MIN_PASSPHRASE_LENGTH,
                message=f"Use at least {MIN_PASSPHRASE_LENGTH} characters.",
            ),
            _at_most("passphrase", MAX_PASSPHRASE_LENGTH),
        ],
    )
    confirm = PasswordField(
        "Repeat the passphrase",
        validators=[
            EqualTo("passphrase", "The passphrases differ."),
            _at_most("repeated passphrase", MAX_PASSPHRASE_LENGTH),
        ],
    )


NOTIFY_CHOICES = [
    SelectChoice("immediately", "Immediately: an e-mail for each event"),
    SelectChoice("digest", "In the daily digest: one e-mail a day listing the cases"),
]


class NotifyForm(FlaskForm):
    mode = RadioField(
        "Tell me of a new report, a reporter's message or an appeal on my cases",
        choices=NOTIFY_CHOICES,
        validators=[InputRequired("Choose how you want to be told.")],
    )
