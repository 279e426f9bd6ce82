from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from portal.services.accounts import MIN_PASSWORD_LENGTH


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[InputRequired()])
    password = PasswordField("Password", validators=[InputRequired()])
    code = StringField("One-time code", validators=[InputRequired(), Length(max=10)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[InputRequired(), Length(min=MIN_PASSWORD_LENGTH)]
    )
    confirm = PasswordField(
        "Repeat the new password", validators=[EqualTo("password", "The passwords differ.")]
    )


class PasswordForm(FlaskForm):
    password = PasswordField("Password", validators=[InputRequired()])


class EnrolForm(FlaskForm):
    code = StringField("One-time code", validators=[InputRequired(), Length(max=10)])
    stored = BooleanField("I have stored my recovery key somewhere safe")


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[InputRequired()])


class RecoverForm(NewPasswordForm):
    username = StringField("Username", validators=[InputRequired()])
    recovery_key = StringField("Recovery key", validators=[InputRequired()])


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""
