"""The shipped default texts, read by reporters: in the catalogue, so in every language the site
ships. Each is English here and translated where it is used (``_`` in the case's language).

NOTE for translators: keep each {placeholder} as it is (the site writes the case's value there)
and the lines in square brackets as a hint to the handler.
"""

from __future__ import annotations

from portal.i18n import N_

DEFAULTS: dict[str, str] = {
    # NOTE: Keep {site_name}, {reference} and {next_due} as they are.
    "acknowledgement": N_(
        "Thank you for your report to {site_name}. We have received it, and we will look into "
        "it carefully and in confidence.\n\n"
        "Its reference with us is {reference}. We will write to you here again by {next_due} "
        "at the latest."
    ),
    # NOTE: Keep {reference} as it is; the line in square brackets is a hint to the handler.
    "request_info": N_(
        "Thank you for your report {reference}. To look into it further, we need more "
        "information from you:\n\n"
        "[Write your questions here.]\n\n"
        "Please answer here, in this thread."
    ),
    # NOTE: Keep {reference} as it is; the line in square brackets is a hint to the handler.
    "feedback": N_(
        "We are writing to tell you where your report {reference} stands.\n\n"
        "[What has been done so far, and what is planned.]\n\n"
        "If you have anything to add, you can write to us here at any time."
    ),
    # NOTE: Keep {reference} as it is; the line in square brackets is a hint to the handler.
    "decision": N_(
        "We have finished looking into your report {reference}. Our decision:\n\n"
        "[The decision, and the reasons for it.]\n\n"
        "If you have questions about it, you can write to us here."
    ),
    # NOTE: Keep {reference} as it is; the line in square brackets is a hint to the handler.
    "resolution": N_(
        "We are writing about the resolution of your complaint {reference}:\n\n"
        "[How the complaint was resolved.]\n\n"
        "If you are not satisfied with it, please tell us here."
    ),
    # NOTE: Keep {reference} and {handler} as they are; the line in square brackets is a hint
    # to the Company Secretary.
    "secretary_answer": N_(
        "As Company Secretary, I have looked at your appeal about {reference}.\n\n"
        "[My answer, and the reasons for it.]\n\n"
        "{handler}"
    ),
}

# seeds/002, line 57: "We will acknowledge receipt of your complaint within 48 hours, and
# advise you of who is investigating your complaint." Added to an acknowledgement that does not
# name the investigator itself, under a policy whose acknowledgement must.
# NOTE: Keep {investigator} (a person's name) and {investigator_title} (their job) as they are.
INVESTIGATOR_SENTENCE = N_(
    "Your complaint is investigated by {investigator} ({investigator_title})."
)
