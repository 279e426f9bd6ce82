"""The shipped default labels of the intake form, for the catalogue.

config.example.toml's [[intake.categories]] and [[intake.questions]] are read from a file, which
the string extractor does not see; listing their labels and help texts here puts them in the
catalogue, so that a site that keeps them gets them translated (site_settings reads each label
through ``_()``). An admin's own wording is translated under Admin > Site settings > Translations.
Keep this list as config.example.toml says (the reporter groups' labels are marked in
portal/config.py's DEFAULT_GROUPS).
"""

from __future__ import annotations

from portal.i18n import N_

CATEGORY_LABELS = (
    N_("Fraud, bribery or corruption"),
    N_("Health, safety or the environment"),
    N_("Privacy and data protection"),
    N_("Harassment, discrimination or workplace conduct"),
    N_("Something else"),
)
QUESTION_LABELS = (
    N_("What happened?"),
    N_("When and where did it happen?"),
    N_("Who is involved?"),
    N_("How do you know about it?"),
)
QUESTION_HELP = (
    N_(
        "Describe the events in your own words. Leave out anything that identifies you unless "
        "you want to be known."
    ),
    N_("Dates, times and places, as far as you know them."),
    N_("Names, roles or departments of the people involved."),
    N_("For example: you saw it, you were told, or you found documents."),
)
