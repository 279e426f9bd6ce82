"""The escalation clock: policies' deadlines on each case, and the worker that keeps them.

- ``schedule``: the policies of a category; deadlines that start, stop and re-anchor on typed
  events; when each is due and when the worker must next act on it.
- ``worker``: the pass that claims due deadlines and warns, breaches and escalates.
- ``acts``: extending, pausing and resuming a deadline; the reporter's messages and "I am
  satisfied".
- ``appeals``: the appeal to the Company Secretary, then to the committee.
- ``committee``: the committee members' votes and the recorded majority decision.
- ``meetings``: the committee's meeting dates, at the first of which an appeal is due.
- ``views``: each deadline as people see it, and the promises in plain words.
- ``chunk``: what a worker's chunk reads once for all its cases.
- ``holidays``: the country, region and closing days that working-day deadlines skip.
- ``preview``: a policy's timeline if nobody acted, run forward by the schedule's own functions.
- ``reviews``: when each policy was last reviewed, when the next review is due, the reminder.
"""

from portal.services.clock.acts import (
    can_say_satisfied,
    extend,
    pause,
    reporter_writes,
    resume,
    say_satisfied,
)
from portal.services.clock.appeals import can_appeal, file_appeal
from portal.services.clock.chunk import responsible
from portal.services.clock.holidays import (
    HolidayChoice,
    choose_holidays,
    current_choice,
    with_holidays,
)
from portal.services.clock.schedule import (
    LEVEL_NAMES,
    OPEN_STATES,
    TOP_LEVEL,
    ClockError,
    ClockSettings,
    apply_event,
    choose_policies,
    due_time,
    escalation_time,
    next_action,
    policies_by_category,
    policies_for,
    refresh_next_due,
    settings_for,
    stop_all,
)
from portal.services.clock.views import (
    DeadlineView,
    SitePromises,
    deadlines_of,
    expectations,
    late_window_of,
    late_windows,
    promises,
    site_promises,
)
from portal.services.clock.worker import (
    CHUNK,
    SEALED_CASE_COLUMNS,
    WRITE_LOCK,
    TickResult,
    tick,
)

__all__ = [
    "CHUNK",
    "LEVEL_NAMES",
    "OPEN_STATES",
    "SEALED_CASE_COLUMNS",
    "TOP_LEVEL",
    "WRITE_LOCK",
    "ClockError",
    "ClockSettings",
    "DeadlineView",
    "HolidayChoice",
    "SitePromises",
    "TickResult",
    "apply_event",
    "can_appeal",
    "can_say_satisfied",
    "choose_holidays",
    "choose_policies",
    "current_choice",
    "deadlines_of",
    "due_time",
    "escalation_time",
    "expectations",
    "extend",
    "file_appeal",
    "late_window_of",
    "late_windows",
    "next_action",
    "pause",
    "policies_by_category",
    "policies_for",
    "promises",
    "refresh_next_due",
    "reporter_writes",
    "responsible",
    "resume",
    "say_satisfied",
    "settings_for",
    "site_promises",
    "stop_all",
    "tick",
    "with_holidays",
]
