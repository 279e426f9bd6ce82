"""The handling process of one policy, drawn on the server as SVG: no script, nothing loaded.

The steps come from the policy's clocks (``facts``): receipt, then each clock in the policy's
order with its time on the arrow that leads to it (acknowledgement, investigation, decision,
appeal, where the policy has them), and the notice to the reporter where a clock sends one when
its time passes (the mediator). The escalation ladder stands beside it. The same steps are the
text alternative: the SVG's <title> and <desc>, and the ordered list the page shows under it.

The drawing is built with ElementTree, which escapes every text and attribute it writes, so a
policy's words (an admin's own policy's included) are text, never markup.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

from portal.i18n import _
from portal.services.clock.schedule import LEVEL_NAMES
from portal.services.policies import TIERS, Policy, shown
from portal.services.policy_page.facts import ClockFacts

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 760
LEFT, BOX_WIDTH = 20, 420
SIDE, SIDE_WIDTH = 470, 270
BOX_FONT, LABEL_FONT = 13, 11
LINE = 1.35
# DejaVu Sans is wide; an average letter is taken as this share of the font size for wrapping.
LETTER_WIDTH = 0.6
INK, FILL, ACCENT = "#1f2d3d", "#f3f5fa", "#34568b"


@dataclass(frozen=True)
class FlowStep:
    """One box: ``title``, reached along an arrow labelled ``edge`` (empty for the first);
    ``aside`` when it is reached only if a time passes (drawn dashed)."""

    title: str
    edge: str = ""
    aside: bool = False

    def words(self) -> str:
        return _("%(edge)s: %(step)s", edge=self.edge, step=self.title) if self.edge else self.title


@dataclass(frozen=True)
class Flowchart:
    key: str
    title: str
    steps: tuple[FlowStep, ...]
    levels: tuple[str, ...]
    ladder: tuple[str, ...]

    def description(self) -> str:
        """The whole chart in sentences: its text alternative."""
        steps = " ".join(
            _("%(number)d. %(step)s.", number=n, step=s.words())
            for n, s in enumerate(self.steps, start=1)
        )
        return " ".join([steps, _("If a time limit passes:"), *self.ladder])


def flowchart_of(policy: Policy, clocks: tuple[ClockFacts, ...]) -> Flowchart:
    steps = [FlowStep(_("Report received"))]
    ladder = []
    for clock in clocks:
        steps.append(FlowStep(clock.label, edge=_time_words(clock)))
        if clock.reporter_notice:
            notice = (
                _("Notice of the external mediator")
                if clock.reporter_notice == "mediator_notice"
                else _("Notice to the reporter")
            )
            edge = _("if the time runs out (%(durations)s)", durations=_durations(clock))
            steps.append(FlowStep(notice, edge=edge, aside=True))
        if clock.climbs:
            ladder.append(_climb_words(policy, clock))
    return Flowchart(
        key=re.sub(r"[^a-z0-9-]", "-", policy.name.lower()),
        title=_("Flowchart: %(policy)s", policy=shown(policy.title)),
        steps=tuple(steps),
        levels=tuple(
            _("Level %(level)s: %(name)s", level=level, name=_(name))
            for level, name in LEVEL_NAMES.items()
        ),
        ladder=tuple(ladder),
    )


def _durations(clock: ClockFacts) -> str:
    if len(clock.times) == 1:
        return clock.times[0].words()
    return ", ".join(
        _("%(duration)s (tier %(tiers)s)", duration=t.words(), tiers=_tiers(t.tiers))
        for t in clock.times
    )


def _time_words(clock: ClockFacts) -> str:
    if clock.at_meeting:
        words = _(
            "at the committee's next meeting after %(start)s (without one, within %(durations)s)",
            start=clock.counted_from,
            durations=_durations(clock),
        )
    else:
        words = _(
            "within %(durations)s of %(start)s",
            durations=_durations(clock),
            start=clock.counted_from,
        )
    if clock.extended_to is not None:
        words = _(
            "%(time)s, extendable to %(longer)s", time=words, longer=clock.extended_to.words()
        )
    return words


def _climb_words(policy: Policy, clock: ClockFacts) -> str:
    rule = policy.clock(clock.key)
    every: dict[str, list[int]] = {}
    for tier in TIERS:
        step = rule.escalation_step(tier)
        if step is not None:
            every.setdefault(step.words(), []).append(tier)
    if not every:
        words = _("%(clock)s: one level up when the time passes", clock=clock.label)
    elif len(every) == 1:
        words = _(
            "%(clock)s: one level up when the time passes, then one more every %(step)s",
            clock=clock.label,
            step=next(iter(every)),
        )
    else:
        steps = ", ".join(
            _("%(duration)s at tier %(tiers)s", duration=d, tiers=_tiers(tuple(t)))
            for d, t in every.items()
        )
        words = _(
            "%(clock)s: one level up when the time passes, then one more every %(steps)s",
            clock=clock.label,
            steps=steps,
        )
    own = [c.who for c in clock.climbs if c.group is not None]
    if own:
        words = _(
            "%(climb)s. Steps of their own for: %(groups)s",
            climb=words,
            groups=", ".join(dict.fromkeys(own)),
        )
    return words


def _tiers(tiers: tuple[int, ...]) -> str:
    return (
        _("%(items)s or %(last)s", items=", ".join(map(str, tiers[:-1])), last=tiers[-1])
        if (len(tiers) > 1)
        else str(tiers[0])
    )


# --- Drawing -----------------------------------------------------------------------------


def svg(chart: Flowchart, *, font: str = "DejaVu Sans, Verdana, sans-serif") -> str:
    """The chart as an SVG document (a string), with its <title> and <desc>."""
    ET.register_namespace("", SVG_NS)
    root = ET.Element(
        f"{{{SVG_NS}}}svg",
        {
            "version": "1.1",
            "role": "img",
            "aria-labelledby": f"flow-{chart.key}-title flow-{chart.key}-desc",
            "font-family": font,
            "fill": INK,
        },
    )
    _sub(root, "title", id=f"flow-{chart.key}-title").text = chart.title
    _sub(root, "desc", id=f"flow-{chart.key}-desc").text = chart.description()
    left = _draw_steps(root, chart.steps)
    right = _draw_ladder(root, chart)
    height = max(left, right) + 20
    root.set("viewBox", f"0 0 {WIDTH} {height:.0f}")
    root.set("width", str(WIDTH))
    root.set("height", f"{height:.0f}")
    return ET.tostring(root, encoding="unicode")


def markup(chart: Flowchart) -> Markup:
    """The chart to put inline on a page. ElementTree has escaped every text and attribute in
    it, and it holds no script (the pages' CSP would refuse one anyway)."""
    return Markup(svg(chart))  # noqa: S704  (built by ElementTree from escaped text only)


def for_pdf(chart: Flowchart) -> bytes:
    """The chart for fpdf2: in the PDF's embedded font, without <title> and <desc>, which
    fpdf2 does not draw (the document states the same steps in words under it)."""
    text = svg(chart, font="DejaVu")
    text = re.sub(r"<title\b[^>]*>.*?</title>|<desc\b[^>]*>.*?</desc>", "", text, flags=re.S)
    return text.encode("utf-8")


def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(
        parent, f"{{{SVG_NS}}}{tag}", {k.replace("_", "-"): v for k, v in attributes.items()}
    )


def _wrap(text: str, width: float, size: int) -> list[str]:
    """``text`` in lines of about ``width`` units at font ``size``; a word longer than a line
    is cut (some languages write without spaces)."""
    most = max(8, int(width / (size * LETTER_WIDTH)))
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > most:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:most])
            word = word[most:]
        if current and len(current) + 1 + len(word) > most:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines or [""]


