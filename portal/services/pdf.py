"""Every PDF the site makes starts here: one library (fpdf2), one Unicode font, one set of
metadata that says nothing about the server."""

from __future__ import annotations

from importlib import resources

import fpdf

FONT = "DejaVu"
MARGIN_MM = 18


def new_document(title: str) -> fpdf.FPDF:
    """An empty A4 document with DejaVu Sans (regular and bold), which prints any Unicode text
    the site holds (accented Latin, Greek, Cyrillic, Arabic). Text is shaped (HarfBuzz): Arabic
    letters join and right-to-left lines run right to left, as a reporter wrote them.

    The metadata names Candor and nothing else of the server: the creation date is in UTC, so
    it does not tell the server's time zone.
    """
    pdf = fpdf.FPDF(orientation="portrait", unit="mm", format="A4")
    fonts = resources.files("portal") / "fonts"
    with resources.as_file(fonts / "DejaVuSans.ttf") as regular:
        pdf.add_font(FONT, "", regular)
    with resources.as_file(fonts / "DejaVuSans-Bold.ttf") as bold:
        pdf.add_font(FONT, "B", bold)
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.set_title(title)
    pdf.set_producer("Candor")
    pdf.set_creator("Candor")
    # fpdf2 dates the document in UTC (the library reads the clock, not this service); a
    # test checks that the date carries no other zone.
    pdf.set_font(FONT, size=10)
    pdf.set_text_shaping(True)
    return pdf


def to_bytes(pdf: fpdf.FPDF) -> bytes:
    """The finished document as bytes."""
    return bytes(pdf.output())
