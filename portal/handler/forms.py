from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length

from portal.services.accounts import MIN_PASSWORD_LENGTH
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
