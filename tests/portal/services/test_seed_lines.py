"""Each seed line and Directive article a preset encodes, as a table: the line quoted, the case
(preset, tier, acts at given times), and every warning, due time, escalation and notice to the
reporter the clock must produce.

The real services run on a real database: the case is filed through intake, handlers act through
casework, and the worker (``clock.tick``) is run one second before, at and one second after each
expected step. Every step the worker takes is read back from the audit trail (and the reporter's
thread) with the time it happened, so a step taken a second early, a second late, twice or never
shows as a difference from the table. Where nobody acts, the admin's timeline preview must show
the very same steps.

The quotes are checked word for word against the seeds kept in ``docs/seeds/`` (the file and line
number; where the originals sit beside the repository, ``../shared/seeds/``, the copies are checked
against them too) and,
for the Directive, against the ``source`` the preset shows beside the clock. Local times are
Bavaria's (Europe/Berlin, with the holidays of DE-BY).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, AuthorKind, Case, Deadline, Message, User
from portal.services import casework, clock
from portal.services.clock.preview import Happening, Timeline, preview_timeline
from portal.services.policies import load_policy
from tests.factories import handler_private_key
from tests.portal.services.test_clock import act, file_case, ladder, settings

__all__ = ["ladder", "settings"]  # fixtures, shared with the clock's own tests

# The policies the presets encode, kept with the code so that every line number a preset quotes can
# be checked; the originals, where they sit beside the repository, must be the same.
REPOSITORY = Path(__file__).resolve().parents[3]
SEEDS = REPOSITORY / "docs" / "seeds"
ORIGINALS = REPOSITORY.parent / "shared" / "seeds"
BERLIN = ZoneInfo("Europe/Berlin")
SECOND = timedelta(seconds=1)


def local(text: str) -> datetime:
    """A wall-clock time in Berlin ("2026-11-23 10:00"), as an aware UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))