def _text(
    parent: ET.Element, lines: list[str], x: float, y: float, size: int, **extra: str
) -> float:
    """Centred lines from ``y`` (the first baseline); returns the y under the last line."""
    node = _sub(
        parent,
        "text",
        x=f"{x:.0f}",
        y=f"{y:.0f}",
        font_size=str(size),
        text_anchor="middle",
        **extra,
    )
    for number, line in enumerate(lines):
        span = _sub(node, "tspan", x=f"{x:.0f}", dy="0" if number == 0 else f"{size * LINE:.1f}")
        span.text = line
    return y + (len(lines) - 1) * size * LINE + size * 0.4


def _box(
    parent: ET.Element,
    x: float,
    y: float,
    width: float,
    lines: list[str],
    *,
    dashed: bool,
    bold: bool = False,
) -> float:
    """A box with centred text at ``y``; returns its bottom."""
    height = len(lines) * BOX_FONT * LINE + 16
    rect = _sub(
        parent,
        "rect",
        x=f"{x:.0f}",
        y=f"{y:.0f}",
        width=f"{width:.0f}",
        height=f"{height:.0f}",
        rx="6",
        fill=FILL,
        stroke=ACCENT,
        stroke_width="1.5",
    )
    if dashed:
        rect.set("stroke-dasharray", "6 4")
    extra = {"font-weight": "bold"} if bold else {}
    _text(parent, lines, x + width / 2, y + 8 + BOX_FONT, BOX_FONT, **extra)
    return y + height


