"""The statistics as figures: one table per figure, a bar chart's geometry drawn from it, and CSV.

The page, the CSV download and the annual report all read these tables, so the chart, the table
beside it and the file say the same thing. The chart is geometry only (rectangles and text
positions); the template writes the SVG with autoescaping on, so no label is ever markup.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from portal.i18n import N_, _, _n, current_language
from portal.models import CaseStatus
from portal.services.statistics import Statistics

DAY = 86400.0
# Distinguishable in colour-blind vision and in grey (Okabe and Ito), darkest first.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#999999")
# The labels are translated when the figures are made (``figures``), in the page's language.
CHANNEL_LABELS = {
    "web": N_("Web form"),
    "telephone": N_("Telephone"),
    "voice_message": N_("Voice message"),
    "post": N_("Post"),
    "email": N_("E-mail"),
    "meeting": N_("Meeting"),
}
TIER_LABELS = {1: N_("Tier 1 (critical)"), 2: N_("Tier 2 (high)"), 3: N_("Tier 3 (other)")}
STATUS_LABELS = {
    CaseStatus.NEW: N_("New"),
    CaseStatus.ACKNOWLEDGED: N_("Acknowledged"),
    CaseStatus.INVESTIGATING: N_("Investigating"),
}
# One per bucket of AGE_BUCKETS (a test checks they agree).
AGE_LABELS = (
    N_("Under 7 days"),
    N_("7 to 29 days"),
    N_("30 to 89 days"),
    N_("90 to 364 days"),
    N_("A year or more"),
)
APPEAL_LABELS = {
    "uphold": N_("Upheld by the committee"),
    "dismiss": N_("Dismissed by the committee"),
    "secretary": N_("Answered by the Company Secretary"),
    "pending": N_("Not decided yet"),
}


@dataclass(frozen=True)
class Share:
    """A part of a whole, written as a percentage (or "none" when the whole is empty)."""

    part: int
    whole: int


# A further column's cell: a count, or a share.
Extra = int | Share


def locale() -> str:
    """The Babel locale of the page being made (the site's default outside a request)."""
    return current_language().babel_locale


def month_label(month: date) -> str:
    """A month as the page's language abbreviates it ("Jan 2026", "Jan. 2026", "janv. 2026")."""
    return str(format_date(month, "MMM y", locale=locale()))


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    note: str
    row_heading: str
    # What the chart draws: one bar (or one stack) per row, one value per series.
    series: list[str]
    rows: list[tuple[str, list[float]]]
    stacked: bool
    unit: str
    # Further columns for the table and the CSV only (a share, a count the chart leaves out).
    extra_headings: list[str] = field(default_factory=list)
    extra: list[list[Extra]] = field(default_factory=list)

    def cell(self, value: float) -> str:
        """A value as the CSV writes it: plain digits, a point for decimals, for any locale."""
        return f"{value:.1f}" if self.unit == "days" else f"{value:.0f}"

    def shown(self, value: float) -> str:
        """A value as a person reads it, in the page's language ("1,234.5", "1.234,5")."""
        pattern = "#,##0.0" if self.unit == "days" else "#,##0"
        return str(format_decimal(value, pattern, locale=locale()))

    def table(self) -> tuple[list[str], list[list[str]]]:
        """Headings and rows of text, as the CSV holds them (numbers in plain digits)."""
        return self._table(self.cell, _plain_extra)

    def display_table(self) -> tuple[list[str], list[list[str]]]:
        """Headings and rows of text, as the table beside the chart and the annual report show
        them (numbers written for the page's language)."""
        return self._table(self.shown, _shown_extra)

    def _table(
        self, number: Callable[[float], str], extra_cell: Callable[[Extra], str]
    ) -> tuple[list[str], list[list[str]]]:
        headings = [self.row_heading, *self.series, *self.extra_headings]
        body = []
        for index, (label, values) in enumerate(self.rows):
            extra = self.extra[index] if self.extra else []
            body.append([label, *(number(v) for v in values), *(extra_cell(e) for e in extra)])
        return headings, body


def _plain_extra(cell: Extra) -> str:
    if isinstance(cell, int):
        return str(cell)
    if cell.whole == 0:
        return _("none")
    return f"{100 * cell.part / cell.whole:.1f}%"


def _shown_extra(cell: Extra) -> str:
    if isinstance(cell, int):
        return str(format_decimal(cell, "#,##0", locale=locale()))
    if cell.whole == 0:
        return _("none")
    return str(format_percent(cell.part / cell.whole, _percent_pattern(locale()), locale=locale()))


def _percent_pattern(code: str) -> str:
    """The language's own percent pattern ("#,##0%", "#,##0 %", "%#,##0") with one decimal."""
    pattern = str(Locale.parse(code).percent_formats[None].pattern).split(";")[0]
    last = pattern.rfind("0")
    return pattern[: last + 1] + ".0" + pattern[last + 1 :] if last >= 0 else "#,##0.0%"


def _days(seconds: float | None) -> float:
    return 0.0 if seconds is None else seconds / DAY


def _monthly(
    key: str, title: str, note: str, stats: Statistics, counts: Mapping[str, list[int]]
) -> Figure:
    months = [month_label(m) for m in stats.months]
    return Figure(
        key=key,
        title=title,
        note=note,
        row_heading=_("Month"),
        series=list(counts),
        rows=[
            (month, [float(values[index]) for values in counts.values()])
            for index, month in enumerate(months)
        ],
        stacked=True,
        unit="reports",
    )


def figures(stats: Statistics, category_labels: Mapping[str, str]) -> list[Figure]:
    """Every figure of the page, in the order shown, in the page's language."""
    by_category = {category_labels.get(k, k): v for k, v in stats.by_category.items()}
    by_channel = {
        _(CHANNEL_LABELS[k]) if k in CHANNEL_LABELS else k: v for k, v in stats.by_channel.items()
    }
    by_tier = {
        _(TIER_LABELS[k]) if k in TIER_LABELS else str(k): v for k, v in stats.by_tier.items()
    }
    times = [(_("Acknowledgement"), stats.acknowledge), (_("Feedback"), stats.feedback)]
    appeals_total = sum(stats.appeals.values())
    return [
        _monthly(
            "by-category",
            _("Reports per month by category"),
            _n(
                "%(num)d report received in the period.",
                "%(num)d reports received in the period.",
                stats.total,
            ),
            stats,
            by_category,
        ),
        _monthly(
            "by-channel",
            _("Reports per month by channel"),
            _("How each report reached the organisation."),
            stats,
            by_channel,
        ),
        _monthly(
            "by-tier",
            _("Reports per month by tier"),
            _("The tier each case has now."),
            stats,
            by_tier,
        ),
        Figure(
            key="response-times",
            title=_("Time to acknowledge and to give feedback"),
            note=_(
                "Days from receipt to the first acknowledgement or feedback, for the reports "
                "received in the period. Half of the cases were answered within the median, and "
                "nine in ten within the 90th percentile."
            ),
            row_heading=_("Act"),
            series=[_("Median (days)"), _("90th percentile (days)")],
            rows=[(label, [_days(d.median), _days(d.p90)]) for label, d in times],
            stacked=False,
            unit="days",
            extra_headings=[_("Cases with the act"), _("Cases still without it")],
            extra=[[d.count, d.without] for _label, d in times],
        ),
        Figure(
            key="clocks",
            title=_("Deadlines met on time"),
            note=_(
                "Each clock's deadlines that fell due in the period: those met before they were "
                "due, and those breached. Deadlines still running or paused are not counted."
            ),
            row_heading=_("Clock"),
            series=[_("Met on time"), _("Breached")],
            rows=[(c.name, [float(c.met), float(c.breached)]) for c in stats.clocks],
            stacked=True,
            unit="deadlines",
            extra_headings=[_("Share met on time")],
            extra=[[Share(c.met, c.met + c.breached)] for c in stats.clocks],
        ),
        Figure(
            key="open-cases",
            title=_("Open cases by status and age"),
            note=_(
                "Cases open today, whatever the date range, by how long ago they were received."
            ),
            row_heading=_("Status"),
            series=[_(label) for label in AGE_LABELS],
            rows=[
                (_(STATUS_LABELS[status]), [float(v) for v in counts])
                for status, counts in stats.open_cases.items()
            ],
            stacked=True,
            unit="cases",
            extra_headings=[_("All open")],
            extra=[[sum(counts)] for counts in stats.open_cases.values()],
        ),
        Figure(
            key="appeals",
            title=_("Appeals and their outcomes"),
            note=_n(
                "%(num)d case with an appeal filed in the period, by where it stands.",
                "%(num)d cases with an appeal filed in the period, by where it stands.",
                appeals_total,
            ),
            row_heading=_("Outcome"),
            series=[_("Appeals")],
            rows=[(_(APPEAL_LABELS[k]), [float(v)]) for k, v in stats.appeals.items()],
            stacked=False,
            unit="appeals",
            extra_headings=[_("Share")],
            extra=[[Share(v, appeals_total)] for v in stats.appeals.values()],
        ),
        Figure(
            key="came-back",
            title=_("Reporters who came back to their case"),
            note=_(
                "Reports received in the period whose reporter later wrote a message, said they "
                "were satisfied, filed an appeal, or approved or corrected the minutes of a report "
                "made by telephone or in a meeting. Sign-ins are not recorded, so a reporter who "
                "only read the replies is not counted."
            ),
            row_heading=_("Reporters"),
            series=[_("Reports")],
            rows=[
                (_("Came back"), [float(stats.came_back)]),
                (_("Did not come back"), [float(stats.total - stats.came_back)]),
            ],
            stacked=False,
            unit="reports",
            extra_headings=[_("Share")],
            extra=[
                [Share(stats.came_back, stats.total)],
                [Share(stats.total - stats.came_back, stats.total)],
            ],
        ),
    ]


# --- the chart ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    # What a pointer over the bar shows (the SVG <title> of the rectangle).
    label: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    bars: list[Bar]
    labels: list[Label]
    # Legend entries: a swatch at (x, y) and its text.
    legend: list[tuple[Bar, Label]]
    axis_x: float
    axis_top: float
    axis_bottom: float


WIDTH = 640.0
LABEL_WIDTH = 170.0
ROW = 22.0
BAR = 16.0
TOP = 8.0


def chart(figure: Figure) -> Chart:
    """A horizontal bar chart of the figure: stacked bars, or one bar per series in a row."""
    plot = WIDTH - LABEL_WIDTH - 60.0
    per_row = 1 if figure.stacked or len(figure.series) == 1 else len(figure.series)
    sizes = [sum(v) if figure.stacked else max(v, default=0.0) for _label, v in figure.rows]
    scale = plot / max([*sizes, 1e-9]) if any(sizes) else 0.0
    bars: list[Bar] = []
    labels: list[Label] = []
    y = TOP
    for row_label, values in figure.rows:
        height = per_row * BAR + (per_row - 1) * 2
        labels.append(Label(LABEL_WIDTH - 6, y + height / 2 + 4, row_label, "end"))
        x = LABEL_WIDTH
        for index, value in enumerate(values):
            fill = PALETTE[index % len(PALETTE)]
            text = _(
                "%(row)s, %(series)s: %(value)s",
                row=row_label,
                series=figure.series[index],
                value=figure.shown(value),
            )
            if figure.stacked:
                if value > 0:
                    bars.append(Bar(x, y, value * scale, BAR, fill, text))
                x += value * scale
            else:
                top = y + index * (BAR + 2)
                if value > 0:
                    bars.append(Bar(LABEL_WIDTH, top, value * scale, BAR, fill, text))
                labels.append(
                    Label(LABEL_WIDTH + value * scale + 4, top + BAR - 4, figure.shown(value))
                )
        if figure.stacked:
            labels.append(Label(x + 4, y + BAR - 4, figure.shown(sum(values))))
        y += height + (ROW - BAR) + (4 if per_row > 1 else 0)
    axis_bottom = y
    legend: list[tuple[Bar, Label]] = []
    if len(figure.series) > 1:
        x, y = LABEL_WIDTH, y + 10
        for index, name in enumerate(figure.series):
            width = 24 + 7.0 * len(name)
            if x + width > WIDTH and x > LABEL_WIDTH:
                x, y = LABEL_WIDTH, y + ROW
            swatch = Bar(x, y, 12, 12, PALETTE[index % len(PALETTE)], name)
            legend.append((swatch, Label(x + 16, y + 11, name)))
            x += width
        y += ROW
    return Chart(WIDTH, y + 4, bars, labels, legend, LABEL_WIDTH, TOP - 2, axis_bottom)


# --- CSV ------------------------------------------------------------------------------------


def _safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading quote
    (OWASP's advice against CSV injection); numbers we wrote ourselves are left alone."""
    if text and text[0] in "=+-@\t\r|" and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(figure: Figure, period_text: str) -> str:
    """One figure as CSV: a line naming it and its period, then its table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_safe(figure.title), _safe(period_text)])
    headings, body = figure.table()
    writer.writerow([_safe(h) for h in headings])
    for row in body:
        writer.writerow([_safe(cell) for cell in row])
    return out.getvalue()
