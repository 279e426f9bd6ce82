"""The shared PDF start: fonts from the package, A4, metadata naming Candor, any script."""

from __future__ import annotations

import io
from importlib import resources

from pypdf import PdfReader

from portal.services import pdf

SCRIPTS = (
    "Ærøskøbing, façade, déjà vu, Łódź, Þingvellir",
    "Ελληνικά: η αναφορά παραλήφθηκε",
    "Русский: сообщение получено",
)


def test_fonts_and_their_licence_ship_with_the_package() -> None:
    fonts = resources.files("portal") / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE-DejaVu.txt"):
        assert (fonts / name).is_file()
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()


def test_a_document_prints_any_script_and_says_nothing_of_the_server() -> None:
    document = pdf.new_document("Case C-TEST")
    document.add_page()
    for line in SCRIPTS:
        document.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    document.set_font(pdf.FONT, "B", 12)
    # Right-to-left scripts print, unshaped (fpdf2 shapes them only with uharfbuzz installed).
    document.multi_cell(0, 5, "עברית العربية", new_x="LMARGIN", new_y="NEXT")
    data = pdf.to_bytes(document)
    assert isinstance(data, bytes) and data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    for line in SCRIPTS:
        assert line in text
    page = reader.pages[0].mediabox
    assert (round(float(page.width)), round(float(page.height))) == (595, 842)  # A4 in points
    meta = reader.metadata
    assert meta is not None
    assert (meta.title, meta.producer, meta.creator) == ("Case C-TEST", "Candor", "Candor")
    created = str(meta["/CreationDate"])
    assert created.endswith(("Z", "+00'00'", "Z00'00'")), created
    assert document.l_margin == document.r_margin == document.t_margin == pdf.MARGIN_MM
    assert document.auto_page_break


def test_arabic_is_shaped_and_reads_in_its_own_order() -> None:
    # Unshaped, the letters stand alone and the line comes out reversed (its text extracts
    # backwards); shaped, it reads as the reporter wrote it.
    arabic = "تم تقديم بلاغ عن الاحتيال في المستودع"
    document = pdf.new_document("Case C-TEST")
    document.add_page()
    document.multi_cell(0, 5, arabic, new_x="LMARGIN", new_y="NEXT")
    document.multi_cell(0, 5, "Deutsch: Größe", new_x="LMARGIN", new_y="NEXT")
    text = PdfReader(io.BytesIO(pdf.to_bytes(document))).pages[0].extract_text()
    assert text.splitlines()[:2] == [arabic, "Deutsch: Größe"]
