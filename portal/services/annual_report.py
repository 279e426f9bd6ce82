"""The annual report for the board: the statistics page's figures for one year, as a PDF.

Made from the same tables as the page (``statistics_figures``), so the board reads what the
handlers see; it holds aggregates of metadata only, never a case's content or reference.
"""

from __future__ import annotations

from datetime import datetime

import fpdf
from babel.dates import format_date, format_time

from portal.i18n import _
from portal.services import pdf
from portal.services.statistics import Statistics
from portal.services.statistics_figures import PALETTE, Figure, figures, locale

CHART_HEIGHT_ROW = 6.0
LABEL_MM = 55.0


def _para(doc: fpdf.FPDF, width: float, height: float, text: str, align: str = "L") -> None:
    """A paragraph across the page; the next starts at the left margin below it."""
    doc.multi_cell(width, height, text, align=align, new_x="LMARGIN", new_y="NEXT")


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _chart(doc: fpdf.FPDF, figure: Figure) -> None:
    """Horizontal bars drawn with fpdf2's rectangles, as on the page."""
    plot = doc.epw - LABEL_MM - 15
    sizes = [sum(v) if figure.stacked else max(v, default=0.0) for _label, v in figure.rows]
    scale = plot / max(sizes) if sizes and max(sizes) > 0 else 0.0
    per_row = 1 if figure.stacked or len(figure.series) == 1 else len(figure.series)
    height = per_row * 4.5 + 1.5
    doc.set_font(pdf.FONT, size=7)
    for label, values in figure.rows:
        if doc.will_page_break(height):
            doc.add_page()
        top = doc.get_y()
        doc.set_xy(doc.l_margin, top)
        doc.cell(LABEL_MM - 2, 4.5, label[:40], align="R")
        x = doc.l_margin + LABEL_MM
        for index, value in enumerate(values):
            doc.set_fill_color(*_rgb(PALETTE[index % len(PALETTE)]))
            width = value * scale
            if figure.stacked:
                if width > 0:
                    doc.rect(x, top + 0.5, width, 3.5, style="F")
                x += width
            else:
                y = top + index * 4.5
                if width > 0:
                    doc.rect(x, y + 0.5, width, 3.5, style="F")
                doc.set_xy(x + width + 1, y)
                doc.cell(14, 4.5, figure.shown(value))
        if figure.stacked:
            doc.set_xy(x + 1, top)
            doc.cell(14, 4.5, figure.shown(sum(values)))
        doc.set_xy(doc.l_margin, top + height)
    if len(figure.series) > 1:
        doc.set_x(doc.l_margin + LABEL_MM)
        for index, name in enumerate(figure.series):
            width = doc.get_string_width(name) + 8
            if doc.get_x() + width > doc.l_margin + doc.epw:
                doc.ln(4.5)
                doc.set_x(doc.l_margin + LABEL_MM)
            doc.set_fill_color(*_rgb(PALETTE[index % len(PALETTE)]))
            doc.rect(doc.get_x(), doc.get_y() + 1, 3, 3, style="F")
            doc.set_x(doc.get_x() + 4)
            doc.cell(width - 4, 4.5, name)
        doc.ln(6)
    doc.ln(2)


def _table(doc: fpdf.FPDF, figure: Figure) -> None:
    headings, body = figure.display_table()
    doc.set_font(pdf.FONT, size=7)
    with doc.table(
        headings_style=fpdf.FontFace(emphasis="BOLD"),
        line_height=4,
        text_align="LEFT",
        first_row_as_headings=True,
    ) as table:
        for row in [headings, *body]:
            cells = table.row()
            for text in row:
                cells.cell(text)
    doc.ln(4)


def render(
    stats: Statistics, *, site_name: str, category_labels: dict[str, str], now: datetime
) -> bytes:
    """The annual report of ``stats`` (a calendar year's figures) as PDF bytes, in the language
    of the page it is asked from."""
    year = stats.period.first_day.year
    # The year as a plain number: "2026", never "2,026".
    title = _("%(site)s: annual report %(year)s", site=site_name, year=str(year))
    doc = pdf.new_document(title)
    doc.add_page()
    doc.set_font(pdf.FONT, "B", 24)
    doc.ln(60)
    _para(doc, 0, 12, site_name, "C")
    doc.set_font(pdf.FONT, "", 18)
    _para(doc, 0, 10, _("Annual report on the reporting channel, %(year)s", year=str(year)), "C")
    doc.ln(10)
    doc.set_font(pdf.FONT, "", 11)
    local = now.astimezone(stats.period.zone)
    where = locale()
    _para(
        doc,
        0,
        6,
        _(
            "Reports received from %(first)s to %(last)s. Generated on %(date)s at %(time)s "
            "(%(zone)s).",
            first=format_date(stats.period.first_day, "long", locale=where),
            last=format_date(stats.period.last_day, "long", locale=where),
            date=format_date(local, "long", locale=where),
            time=format_time(local, "short", tzinfo=stats.period.zone, locale=where),
            zone=stats.period.zone.key,
        ),
        "C",
    )
    doc.ln(6)
    _para(
        doc,
        0,
        6,
        _(
            "Every figure is counted from case metadata (dates, categories, tiers, deadlines and "
            "typed events); no report was opened to make it."
        ),
        "C",
    )
    for figure in figures(stats, category_labels):
        doc.add_page()
        doc.set_font(pdf.FONT, "B", 14)
        _para(doc, 0, 8, figure.title)
        doc.set_font(pdf.FONT, "", 9)
        _para(doc, 0, 5, figure.note)
        doc.ln(3)
        if figure.rows:
            _chart(doc, figure)
            _table(doc, figure)
        else:
            _para(doc, 0, 5, _("Nothing to count in this year."))
    return pdf.to_bytes(doc)
