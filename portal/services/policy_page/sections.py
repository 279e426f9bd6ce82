"""The published policy as a list of sections, each a heading and its blocks (paragraphs,
lists, tables, staff texts, flowcharts), in the outline of seeds/003. The page and the PDF both
write these sections, so they state the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from portal.i18n import _
from portal.services.policy_page.blocks import Block, Bullets, Link, Row, Subheading, Table
from portal.services.policy_page.content import PolicyPage, PublishedPolicy
from portal.services.policy_page.facts import Climb, ClockFacts, TimeAllowed


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    blocks: tuple[Block, ...]


def sections(
    page: PolicyPage,
    *,
    day: Callable[[date], str],
    report_url: str = "",
    check_url: str = "",
) -> list[Section]:
    """Every section of the published policy, in order. ``day`` writes a date in the page's
    language; the URLs are where the page's links lead (the PDF prints them)."""
    texts = page.texts
    return [
        Section("purpose", _("Purpose and scope"), (texts["policy_purpose"],)),
        Section("definitions", _("Definitions"), (_glossary(), texts["policy_definitions"])),
        Section("filing", _("How to make a report"), tuple(_filing(page, report_url, check_url))),
        Section("timeline", _("Response times"), tuple(_timeline(page))),
        Section("documentation", _("What we record and how long we keep it"), _records(page)),
        Section("roles", _("Roles and responsibilities"), tuple(_roles(page))),
        Section("investigation", _("How we investigate"), (texts["policy_investigation"],)),
        Section("resolution", _("Resolution and communication"), tuple(_resolution(page))),
        Section("escalation", _("Escalation"), tuple(_escalation(page))),
        Section("mediation", _("Alternative dispute resolution"), tuple(_mediation(page))),
        Section("quality", _("Quality assurance"), (texts["policy_quality"],)),
        Section("training", _("Training requirements"), tuple(_training(page))),
        Section("contact", _("Contact points"), tuple(_contact(page, day, report_url, check_url))),
        Section("regulatory", _("Regulatory summary"), (texts["policy_regulatory"],)),
        Section("flowchart", _("Flowchart"), tuple(_flowcharts(page))),
        Section("review", _("Review of this policy"), tuple(_review(page, day))),
    ]


def _training(page: PolicyPage) -> Iterator[Block]:
    """What the admins record as required (Admin > Training), then what they wrote."""
    if page.training:
        yield _("Every member of staff who handles reports completes the training required here:")
        yield Bullets(page.training)
    yield page.texts["policy_training"]


def _glossary() -> Bullets:
    return Bullets(
        (
            _("Report: what you send us through this site, with any files."),
            _("Case: the record your report opens, which holds our messages and time limits."),
            _(
                "Receipt code and passphrase: what you receive when you report; together they "
                "open your case on this site. Keep them safe: we cannot give them to you again."
            ),
            _("Handler: a member of staff who reads, investigates and answers reports."),
            _("Tier: how urgent a report is: 1 critical, 2 high, 3 other."),
            _(
                "Escalation level: who is responsible for a report: 1 handler, 2 supervisor, 3 "
                "executive or committee."
            ),
        )
    )


def _filing(page: PolicyPage, report_url: str, check_url: str) -> Iterator[Block]:
    yield _(
        "Report on this site at any time. You may stay anonymous, or give your name in "
        "confidence. Nothing needs JavaScript, and no IP address is recorded."
    )
    if report_url:
        yield Link(_("File a report"), report_url)
    yield _("You choose what the report is about:")
    yield Bullets(page.categories)
    if page.questions:
        yield _("The form asks:")
        yield Bullets(page.questions)
    if page.groups:
        yield _(
            "You may say who you are (optional); some reports are escalated to the people "
            "responsible for that group:"
        )
        yield Bullets(page.groups)
    for label, window in page.late_windows:
        yield _("For a report about %(category)s: %(notice)s", category=label, notice=window.notice)
    yield _(
        "When you have sent it, you receive a receipt code and a passphrase. With them you "
        "read our replies, answer them and add information."
    )
    if check_url:
        yield Link(_("Check a report"), check_url)
    yield Subheading(_("Other ways to report"))
    yield page.other_ways


def _timeline(page: PolicyPage) -> Iterator[Block]:
    promises = page.promises
    yield Bullets(
        tuple(_("We %(what)s within %(within)s.", what=w, within=t) for w, t in promises.common)
    )
    for label, extra in promises.besides:
        yield _("For a report about %(category)s, we also:", category=label)
        yield Bullets(tuple(_("%(what)s within %(within)s.", what=w, within=t) for w, t in extra))
    for policy in page.policies:
        yield Table(
            caption=_("%(policy)s: each time limit", policy=policy.title),
            header=(_("What we do"), _("Time allowed"), _("Counted from"), _("Ends when")),
            rows=tuple(
                Row(
                    (clock.label, _times_words(clock), clock.counted_from, clock.stops),
                    data={"clock": clock.clock_name},
                )
                for clock in policy.clocks
            ),
            key=f"times-{policy.name}",
        )
        if policy.categories:
            yield _(
                "Applies to reports about: %(categories)s.", categories=", ".join(policy.categories)
            )


