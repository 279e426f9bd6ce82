"""The sections of the published policy that only people can write.

They are site texts (``sitetext``): stored per language, sanitised in that one place, edited by
admins on the site texts pages. What is here is the built-in default, in the catalogue so that
every language has one before an admin writes their own. Nothing here imports the rest of the
package or ``sitetext``, which reads these defaults.
"""

from __future__ import annotations

from portal.i18n import N_

# NOTE (each text below): HTML shown on the published policy page (/policy) and in its PDF;
# keep the tags (<p>, <ul>, <li>, <strong>) as they are.
POLICY_TEXTS = {
    "policy_purpose": N_(
        "<p>This policy says how we receive, handle and answer reports of wrongdoing and "
        "complaints: what you can expect from us, by when, and who is responsible at each "
        "step. It applies to every report made through this site, whoever makes it: staff, "
        "customers, suppliers and members of the public.</p>"
    ),
    "policy_definitions": N_(
        "<ul><li><strong>Complaint</strong>: an expression of dissatisfaction with our "
        "services, products or conduct that asks for a response.</li><li><strong>Wrongdoing"
        "</strong>: a breach of the law or of our own rules, or a danger to health, safety or "
        "the environment.</li><li><strong>Retaliation</strong>: any harm done to someone "
        "because they reported in good faith; we do not tolerate it.</li></ul>"
    ),
    "policy_investigation": N_(
        "<p>A handler who is not involved in the matter reads the report, asks you for more "
        "information through this site where needed, gathers the facts and keeps a record of "
        "each step. Nobody who is named in a report handles it. A handler who finds they are "
        "involved steps aside, and the report passes to someone else.</p>"
    ),
    "policy_quality": N_(
        "<p>We check regularly that reports are acknowledged and answered in time, look at "
        "the reasons when a time limit is missed, and use what reporters tell us to improve "
        "how we handle reports.</p>"
    ),
    "policy_training": N_(
        "<p>Everyone who handles reports is trained before they receive their first report, "
        "and again every year: on this policy, on confidentiality and data protection, and on "
        "how to investigate fairly.</p>"
    ),
    "policy_regulatory": N_(
        "<p>Our time limits follow the law that applies to us and our own commitments. In the "
        "European Union, Directive (EU) 2019/1937 on the protection of persons who report "
        "breaches of Union law sets the longest times allowed: an acknowledgement within seven "
        "days and feedback within three months. Where this policy promises less time, the "
        "shorter time applies.</p>"
    ),
}