def wall(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S")


# --- Quotes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedLine:
    """Words copied verbatim from line ``line`` of ``seeds/{seed}_*.txt``."""

    seed: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"seeds/{self.seed}, line {self.line}"


@dataclass(frozen=True)
class Article:
    """Words of Directive (EU) 2019/1937 that the eu-directive preset quotes for ``clock``."""

    article: str
    clock: str
    text: str

    def __str__(self) -> str:
        return f"Directive (EU) 2019/1937, Article {self.article}"


Quote = SeedLine | Article

S000_L9 = SeedLine(
    "000",
    9,
    "This concern will be reviewed within 48 hours at a minimum and triaged according to the "
    "Alloy Complaint and Dispute Resolution Policy.",
)
# The seed writes its apostrophes as U+2019, kept here as escapes.
S000_L12 = SeedLine(
    "000",
    12,
    "For each complaint that cannot be resolved to the complainant\u2019s satisfaction within "
    "the 45 day window outlined in the above policy, the Complaint Handling and Dispute "
    "Resolution Coordinator will inform the complainant in writing that they have the option to "
    "pursue resolution of their complaint with the organization\u2019s external Dispute "
    "Resolution Officer "
    "/ Mediator and provide details about how to access them.",
)
S000_L40 = SeedLine(
    "000",
    40,
    "If unanswered within 15 minutes message the Alloy team via your customer slack channel",
)
S000_L42 = SeedLine(
    "000",
    42,
    "If no response within 15 minutes email support@alloy.co, highlighting the level of urgency "
    "within the email title",
)
S000_L49 = SeedLine(
    "000", 49, "If unanswered within 12 hours call the Alloy support line on: 844.382.5569"
)
S000_L56 = SeedLine(
    "000", 56, "This concern will be reviewed within 48 hours at a minimum and triaged"
)
S000_L93 = SeedLine(
    "000",
    93,
    "If you do not hear back from them within 15 minutes contact one of the executive team via "
    "email, phone or in person",
)
S000_L99 = SeedLine(
    "000",
    99,
    "If you do not hear back from them within 12 hours contact one of the executive team via "
    "email, phone or in person",
)
S001_L25 = SeedLine(
    "001",
    25,
    "The frontline staff handling the complaint shall promptly escalate it to their immediate "
    "supervisor or designated escalation contact.",
)
S001_L27 = SeedLine(
    "001",
    27,
    "If the supervisor or designated contact is unavailable, the next level of management or "
    "the designated escalation manager should be contacted.",
)
S001_L45 = SeedLine(
    "001",
    45,
    "Efforts shall be made to resolve the escalated complaint in a timely and satisfactory "
    "manner, addressing the customer's concerns and ensuring their satisfaction.",
)
S001_L47 = SeedLine(
    "001",
    47,
    "After resolution, follow-up may be conducted to ensure that the customer's needs have been "
    "met and to gather feedback for continuous improvement.",
)
S002_L57 = SeedLine(
    "002",
    57,
    "We will acknowledge receipt of your complaint within 48 hours, and advise you of who is "
    "investigating your complaint.",
)
S002_L61_INVESTIGATE = SeedLine(
    "002", 61, "We aim to investigate the complaint within 10 working days."
)
S002_L61_EXTEND = SeedLine(
    "002",
    61,
    "If your complaint is more complex, or involves people who are not available at the time, "
    "we may extend this to 20 working days.",
)
S003_L10 = SeedLine(
    "003",
    10,
    "4. Response Timeline: Established timeframes for complaint acknowledgment, investigation, "
    "and resolution",
)
S003_L16 = SeedLine(
    "003",
    16,
    "2. Escalation Procedures: Process for escalating unresolved complaints to higher management "
    "levels",
)
ART_9_1_B = Article(
    "9(1)(b)",
    "acknowledge",
    "acknowledgment of receipt of the report to the reporting person within seven days of that "
    "receipt",
)
ART_9_1_F_ACK = Article(
    "9(1)(f)",
    "feedback",
    "a reasonable timeframe to provide feedback, not exceeding three months from the "
    "acknowledgment of receipt",
)
ART_9_1_F_NONE = Article(
    "9(1)(f)",
    "feedback",
    "if no acknowledgement was sent to the reporting person, three months from the expiry of the "
    "seven-day period after the report was made",
)


# --- The scenario and what it must produce --------------------------------------------------


@dataclass(frozen=True)
class Scene:
    """What a row's acts need: the database, the app, the worker's settings, the ladder."""

    db: Session
    app: Flask
    settings: clock.ClockSettings
    ladder: dict[int, User]
    case: Case


Act = Callable[[Scene, datetime], None]


def handler_sends(kind: str) -> Act:
    def send(scene: Scene, now: datetime) -> None:
        hanna = scene.ladder[1]
        if kind == "acknowledge" and scene.case.assignee_id is None:
            # seeds/002 names who investigates in the acknowledgement: assign first.
            access = casework.open_case(scene.db, hanna, handler_private_key(hanna), scene.case.uid)
            casework.assign(scene.db, access, hanna.id, now=now)
        act(scene.db, hanna, scene.case, kind, now, scene.settings, scene.app)

    return send


def supervisor_acknowledges(scene: Scene, now: datetime) -> None:
    act(scene.db, scene.ladder[2], scene.case, "acknowledge", now, scene.settings, scene.app)


def reporter_satisfied(scene: Scene, now: datetime) -> None:
    clock.say_satisfied(scene.db, scene.case, now=now, settings=scene.settings)


def extend_investigation(scene: Scene, now: datetime) -> None:
    clock.extend(
        scene.db, scene.case, "seed-membership", "investigate", "The people involved are away",
        actor=scene.ladder[1], now=now, settings=scene.settings,
    )  # fmt: skip


ACKNOWLEDGE = handler_sends("acknowledge")
DECISION = handler_sends("decision")
RESOLUTION = handler_sends("resolution")


@dataclass(frozen=True)
class Row:
    """One scenario: a report received at ``received`` (Berlin wall clock) at ``tier`` under
    ``policies``, with ``acts`` at their times; ``steps`` is every (time, clock, what) the clock
    produces up to one second past the last of them (and past ``quiet``, times at which nothing
    may happen); ``due`` is each clock's due time at the end.

    ``what`` is "warning", "due", "level N" (escalated to N), "skips N" (level N has nobody
    eligible), "top" (no higher level), "met" or "late" (stopped in time or after the due time);
    a notice in the reporter's thread is the clock "reporter", what "notice".
    """

    quotes: tuple[Quote, ...]
    policies: tuple[str, ...]
    tier: int
    received: str
    steps: tuple[tuple[str, str, str], ...]
    due: dict[str, str]
    acts: tuple[tuple[str, Act], ...] = ()
    quiet: tuple[str, ...] = ()
    supervisor_excluded: bool = False
    # Where nobody acts and every level is staffed, the preview must show the same steps.
    previewed: bool = False


def notice(at: str) -> tuple[str, str, str]:
    return (at, "reporter", "notice")


# seeds/000 (the complaints policy) on the seed-complaints preset.
SEED_000 = [
    pytest.param(
        Row(
            quotes=(S000_L40, S000_L42, S000_L93),
            policies=("seed-complaints",),
            tier=1,
            received="2026-11-23 10:00",
            steps=(
                ("2026-11-23 10:15:00", "review", "due"),
                ("2026-11-23 10:15:00", "review", "level 2"),
                notice("2026-11-23 10:15:00"),
                ("2026-11-23 10:30:00", "review", "level 3"),
            ),
            quiet=("2026-11-23 10:45",),  # the top: no further step
            due={"review": "2026-11-23 10:15", "resolve": "2027-01-07 10:00"},
            previewed=True,
        ),
        id="000:40,42,93 tier 1 unanswered: up a level after 15 minutes, and again 15 later",
    ),
    pytest.param(
        Row(
            quotes=(S000_L49, S000_L99),
            policies=("seed-complaints",),
            tier=2,
            received="2026-11-23 10:00",
            steps=(
                ("2026-11-23 22:00:00", "review", "due"),
                ("2026-11-23 22:00:00", "review", "level 2"),
                notice("2026-11-23 22:00:00"),
                ("2026-11-24 10:00:00", "review", "level 3"),
            ),
            due={"review": "2026-11-23 22:00", "resolve": "2027-01-07 10:00"},
            previewed=True,
        ),
        id="000:49,99 tier 2 unanswered: up a level after 12 hours, and again 12 later",
    ),
    pytest.param(
        Row(
            quotes=(S000_L9, S000_L56),
            policies=("seed-complaints",),
            tier=3,
            received="2026-11-23 10:00",
            steps=(
                ("2026-11-24 22:00:00", "review", "warning"),
                ("2026-11-25 10:00:00", "review", "due"),
                ("2026-11-25 10:00:00", "review", "level 2"),
                notice("2026-11-25 10:00:00"),
                ("2026-11-27 10:00:00", "review", "level 3"),
            ),
            due={"review": "2026-11-25 10:00", "resolve": "2027-01-07 10:00"},
            previewed=True,
        ),
        id="000:9,56 tier 3 reviewed within 48 hours: warned 12 hours before, then escalated",
    ),
    pytest.param(
        Row(
            quotes=(S000_L40,),
            policies=("seed-complaints",),
            tier=1,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 10:14:59", ACKNOWLEDGE),),
            steps=(("2026-11-23 10:14:59", "review", "met"),),
            quiet=("2026-11-23 10:15", "2026-11-23 10:30"),
            due={"review": "2026-11-23 10:15", "resolve": "2027-01-07 10:00"},
        ),
        id="000:40 tier 1 answered a second before the 15 minutes: nothing escalates",
    ),
    pytest.param(
        Row(
            quotes=(S000_L12,),
            policies=("seed-complaints",),
            tier=3,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 11:00", ACKNOWLEDGE),),
            steps=(
                ("2026-11-23 11:00:00", "review", "met"),
                ("2026-12-31 10:00:00", "resolve", "warning"),
                ("2027-01-07 10:00:00", "resolve", "due"),
                notice("2027-01-07 10:00:00"),  # the mediator
                ("2027-01-07 10:00:00", "resolve", "level 2"),
                notice("2027-01-07 10:00:00"),  # passed to someone more senior
                ("2027-01-14 10:00:00", "resolve", "level 3"),
            ),
            due={"review": "2026-11-25 10:00", "resolve": "2027-01-07 10:00"},
        ),
        id="000:12 not resolved within 45 days: the mediator notice on day 45",
    ),
]

# seeds/001 (an escalation protocol): the ladder handler, supervisor, next level of management,
# and the follow-up that the person's needs were met (the reporter's "I am satisfied").
SEED_001 = [
    pytest.param(
        Row(
            quotes=(S001_L25,),
            policies=("seed-complaints",),
            tier=2,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 22:30", supervisor_acknowledges),),
            steps=(
                ("2026-11-23 22:00:00", "review", "due"),
                ("2026-11-23 22:00:00", "review", "level 2"),
                notice("2026-11-23 22:00:00"),
                ("2026-11-23 22:30:00", "review", "late"),
            ),
            quiet=("2026-11-24 10:00",),  # the supervisor answered: it goes no higher
            due={"review": "2026-11-23 22:00", "resolve": "2027-01-07 10:00"},
        ),
        id="001:25 escalated to the immediate supervisor, who answers: no higher",
    ),
    pytest.param(
        Row(
            quotes=(S001_L25, S001_L27),
            policies=("seed-complaints",),
            tier=2,
            received="2026-11-23 10:00",
            supervisor_excluded=True,
            steps=(
                ("2026-11-23 22:00:00", "review", "due"),
                ("2026-11-23 22:00:00", "review", "skips 2"),
                ("2026-11-23 22:00:00", "review", "level 3"),
                notice("2026-11-23 22:00:00"),
            ),
            quiet=("2026-11-24 10:00",),
            due={"review": "2026-11-23 22:00", "resolve": "2027-01-07 10:00"},
        ),
        id="001:27 the supervisor unavailable (excluded): the next level of management",
    ),
    pytest.param(
        Row(
            quotes=(S001_L45, S001_L47),
            policies=("seed-complaints",),
            tier=3,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 11:00", ACKNOWLEDGE), ("2027-01-07 09:59:59", reporter_satisfied)),
            steps=(
                ("2026-11-23 11:00:00", "review", "met"),
                ("2026-12-31 10:00:00", "resolve", "warning"),
                ("2027-01-07 09:59:59", "resolve", "met"),
            ),
            quiet=("2027-01-07 10:00", "2027-01-14 10:00"),
            due={"review": "2026-11-25 10:00", "resolve": "2027-01-07 10:00"},
        ),
        id="001:45,47 the reporter says their needs were met: the resolution clock stops",
    ),
]

# seeds/002 (the members' complaints policy) on the seed-membership preset.
SEED_002 = [
    pytest.param(
        Row(
            quotes=(S002_L57, S002_L61_INVESTIGATE),
            policies=("seed-membership",),
            tier=3,
            received="2026-11-23 10:00",
            steps=(
                ("2026-11-24 22:00:00", "acknowledge", "warning"),
                ("2026-11-25 10:00:00", "acknowledge", "due"),
                ("2026-11-25 10:00:00", "acknowledge", "level 2"),
                notice("2026-11-25 10:00:00"),
                ("2026-11-26 10:00:00", "acknowledge", "level 3"),
                ("2026-12-03 10:00:00", "investigate", "warning"),
                ("2026-12-07 10:00:00", "investigate", "due"),
                ("2026-12-07 10:00:00", "investigate", "top"),
                notice("2026-12-07 10:00:00"),
            ),
            quiet=("2026-12-09 10:00",),
            due={"acknowledge": "2026-11-25 10:00", "investigate": "2026-12-07 10:00"},
            previewed=True,
        ),
        id="002:57,61 nobody acknowledges: 48 hours, and 10 working days from receipt",
    ),
    pytest.param(
        Row(
            quotes=(S002_L61_INVESTIGATE,),
            policies=("seed-membership",),
            tier=3,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 11:00", ACKNOWLEDGE),),
            steps=(
                ("2026-11-23 11:00:00", "acknowledge", "met"),
                ("2026-12-03 10:00:00", "investigate", "warning"),
                ("2026-12-07 10:00:00", "investigate", "due"),
                ("2026-12-07 10:00:00", "investigate", "level 2"),
                notice("2026-12-07 10:00:00"),
                ("2026-12-09 10:00:00", "investigate", "level 3"),
            ),
            due={"acknowledge": "2026-11-25 10:00", "investigate": "2026-12-07 10:00"},
        ),
        id="002:61 acknowledged in time: warned 2 working days before, escalated every 2",
    ),
    pytest.param(
        Row(
            quotes=(S002_L61_EXTEND,),
            policies=("seed-membership",),
            tier=3,
            received="2026-11-23 10:00",
            acts=(("2026-11-23 11:00", ACKNOWLEDGE), ("2026-12-01 10:00", extend_investigation)),
            steps=(
                ("2026-11-23 11:00:00", "acknowledge", "met"),
                # 25 and 26 December are holidays in Bavaria, 24 December is not.
                ("2026-12-17 10:00:00", "investigate", "warning"),
                ("2026-12-21 10:00:00", "investigate", "due"),
                ("2026-12-21 10:00:00", "investigate", "level 2"),
                notice("2026-12-21 10:00:00"),
                ("2026-12-23 10:00:00", "investigate", "level 3"),
            ),
            quiet=("2026-12-03 10:00", "2026-12-07 10:00"),
            due={"acknowledge": "2026-11-25 10:00", "investigate": "2026-12-21 10:00"},
        ),
        id="002:61 extended to 20 working days from receipt: the 10-day steps never come",
    ),
]

# seeds/003 (an outline): a response timeline for acknowledgment, investigation and resolution,
# and escalation of unresolved complaints to higher management levels.
SEED_003 = [
    pytest.param(
        Row(
            quotes=(S003_L10,),
            policies=("seed-membership", "seed-complaints"),
            tier=3,
            received="2026-11-23 10:00",
            acts=(
                ("2026-11-23 11:00", ACKNOWLEDGE),
                ("2026-12-04 10:00", DECISION),
                ("2026-12-10 10:00", RESOLUTION),
            ),
            steps=(
                ("2026-11-23 11:00:00", "acknowledge", "met"),
                ("2026-11-23 11:00:00", "review", "met"),
                ("2026-12-03 10:00:00", "investigate", "warning"),
                ("2026-12-04 10:00:00", "investigate", "met"),
                ("2026-12-10 10:00:00", "resolve", "met"),
            ),
            quiet=("2026-12-07 10:00", "2026-12-31 10:00", "2027-01-07 10:00"),
            due={
                "acknowledge": "2026-11-25 10:00",
                "investigate": "2026-12-07 10:00",
                "review": "2026-11-25 10:00",
                "resolve": "2027-01-07 10:00",
            },
        ),
        id="003:10 acknowledgment, investigation and resolution, each with its timeframe",
    ),
    pytest.param(
        Row(
            quotes=(S003_L16,),
            policies=("seed-complaints",),
            tier=2,
            received="2026-11-23 10:00",
            steps=(
                ("2026-11-23 22:00:00", "review", "due"),
                ("2026-11-23 22:00:00", "review", "level 2"),
                notice("2026-11-23 22:00:00"),
                ("2026-11-24 10:00:00", "review", "level 3"),
                ("2026-12-31 10:00:00", "resolve", "warning"),
                ("2027-01-07 10:00:00", "resolve", "due"),
                notice("2027-01-07 10:00:00"),  # the mediator
                ("2027-01-07 10:00:00", "resolve", "top"),
                notice("2027-01-07 10:00:00"),
            ),
            quiet=("2027-01-14 10:00",),
            due={"review": "2026-11-23 22:00", "resolve": "2027-01-07 10:00"},
            previewed=True,
        ),
        id="003:16 unresolved: up to the higher levels, and no further than the top",
    ),
]

# Directive (EU) 2019/1937, Article 9(1), on the eu-directive preset. Received on a Friday
# before Christmas; the feedback clock crosses the daylight-saving change of 28 March 2027.
EU_DIRECTIVE = [
    pytest.param(
        Row(
            quotes=(ART_9_1_B, ART_9_1_F_NONE),
            policies=("eu-directive",),
            tier=3,
            received="2026-12-18 16:00",
            steps=(
                ("2026-12-23 16:00:00", "acknowledge", "warning"),
                ("2026-12-24 16:00:00", "acknowledge", "warning"),
                ("2026-12-25 16:00:00", "acknowledge", "due"),
                ("2026-12-25 16:00:00", "acknowledge", "level 2"),
                notice("2026-12-25 16:00:00"),
                ("2026-12-27 16:00:00", "acknowledge", "level 3"),
                # Three months from the end of the seven days.
                ("2027-03-11 16:00:00", "feedback", "warning"),
                ("2027-03-22 16:00:00", "feedback", "warning"),
                ("2027-03-25 16:00:00", "feedback", "due"),
                ("2027-03-25 16:00:00", "feedback", "top"),
                notice("2027-03-25 16:00:00"),
            ),
            quiet=("2027-04-01 16:00",),
            due={"acknowledge": "2026-12-25 16:00", "feedback": "2027-03-25 16:00"},
            previewed=True,
        ),
        id="9(1)(b),(f) nobody acknowledges: 7 days, then feedback 3 months after them",
    ),
    pytest.param(
        Row(
            quotes=(ART_9_1_F_ACK,),
            policies=("eu-directive",),
            tier=3,
            received="2026-12-18 16:00",
            acts=(("2026-12-21 16:00", ACKNOWLEDGE),),
            steps=(
                ("2026-12-21 16:00:00", "acknowledge", "met"),
                ("2027-03-07 16:00:00", "feedback", "warning"),
                ("2027-03-18 16:00:00", "feedback", "warning"),
                ("2027-03-21 16:00:00", "feedback", "due"),
                ("2027-03-21 16:00:00", "feedback", "level 2"),
                notice("2027-03-21 16:00:00"),
                # A week later, across the change to summer time: the local hour is kept.
                ("2027-03-28 16:00:00", "feedback", "level 3"),
            ),
            quiet=("2026-12-25 16:00", "2027-03-25 16:00"),
            due={"acknowledge": "2026-12-25 16:00", "feedback": "2027-03-21 16:00"},
        ),
        id="9(1)(f) acknowledged on day 3: feedback 3 months from the acknowledgement",
    ),
]

ROWS = SEED_000 + SEED_001 + SEED_002 + SEED_003 + EU_DIRECTIVE


# --- The quotes are the seeds' and the Directive's own words --------------------------------


def seed_lines(seed: str) -> list[str]:
    files = sorted(SEEDS.glob(f"{seed}_*.txt"))
    assert len(files) == 1, f"seeds/{seed}: expected one file, found {files}"
    return files[0].read_text("utf-8").splitlines()


QUOTES = sorted({q for param in ROWS for q in cast(Row, param.values[0]).quotes}, key=str)


@pytest.mark.parametrize("quote", [q for q in QUOTES if isinstance(q, SeedLine)], ids=str)
def test_each_quote_is_the_seed_line_word_for_word(quote: SeedLine) -> None:
    lines = seed_lines(quote.seed)
    assert quote.text in lines[quote.line - 1], f"{quote} reads: {lines[quote.line - 1]!r}"


@pytest.mark.parametrize("quote", [q for q in QUOTES if isinstance(q, Article)], ids=str)
def test_each_article_is_quoted_by_the_preset_beside_its_clock(quote: Article) -> None:
    source = load_policy("eu-directive").clock(quote.clock).source
    assert source is not None
    assert f"Article {quote.article}" in source
    assert quote.text in " ".join(source.split())


def test_the_kept_seeds_are_the_originals() -> None:
    if not ORIGINALS.is_dir():
        pytest.skip(f"the original seeds are not beside the repository ({ORIGINALS} is missing)")
    originals = {p.name: p.read_bytes() for p in ORIGINALS.glob("*.txt")}
    assert originals, ORIGINALS
    assert {p.name: p.read_bytes() for p in SEEDS.glob("*.txt")} == originals


def test_every_seed_has_a_table() -> None:
    seeds = {q.seed for q in QUOTES if isinstance(q, SeedLine)}
    assert seeds == {"000", "001", "002", "003"}
    assert {q.article for q in QUOTES if isinstance(q, Article)} == {"9(1)(b)", "9(1)(f)"}


# --- The clock does what each row says ------------------------------------------------------


def observed(db: Session, case: Case) -> list[tuple[str, str, str]]:
    """What the clock did on ``case``, from the audit trail and the reporter's thread."""
    db.expire_all()
    steps = []
    for entry in db.scalars(select(AuditEntry).where(AuditEntry.case_id == case.id)):
        name, _, rest = entry.detail.partition(": ")
        clock_key = name.partition("/")[2]
        match entry.action:
            case "deadline_warning":
                what = "warning"
            case "deadline_breached":
                what = "due"
            case "escalated":
                what = f"level {rest.split(' -> ')[1].split()[0]}"
            case "escalation_skipped":
                what = f"skips {rest.split()[1]}"
            case "escalation_exhausted":
                what = "top"
            case "deadline_stopped":
                what = "met" if rest == "met" else "late"
            case _:
                continue
        steps.append((wall(entry.at), clock_key, what))
    for at in db.scalars(
        select(Message.created_at).where(
            Message.case_id == case.id, Message.author_kind == AuthorKind.SYSTEM
        )
    ):
        steps.append((wall(at), "reporter", "notice"))
    return sorted(steps)


def preview_steps(timeline: Timeline) -> list[tuple[str, str, str]]:
    """The preview's events in the words of ``observed``."""
    words = {Happening.WARNING: "warning", Happening.DUE: "due", Happening.TOP_REACHED: "top"}
    steps = []
    for event in timeline.events:
        if event.happening is Happening.REPORTER_NOTICE:
            steps.append((wall(event.at), "reporter", "notice"))
        elif event.happening is Happening.ESCALATION:
            steps.append((wall(event.at), event.clock, f"level {event.level}"))
        else:
            steps.append((wall(event.at), event.clock, words[event.happening]))
    return sorted(steps)


@pytest.mark.parametrize("row", ROWS)
def test_the_clock_produces_each_step_of_the_row_at_its_second(
    db: Session,
    app: Flask,
    settings: clock.ClockSettings,
    ladder: dict[int, User],
    row: Row,
) -> None:
    excluded = frozenset({ladder[2].id}) if row.supervisor_excluded else frozenset()
    case = file_case(
        db,
        app,
        settings,
        policies=row.policies,
        tier=row.tier,
        excluded=excluded,
        now=local(row.received),
    )
    scene = Scene(db, app, settings, ladder, case)
    expected = sorted(row.steps)
    # The worker runs a second before, at and a second after every step and every quiet time;
    # the acts happen at their times, before a pass of the worker at the same second.
    moments = {local(at) for at, _, _ in row.steps} | {local(at) for at in row.quiet}
    ticks = sorted({m + d for m in moments for d in (-SECOND, timedelta(0), SECOND)})
    agenda = sorted(
        [(local(at), 0, i) for i, (at, _) in enumerate(row.acts)]
        + [(moment, 1, -1) for moment in ticks]
    )
    for moment, kind, index in agenda:
        if kind == 0:
            row.acts[index][1](scene, moment)
        else:
            clock.tick(db, now=moment, settings=settings)
    quotes = "; ".join(f'{q}: "{q.text}"' for q in row.quotes)
    assert observed(db, case) == expected, quotes
    dues = {
        d.clock: wall(d.due_at)[:16]
        for d in db.scalars(select(Deadline).where(Deadline.case_id == case.id))
    }
    assert dues == row.due, quotes
    if row.previewed:
        timeline = preview_timeline(
            row.policies[0], local(row.received), row.tier, calendar=settings.calendar
        )
        horizon = max(ticks)
        assert sorted(step for step in preview_steps(timeline) if local(step[0]) <= horizon) == (
            expected
        ), quotes
