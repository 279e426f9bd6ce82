"""What a response template may be about and say: its kinds, its placeholders, the check an
admin's text passes, and the filling of a text from a case's values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from portal.i18n import N_, _, _n
from portal.models import EventKind
from portal.services.errors import InvalidInputError

# An admin's template is boilerplate; a message may be longer (the handler writes the rest).
MAX_TEMPLATE_LENGTH = 10_000

# The typed messages a template may start, by the kind the thread keeps (messaging.MESSAGE_KINDS),
# in the order the pages list them, with the words admins and handlers read for each.
KINDS: dict[str, str] = {
    "acknowledgement": N_("Acknowledgement"),
    "request_info": N_("Request for information"),
    "feedback": N_("Feedback"),
    "decision": N_("Decision"),
    "resolution": N_("Resolution of a complaint"),
    "secretary_answer": N_("Appeal outcome (the Company Secretary's answer)"),
}

# The reply form's kind of message for each template kind (casework.MESSAGE_KINDS); the appeal's
# answer has a form of its own, the Company Secretary's.
FORM_KINDS: dict[str, str] = {
    "acknowledgement": "acknowledge",
    "request_info": "request_info",
    "feedback": "feedback",
    "decision": "decision",
    "resolution": "resolution",
}

# The typed event each kind of message is, where it is one: the clocks it stops.
STOPS: dict[str, frozenset[EventKind]] = {
    "acknowledgement": frozenset({EventKind.ACKNOWLEDGED}),
    "request_info": frozenset(),
    "feedback": frozenset({EventKind.FEEDBACK_SENT}),
    "decision": frozenset({EventKind.DECISION_SENT}),
    "resolution": frozenset({EventKind.RESOLUTION_SENT, EventKind.RESOLVED}),
    "secretary_answer": frozenset({EventKind.SECRETARY_ANSWERED, EventKind.COMMITTEE_DECIDED}),
}

# Each due-date placeholder, and the events whose clock's due date it is.
DUE_PLACEHOLDERS: dict[str, frozenset[EventKind]] = {
    "acknowledge_due": STOPS["acknowledgement"],
    "feedback_due": STOPS["feedback"],
    "decision_due": STOPS["decision"],
    "resolution_due": STOPS["resolution"],
    "appeal_due": STOPS["secretary_answer"],
}

# Every placeholder a template may use, with what the site writes there.
PLACEHOLDERS: dict[str, str] = {
    "reference": N_("the case's reference (C-…)"),
    "site_name": N_("the site's name"),
    "investigator": N_(
        "who investigates: the handler the case is assigned to, else the handler writing"
    ),
    "investigator_title": N_("the investigator's job title"),
    "handler": N_("the name of the handler writing the message"),
    "acknowledge_due": N_("when the acknowledgement is due"),
    "feedback_due": N_("when feedback is next due"),
    "decision_due": N_("when the decision is due"),
    "resolution_due": N_("when the complaint must be resolved"),
    "appeal_due": N_("when the answer to the reporter's appeal is due"),
    "next_due": N_(
        "when the reporter hears from us next: the earliest of the due dates of feedback, "
        "decision, resolution and appeal, leaving out the one this message meets"
    ),
    "mediator": N_(
        "the notice of the external mediator (the site text), as plain text, with the policy's "
        "time to resolve"
    ),
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def kind_label(kind: str) -> str:
    return _(KINDS[kind])


def check_text(text: str) -> str:
    """``text`` as an admin may save it, stripped: refused (InvalidInputError, naming what is
    wrong) when empty, too long, or with a placeholder the site does not fill."""
    text = text.strip()
    if not text:
        raise InvalidInputError(_("Write the template's text."))
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise InvalidInputError(
            _n(
                "The template is longer than %(num)d character.",
                "The template is longer than %(num)d characters.",
                MAX_TEMPLATE_LENGTH,
            )
        )
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS]
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in dict.fromkeys(unknown))
        raise InvalidInputError(
            _(
                "Unknown placeholder: %(names)s. Use only the placeholders listed below, "
                "written as they are there.",
                names=names,
            )
        )
    if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
        raise InvalidInputError(
            _(
                "A brace is not closed. Write each placeholder with both braces, such as "
                "{reference}; braces are used for nothing else."
            )
        )
    return text


@dataclass(frozen=True)
class Filled:
    """A template's text with the case's values written in; ``missing`` names the placeholders
    this case has no value for, left in the text for the handler to fill by hand."""

    text: str
    missing: tuple[str, ...]


def fill(text: str, values: Mapping[str, str]) -> Filled:
    """Write ``values`` into the placeholders of ``text``, in one pass: a value that itself
    holds braces (a name, the mediator's notice) is written as it is, never filled again."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = values.get(name)
        if found is None:
            missing.append(name)
            return match.group(0)
        return found

    filled = _PLACEHOLDER.sub(value, text)
    return Filled(filled, tuple(dict.fromkeys(missing)))
