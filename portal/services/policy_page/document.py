"""The published policy as a PDF for the notice board and the intranet: the page's sections in
the page's language, with the flowchart drawn from the same SVG."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser

from markupsafe import Markup

from portal.i18n import _
from portal.services import pdf
from portal.services.policy_page import blocks, flowchart, sections
from portal.services.policy_page.content import PolicyPage

BLOCKS = frozenset({"p", "li", "h2", "h3", "blockquote", "br", "ul", "ol"})


class _Plain(HTMLParser):
    """A staff text's (already sanitised) HTML as paragraphs of plain text: fpdf2 draws
    text, and the site's texts use only paragraphs, lists, emphasis and links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.current: list[str] = []

    def _end(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self._end()
        if tag == "li":
            self.current.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self._end()

    def handle_data(self, data: str) -> None:
        self.current.append(data)


def plain_paragraphs(html: Markup) -> list[str]:
    parser = _Plain()
    parser.feed(str(html))
    parser.close()
    parser._end()
    return parser.paragraphs


class _Writer:
    def __init__(self, title: str) -> None:
        self.pdf = pdf.new_document(title)
        self.pdf.add_page()

    def title(self, text: str) -> None:
        self.pdf.set_font(pdf.FONT, "B", 16)
        self.pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(2)

    def heading(self, text: str) -> None:
        self.pdf.ln(3)
        self.pdf.set_font(pdf.FONT, "B", 13)
        self.pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def subheading(self, text: str) -> None:
        self.pdf.ln(1)
        self.pdf.set_font(pdf.FONT, "B", 11)
        self.pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")

    def text(self, text: str) -> None:
        self.pdf.set_font(pdf.FONT, "", 10)
        self.pdf.multi_cell(0, 5, text, new_x="LMARGIN", new_y="NEXT", align="L")
        self.pdf.ln(1)

    def staff_text(self, html: Markup) -> None:
        for paragraph in plain_paragraphs(html):
            self.text(paragraph)

    def table(self, table: blocks.Table) -> None:
        """A table as lines: its caption, then each row's cells, headed by the column names."""
        self.subheading(table.caption)
        for row in table.rows:
            parts = []
            for name, cell in zip(table.header, row.cells, strict=True):
                value = cell if isinstance(cell, str) else "; ".join(cell)
                parts.append(_("%(column)s: %(value)s", column=name, value=value))
            self.text(" — ".join(parts))

    def chart(self, chart: flowchart.Flowchart) -> None:
        if self.pdf.get_y() > self.pdf.h / 2:
            self.pdf.add_page()
        self.pdf.image(io.BytesIO(flowchart.for_pdf(chart)), w=self.pdf.epw)
        self.pdf.ln(2)


def render_policy(
    page: PolicyPage, *, day: Callable[[date], str], report_url: str, check_url: str
) -> bytes:
    """The PDF of ``page`` in the language of the moment; ``day`` writes a date as the page's
    language does, the URLs are printed where the page has its links."""
    title = _("Our reporting and complaints policy")
    out = _Writer(title)
    out.title(title)
    out.text(page.site_name)
    for section in sections.sections(page, day=day, report_url=report_url, check_url=check_url):
        out.heading(section.heading)
        for block in section.blocks:
            if isinstance(block, Markup):
                out.staff_text(block)
            elif isinstance(block, flowchart.Flowchart):
                out.chart(block)
            elif isinstance(block, blocks.Subheading):
                out.subheading(block.text)
            elif isinstance(block, blocks.Link):
                out.text(_("%(link)s: %(url)s", link=block.text, url=block.url))
            elif isinstance(block, blocks.Bullets):
                for number, item in enumerate(block.items, start=1):
                    out.text(f"{number}. {item}" if block.ordered else f"• {item}")
            elif isinstance(block, blocks.Table):
                out.table(block)
            else:
                out.text(block)
    return pdf.to_bytes(out.pdf)
