from __future__ import annotations

import threading
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FileField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # newer than its stubs
from wtforms.validators import InputRequired, Length, Optional

from portal.config import IntakeConfig
from portal.i18n import _l
from portal.services.intake import MAX_ANSWER_LENGTH, MAX_IDENTITY_LENGTH, Recipient
from portal.services.lengths import (
    MAX_PASSPHRASE_LENGTH,
    MAX_RECEIPT_CODE_LENGTH,
)
from portal.web import SecretLength, coerce_number

TIER_CHOICES = [
    SelectChoice("1", _l("Yes: someone is in immediate danger, or the matter is critical")),
    SelectChoice("2", _l("It could have a serious impact soon")),
    SelectChoice("3", _l("No, neither of these")),
]
# Read by the upload parser before the files arrive (portal.uploads.KEEP_FIELD): keep it before
# the file field in every form.
KEEP_FILES_LABEL = _l("Keep my files exactly as they are")
PREFER_NOT_TO_SAY = _l("I prefer not to say")
LATE_CHOICES = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]
ANONYMITY_CHOICES = [
    SelectChoice("anonymous", _l("Stay anonymous: nobody learns who I am")),
    SelectChoice("confidential", _l("Confidential: give my name and contact to the handlers only")),
]


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class IntakeFormBase(FlaskForm):
    form_token = HiddenField()
    # A field that people never see; software that fills every field fills it too.
    website = StringField(_l("Leave this field empty"))
    category = SelectField(_l("What is the report about?"), validators=[InputRequired()])
    tier = RadioField(
        _l("Is anyone in immediate danger, or is the matter critical?"),
        choices=TIER_CHOICES,
        default="3",
        validators=[InputRequired()],
    )
    anonymity = RadioField(
        _l("Anonymous or confidential?"), choices=ANONYMITY_CHOICES, default="anonymous"
    )
    name = StringField(_l("Your name"), validators=[Length(max=MAX_IDENTITY_LENGTH)])
    contact = StringField(_l("How to contact you"), validators=[Length(max=MAX_IDENTITY_LENGTH)])
    excluded = MultiCheckboxField(_l("Do not send my report to"), coerce=coerce_number)
    keep_files = BooleanField(KEEP_FILES_LABEL)
    # Asked only when a category's policy has a window for reporting; its label is the policy's
    # own question. Optional, and never a reason to refuse the report.
    late = RadioField(
        _l("Did this happen more than a month ago?"), choices=LATE_CHOICES, validators=[Optional()]
    )
    # The site's groups, set with the form; the service checks the answer against the same list
    # and says what to do, so the choice is not checked here as well ("Not a valid choice").
    group = RadioField(_l("Who are you?"), default="", validate_choice=False)
    third_party = BooleanField(
        _l(
            "I am reporting on someone else's behalf, or about something I witnessed as a third "
            "party"
        ),
        description=_l(
            "For example about what happened to a colleague, a relative or a supplier's "
            "employee. Leave it unticked if it happened to you."
        ),
    )


def late_answer(form: IntakeFormBase) -> bool | None:
    """The reporter's yes or no to the late-window question; None when not answered."""
    return {"yes": True, "no": False}.get(form.late.data or "")


# Form classes by their questions (key, label, help text, one line or several): built once per
# version of the intake settings and language, not on every request. Keyed by the questions
# themselves, so an admin's edit (on any instance) makes a new key and never meets a stale class.
_form_classes: dict[tuple[tuple[str, str, str, bool], ...], type[IntakeFormBase]] = {}
_form_classes_lock = threading.Lock()
_FORM_CLASSES_MAX = 256


def _intake_form_class(intake: IntakeConfig) -> type[IntakeFormBase]:
    key = tuple((q.key, str(q.label), str(q.help), q.multiline) for q in intake.questions)
    with _form_classes_lock:
        found = _form_classes.get(key)
    if found is not None:
        return found

    class IntakeForm(IntakeFormBase):
        pass

    for question in intake.questions:
        kind = TextAreaField if question.multiline else StringField
        validators = [Length(max=MAX_ANSWER_LENGTH)]
        setattr(
            IntakeForm,
            f"q_{question.key}",
            kind(question.label, description=question.help, validators=validators),
        )
    with _form_classes_lock:
        if len(_form_classes) >= _FORM_CLASSES_MAX:
            _form_classes.clear()
        _form_classes[key] = IntakeForm
    return IntakeForm


def intake_form(intake: IntakeConfig, recipients: list[Recipient], **kwargs: Any) -> IntakeFormBase:
    """The intake form for this configuration: its questions, categories and handlers."""
    form = _intake_form_class(intake)(**kwargs)
    form.category.choices = [SelectChoice("", _l("Choose one"))] + [
        SelectChoice(c.key, c.label) for c in intake.categories
    ]
    form.group.choices = [SelectChoice("", PREFER_NOT_TO_SAY)] + [
        SelectChoice(g.key, g.label) for g in intake.groups
    ]
    form.excluded.choices = [
        SelectChoice(str(r.id), f"{r.display_name} ({r.title})") for r in recipients
    ]
    return form


class CheckForm(FlaskForm):
    receipt_code = StringField(
        _l("Receipt code"),
        validators=[
            InputRequired(_l("Enter your receipt code.")),
            SecretLength("receipt code", MAX_RECEIPT_CODE_LENGTH),
        ],
    )
    passphrase = StringField(
        _l("Passphrase"),
        validators=[
            InputRequired(_l("Enter your passphrase.")),
            SecretLength("passphrase", MAX_PASSPHRASE_LENGTH),
        ],
    )


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Your message"), validators=[Length(max=MAX_ANSWER_LENGTH)])
    keep_files = BooleanField(KEEP_FILES_LABEL)


class ReceiptForm(FlaskForm):
    form_token = HiddenField()
    saved = BooleanField(_l("I have saved my receipt code and passphrase"))


class MinutesCorrectionForm(FlaskForm):
    body = TextAreaField(_l("Your corrected minutes"), validators=[Length(max=MAX_ANSWER_LENGTH)])


class SignOutForm(FlaskForm):
    pass


# A proof file is about a kilobyte (services/reporting/proof_items.py); the original text may be
# a whole report in its canonical form.
MAX_PROOF_FILE = 16 * 1024
MAX_ORIGINAL_TEXT = 200_000


class ProofCheckForm(FlaskForm):
    proof_file = FileField(_l("The proof file"))
    proof_text = TextAreaField(
        _l("Or paste the text of the proof"),
        validators=[Optional(), Length(max=MAX_PROOF_FILE)],
    )
    original = TextAreaField(
        _l("The original text (optional)"),
        description=_l(
            "For the proof of a message: paste the message exactly as you sent it, to check "
            "that it is what the proof covers. Nothing you paste here is kept."
        ),
        validators=[Optional(), Length(max=MAX_ORIGINAL_TEXT)],
    )
