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

from portal.i18n import _l
from portal.models.identity import MAX_REASON_LENGTH
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
    username = StringField(_l("Username"), validators=[InputRequired()])
    password = PasswordField(
        _l("Password"), validators=[InputRequired(), _at_most(_l("password"), MAX_PASSWORD_LENGTH)]
    )
    code = StringField(
        _l("One-time code"),
        validators=[InputRequired(), _at_most(_l("one-time code"), MAX_ONE_TIME_CODE_LENGTH)],
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(),
            Length(min=MIN_PASSWORD_LENGTH),
            _at_most(_l("new password"), MAX_PASSWORD_LENGTH),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            EqualTo("password", _l("The passwords differ.")),
            _at_most(_l("repeated password"), MAX_PASSWORD_LENGTH),
        ],
    )


class PasswordForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[InputRequired()])


class EnrolForm(FlaskForm):
    code = StringField(
        _l("One-time code"),
        validators=[InputRequired(), _at_most(_l("one-time code"), MAX_ONE_TIME_CODE_LENGTH)],
    )
    stored = BooleanField(_l("I have stored my recovery key somewhere safe"))


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"),
        validators=[InputRequired(), _at_most(_l("current password"), MAX_PASSWORD_LENGTH)],
    )


class RecoverForm(NewPasswordForm):
    username = StringField(_l("Username"), validators=[InputRequired()])
    recovery_key = StringField(
        _l("Recovery key"),
        validators=[InputRequired(), _at_most(_l("recovery key"), MAX_RECOVERY_KEY_LENGTH)],
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
    channel = SelectField(_l("How the report was received"), validate_choice=False)
    received = DateTimeLocalField(
        _l("When it was received (date and time in the site's time zone)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        validators=[InputRequired(message=_l("Give the date and time the report was received."))],
    )
    category = SelectField(_l("What the report is about"), validate_choice=False)
    tier = SelectField(
        _l("Tier"),
        choices=[
            SelectChoice("3", _l("3: other")),
            SelectChoice("2", _l("2: high")),
            SelectChoice("1", _l("1: critical (someone is in immediate danger)")),
        ],
        default="3",
    )
    minutes = TextAreaField(
        _l("Minutes or transcript of the report"),
        validators=[Length(max=MAX_ANSWER_LENGTH)],
    )
    third_party = BooleanField(
        _l(
            "The reporter reports on someone else's behalf, or about something they witnessed "
            "as a third party"
        )
    )


class MinutesForm(FlaskForm):
    body = TextAreaField(_l("Revised minutes"), validators=[Length(max=MAX_ANSWER_LENGTH)])


class ExportForm(FlaskForm):
    """Export a case: the PDF, or a zip of it and the files, optionally with a passphrase."""

    format = RadioField(
        _l("What to export"),
        choices=[
            SelectChoice("pdf", _l("PDF")),
            SelectChoice("zip", _l("Zip: the PDF and the files")),
        ],
        default="pdf",
        validators=[InputRequired()],
    )
    passphrase = PasswordField(
        _l("Passphrase for the zip (optional)"),
        validators=[
            Optional(),
            Length(
                min=MIN_PASSPHRASE_LENGTH,
                # WTForms fills in %(min)d.
                message=_l("Use at least %(min)d characters."),
            ),
            _at_most(_l("passphrase"), MAX_PASSPHRASE_LENGTH),
        ],
    )
    confirm = PasswordField(
        _l("Repeat the passphrase"),
        validators=[
            EqualTo("passphrase", _l("The passphrases differ.")),
            _at_most(_l("repeated passphrase"), MAX_PASSPHRASE_LENGTH),
        ],
    )


NOTIFY_CHOICES = [
    SelectChoice("immediately", _l("Immediately: an e-mail for each event")),
    SelectChoice("digest", _l("In the daily digest: one e-mail a day listing the cases")),
]


class NotifyForm(FlaskForm):
    mode = RadioField(
        _l("Tell me of a new report, a reporter's message or an appeal on my cases"),
        choices=NOTIFY_CHOICES,
        validators=[InputRequired(_l("Choose how you want to be told."))],
    )


class IdentityRequestForm(FlaskForm):
    reason = TextAreaField(
        _l("Why you need the reporter's identity"),
        validators=[InputRequired(), Length(max=MAX_REASON_LENGTH)],
    )


class IdentityDecisionForm(FlaskForm):
    reason = TextAreaField(
        _l("Your reason"), validators=[InputRequired(), Length(max=MAX_REASON_LENGTH)]
    )
    # Only the decision page sends this field; a bare POST decides nothing.
    confirm = HiddenField(default="yes", validators=[InputRequired(), AnyOf(["yes"])])


class RedactionForm(FlaskForm):
    # The service checks both fields, so that a refusal keeps what was typed with its reason.
    phrases = TextAreaField(_l("Words to mask, one phrase per line"))
    reason = TextAreaField(_l("Why they are redacted"))
    # "check" shows the confirmation; only the confirmation page sends "save".
    step = HiddenField(default="check")


class RemoveRedactionForm(FlaskForm):
    reason = TextAreaField(_l("Why the redaction is removed"))


class EscrowRecoveryForm(FlaskForm):
    """Ask the escrow custodians to grant chosen cases to a chosen handler."""

    handler_id = SelectField(_l("Handler to receive the cases"), validators=[InputRequired()])
    from_handler_id = SelectField(_l("Every case held by"), default="")
    references = TextAreaField(
        _l("And these cases (references such as C-1A2B3C4D, one a line)"),
        validators=[Length(max=4_000)],
    )
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=1_000)])


class PaperShareForm(FlaskForm):
    """A paper custodian's share words, typed in while they are present."""

    custodian_id = HiddenField(validators=[InputRequired()])
    words = TextAreaField(_l("Share words"), validators=[InputRequired(), Length(max=1_000)])
