"""What starts and what ends a clock, in words: one table for the admins' preview and policy
pages and for the published policy that reporters read, so it sits in the reporter part of the
catalogue (portal.i18n.PART_OF_PATH) and a reporter page needs no staff translation. Marked here,
translated where they are put into sentences."""

from __future__ import annotations

from portal.i18n import N_
from portal.models import EventKind

# What starts a clock, as "within 7 days of ..." reads.
START_WORDS = {
    EventKind.RECEIVED: N_("receipt"),
    EventKind.ACKNOWLEDGED: N_("the acknowledgement"),
    EventKind.FEEDBACK_SENT: N_("the feedback"),
    EventKind.DECISION_SENT: N_("the decision"),
    EventKind.RESOLVED: N_("the resolution"),
    EventKind.APPEAL_FILED: N_("the appeal"),
    EventKind.REPORTER_MESSAGE: N_("the reporter's message"),
    EventKind.RESOLUTION_SENT: N_("the resolution message"),
    EventKind.REPORTER_SATISFIED: N_("the reporter's word that they are satisfied"),
    EventKind.REOPENED: N_("reopening"),
    EventKind.SECRETARY_ASKED: N_("the appeal reaching the Company Secretary"),
    EventKind.SECRETARY_ANSWERED: N_("the Company Secretary's answer"),
    EventKind.COMMITTEE_ASKED: N_("the appeal reaching the committee"),
    EventKind.COMMITTEE_DECIDED: N_("the committee's decision"),
    EventKind.TIER_CHANGED: N_("the change of tier"),
}
# What ends a clock, as "it ends when ..." reads.
STOP_WORDS = {
    EventKind.RECEIVED: N_("the report is received"),
    EventKind.ACKNOWLEDGED: N_("an acknowledgement is sent"),
    EventKind.FEEDBACK_SENT: N_("feedback is sent"),
    EventKind.DECISION_SENT: N_("a decision is sent"),
    EventKind.RESOLVED: N_("the case is resolved"),
    EventKind.APPEAL_FILED: N_("an appeal is filed"),
    EventKind.REPORTER_MESSAGE: N_("the reporter writes"),
    EventKind.RESOLUTION_SENT: N_("a resolution is sent to the reporter"),
    EventKind.REPORTER_SATISFIED: N_("the reporter says they are satisfied"),
    EventKind.REOPENED: N_("the case is reopened"),
    EventKind.SECRETARY_ASKED: N_("the appeal goes to the Company Secretary"),
    EventKind.SECRETARY_ANSWERED: N_("the Company Secretary answers"),
    EventKind.COMMITTEE_ASKED: N_("the appeal goes to the committee"),
    EventKind.COMMITTEE_DECIDED: N_("the committee's majority decision is recorded"),
    EventKind.TIER_CHANGED: N_("a handler changes the tier"),
}