def _times_words(clock: ClockFacts) -> tuple[str, ...]:
    words = tuple(_time_words(t) for t in clock.times)
    if clock.at_meeting:
        words = (_("at the committee's next meeting; without one, within:"), *words)
    if clock.extended_to is not None:
        words = (
            *words,
            _(
                "may be extended once to %(longer)s, with a recorded reason",
                longer=clock.extended_to.words(),
            ),
        )
    return words


def _time_words(time: TimeAllowed) -> str:
    if time.every_tier:
        return time.words()
    return _("tier %(tiers)s: %(duration)s", tiers=_tiers(time.tiers), duration=time.words())


def _tier_words(tiers: tuple[int, ...]) -> str:
    return _("every tier") if tiers == (1, 2, 3) else _tiers(tiers)


def _tiers(tiers: tuple[int, ...]) -> str:
    if len(tiers) == 1:
        return str(tiers[0])
    return _("%(items)s or %(last)s", items=", ".join(map(str, tiers[:-1])), last=tiers[-1])


def _records(page: PolicyPage) -> tuple[Block, ...]:
    if len(page.kept_for) == 1:
        kept: tuple[Block, ...] = (
            _(
                "We keep a case for %(duration)s after it is closed, then delete it.",
                duration=page.kept_for[0][1],
            ),
        )
    else:
        kept = (
            _("We keep a case for a time after it is closed, then delete it:"),
            Bullets(
                tuple(
                    _("%(category)s: %(duration)s", category=c or "", duration=d)
                    for c, d in page.kept_for
                )
            ),
        )
    return (
        Bullets(
            (
                _(
                    "Your report, every message, every handler's note and every file are kept "
                    "encrypted: only the handlers who receive the report can read them."
                ),
                _(
                    "The site records when the report came in, its category and urgency, each time "
                    "limit and when it was met, and every act of staff on the case, in an audit "
                    "trail that cannot be changed afterwards."
                ),
                _("No IP address and no browser details are recorded."),
            )
        ),
        *kept,
        _(
            "A case under a legal hold is kept until the hold is lifted. After deletion we keep "
            "only that the report existed, its dates, category and outcome, for our statistics "
            "and the records the law asks for."
        ),
    )


def _roles(page: PolicyPage) -> Iterator[Block]:
    yield Table(
        caption=_("Who handles reports"),
        header=(_("Level"), _("Who"), _("Roles")),
        rows=tuple(
            Row(
                (
                    str(level.number),
                    level.name,
                    ", ".join(level.roles) or _("nobody at present: the level is passed over"),
                ),
                data={"level": str(level.number)},
            )
            for level in page.levels
        ),
        key="levels",
    )
    yield _(
        "A report goes to the handlers at level 1 who receive its category, except those "
        "you exclude. It moves up a level when a time limit passes with nobody answering."
    )
    if any(p.has_secretary_step for p in page.policies):
        if page.secretary is not None:
            yield _(
                "Appeals go first to our Company Secretary (%(role)s), who has not been "
                "involved in the case.",
                role=page.secretary,
            )
        else:
            yield _(
                "No Company Secretary is appointed at present: appeals go straight to the "
                "committee."
            )
    if any(p.has_committee_step for p in page.policies):
        yield _(
            "The committee (the staff at level 3) decides appeals by a majority vote at "
            "its meeting."
        )
    if page.has_custodian:
        yield _(
            "If you give your name in confidence, a custodian decides which handler may "
            "see it, and only for the case that needs it."
        )
    yield _(
        "Administrators run the site and the staff accounts; they read no report unless "
        "they also handle reports."
    )


def _resolution(page: PolicyPage) -> Iterator[Block]:
    yield _(
        "We write to you in your case on this site, never by e-mail: you read our messages "
        "with your receipt code and passphrase, and you can answer them there."
    )
    for policy in page.policies:
        lines = [_clock_sentence(c) for c in policy.clocks]
        yield Subheading(policy.title)
        yield Bullets(tuple(lines))
        if policy.follow_up:
            yield _("When a complaint is upheld, we:")
            yield Bullets(policy.follow_up)
    if page.has_appeal:
        yield _("If you disagree with a decision, you can appeal on this site, from your case.")


