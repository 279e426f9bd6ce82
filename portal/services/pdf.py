"""What every PDF the site makes shares: fpdf2, A4, the DejaVu fonts shipped in the package.

A PDF leaves the protection of the site, so it carries nothing about the server beyond what its
content needs: the producer and creator say "Candor" (not a library and its version), and the
creation date fpdf2 writes is in UTC, never in the server's own time zone.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import fpdf

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVu"
MARGIN_MM = 18


def new_document(title: str) -> fpdf.FPDF:
    """An empty A4 document with the DejaVu fonts (regular and bold) and its metadata set."""
    pdf = fpdf.FPDF(orientation="P", unit="mm", format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.set_title(title)
    pdf.set_producer("Candor")
    pdf.set_creator("Candor")
    pdf.set_creation_date(pdf.creation_date.astimezone(UTC))
    pdf.set_font(FONT, size=10)
    return pdf


def to_bytes(pdf: fpdf.FPDF) -> bytes:
    """The finished document."""
    return bytes(pdf.output())