def _arrow(parent: ET.Element, x: float, top: float, bottom: float, *, dashed: bool) -> None:
    line = _sub(
        parent,
        "line",
        x1=f"{x:.0f}",
        y1=f"{top:.0f}",
        x2=f"{x:.0f}",
        y2=f"{bottom - 7:.0f}",
        stroke=ACCENT,
        stroke_width="1.5",
    )
    if dashed:
        line.set("stroke-dasharray", "5 4")
    _sub(
        parent,
        "polygon",
        points=f"{x - 5:.0f},{bottom - 8:.0f} {x + 5:.0f},{bottom - 8:.0f} {x:.0f},{bottom:.0f}",
        fill=ACCENT,
    )


def _draw_steps(root: ET.Element, steps: tuple[FlowStep, ...]) -> float:
    y = 20.0
    arrow_x = LEFT + 30
    label_left = LEFT + 50
    label_width = LEFT + BOX_WIDTH - label_left
    for number, step in enumerate(steps):
        if number:
            lines = _wrap(step.edge, label_width, LABEL_FONT)
            length = max(36.0, len(lines) * LABEL_FONT * LINE + 16)
            _arrow(root, arrow_x, y, y + length, dashed=step.aside)
            _text(
                root,
                lines,
                label_left + label_width / 2,
                y + 8 + LABEL_FONT,
                LABEL_FONT,
                fill=ACCENT,
            )
            y += length
        y = _box(
            root,
            LEFT,
            y,
            BOX_WIDTH,
            _wrap(step.title, BOX_WIDTH - 20, BOX_FONT),
            dashed=step.aside,
            bold=number == 0,
        )
    return y


def _draw_ladder(root: ET.Element, chart: Flowchart) -> float:
    y = 20.0
    centre = SIDE + SIDE_WIDTH / 2
    y = (
        _text(
            root,
            _wrap(_("If a time limit passes"), SIDE_WIDTH, BOX_FONT),
            centre,
            y + BOX_FONT,
            BOX_FONT,
            font_weight="bold",
        )
        + 8
    )
    for number, level in enumerate(chart.levels):
        if number:
            _arrow(root, centre, y, y + 24, dashed=False)
            y += 24
        y = _box(root, SIDE, y, SIDE_WIDTH, _wrap(level, SIDE_WIDTH - 20, BOX_FONT), dashed=False)
    y += 10
    for line in chart.ladder:
        y = _text(root, _wrap(line, SIDE_WIDTH, LABEL_FONT), centre, y + LABEL_FONT, LABEL_FONT) + 6
    return y


__all__ = ["FlowStep", "Flowchart", "flowchart_of", "for_pdf", "markup", "svg"]