def _clock_sentence(clock: ClockFacts) -> str:
    """One clock in a sentence: its time from its start, its end, and its extension if any."""
    times = ", ".join(_time_words(t) for t in clock.times)
    if clock.at_meeting:
        sentence = _(
            "%(clock)s: at the committee's next meeting, or, without one, within %(times)s of "
            "%(start)s; it ends when %(stops)s.",
            clock=clock.label,
            times=times,
            start=clock.counted_from,
            stops=clock.stops,
        )
    else:
        sentence = _(
            "%(clock)s: within %(times)s of %(start)s; it ends when %(stops)s.",
            clock=clock.label,
            times=times,
            start=clock.counted_from,
            stops=clock.stops,
        )
    if clock.extended_to is not None:
        extension = _(
            "It may be extended once to %(longer)s, with a recorded reason.",
            longer=clock.extended_to.words(),
        )
        sentence = f"{sentence} {extension}"
    return sentence


def _escalation(page: PolicyPage) -> Iterator[Block]:
    yield _(
        "When a time limit passes with nobody answering, the report goes up the ladder: "
        "the people at the next level are told at once, and you are told that it has "
        "passed to someone more senior. A level with nobody on it is passed over."
    )
    for policy in page.policies:
        for clock in policy.clocks:
            if clock.climbs:
                yield _climb_table(policy, clock)
            elif clock.notifies:
                yield _(
                    "%(policy)s, %(clock)s: when the time passes, the people responsible are told.",
                    policy=policy.title,
                    clock=clock.label,
                )


def _climb_table(policy: PublishedPolicy, clock: ClockFacts) -> Table:
    return Table(
        caption=_("%(policy)s: %(clock)s", policy=policy.title, clock=clock.label),
        header=(_("Who reported"), _("Tier"), _("Who is told, and when")),
        rows=tuple(
            Row(
                (climb.who, _tier_words(climb.tiers), _climb_steps(climb)),
                data={
                    "clock": clock.clock_name,
                    "group": climb.group or "",
                    "tiers": " ".join(map(str, climb.tiers)),
                },
            )
            for climb in clock.climbs
        ),
        key=f"ladder-{clock.clock_name}",
    )


def _climb_steps(climb: Climb) -> tuple[str, ...]:
    steps = []
    for number, step in enumerate(climb.steps):
        if number == 0:
            steps.append(
                _(
                    "when the time allowed (%(wait)s) is up: level %(level)s, %(name)s",
                    wait=step.wait.words(),
                    level=step.level,
                    name=step.name,
                )
            )
        else:
            steps.append(
                _(
                    "%(wait)s later: level %(level)s, %(name)s",
                    wait=step.wait.words(),
                    level=step.level,
                    name=step.name,
                )
            )
    return tuple(steps) or (_("nobody higher"),)


def _mediation(page: PolicyPage) -> Iterator[Block]:
    if page.mediator is None:
        yield _(
            "Our policies name no external mediator. You may turn to the authorities named "
            'under "Other ways to report".'
        )
        return
    for policy in page.policies:
        for clock in policy.clocks:
            if clock.reporter_notice == "mediator_notice":
                yield _(
                    "If your complaint is not resolved to your satisfaction within "
                    "%(duration)s, we tell you in writing about our external mediator and how "
                    "to reach them.",
                    duration=", ".join(_time_words(t) for t in clock.times),
                )
    yield page.mediator


def _contact(
    page: PolicyPage, day: Callable[[date], str], report_url: str, check_url: str
) -> Iterator[Block]:
    yield _(
        "Every report and every question about a report goes through this site, so that "
        "it is recorded and its time limits run."
    )
    if report_url:
        yield Link(_("File a report"), report_url)
    if check_url:
        yield Link(_("Check a report"), check_url)
    if page.secretary is not None and any(p.has_secretary_step for p in page.policies):
        yield _("Appeals: our Company Secretary (%(role)s), from your case.", role=page.secretary)
    if page.next_meeting is not None:
        yield _("The committee's next meeting: %(date)s.", date=day(page.next_meeting))
    yield Subheading(_("Other ways to report"))
    yield page.other_ways


def _flowcharts(page: PolicyPage) -> Iterator[Block]:
    for policy in page.policies:
        yield Subheading(policy.title)
        yield policy.flowchart
        yield Bullets(tuple(step.words() for step in policy.flowchart.steps), ordered=True)
        yield _("If a time limit passes:")
        yield Bullets(policy.flowchart.ladder)


def _review(page: PolicyPage, day: Callable[[date], str]) -> Iterator[Block]:
    for policy in page.policies:
        review = policy.review
        lines = []
        if review.reviewed_at is not None:
            lines.append(_("Last reviewed: %(date)s.", date=day(review.reviewed_at)))
        elif review.in_use_since is not None:
            lines.append(
                _("In use since %(date)s; not reviewed since.", date=day(review.in_use_since))
            )
        if review.every is not None:
            lines.append(_("Reviewed every %(interval)s.", interval=review.every.words()))
            if review.next_due is not None:
                lines.append(_("Next review due: %(date)s.", date=day(review.next_due)))
        else:
            lines.append(_("No review interval is set."))
        yield Subheading(policy.title)
        yield Bullets(tuple(lines))


__all__ = ["Section", "sections"]
