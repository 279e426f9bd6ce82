"""Real files with identifying metadata, built with each format's own library, in memory."""

from __future__ import annotations

import io

import pikepdf
from PIL import Image, PngImagePlugin

ARTIST = "Jane Canary-Reporter"
SERIAL = "SN-CANARY-4242"
COMPANY = "Canary Holdings Ltd"
GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ARTIST_TAG = 0x013B
ORIENTATION_TAG = 0x0112
BODY_SERIAL_TAG = 0xA431
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>" + ARTIST.encode() + b"</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)


def exif(orientation: int = 1) -> Image.Exif:
    data = Image.Exif()
    data[ARTIST_TAG] = ARTIST
    data[ORIENTATION_TAG] = orientation
    data.get_ifd(EXIF_IFD)[BODY_SERIAL_TAG] = SERIAL
    gps = data.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    return data


def picture(width: int = 40, height: int = 20) -> Image.Image:
    """A picture whose left half is red and right half blue, to tell a rotation."""
    image = Image.new("RGB", (width, height), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, width // 2, height))
    return image


def jpeg(orientation: int = 6) -> bytes:
    out = io.BytesIO()
    picture().save(out, "JPEG", exif=exif(orientation), xmp=XMP, quality=95)
    return out.getvalue()


def png() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", ARTIST)
    info.add_itxt("Comment", f"taken by {ARTIST}")
    out = io.BytesIO()
    picture().save(out, "PNG", pnginfo=info, exif=exif())
    return out.getvalue()


def webp() -> bytes:
    out = io.BytesIO()
    picture().save(out, "WEBP", exif=exif(), xmp=XMP, lossless=True)
    return out.getvalue()


def tiff() -> bytes:
    out = io.BytesIO()
    picture().save(out, "TIFF", exif=exif())
    return out.getvalue()


def pdf() -> bytes:
    document = pikepdf.new()
    document.add_blank_page(page_size=(200, 200))
    document.docinfo["/Author"] = ARTIST
    document.docinfo["/Producer"] = f"{COMPANY} PDF Writer"
    with document.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [ARTIST]
        meta["pdf:Producer"] = COMPANY
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx() -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    paragraph = document.add_paragraph("The invoices were changed on 3 March.")
    document.add_comment(paragraph.runs, text="Check this", author=ARTIST, initials="JC")
    props = document.core_properties
    props.author = ARTIST
    props.last_modified_by = ARTIST
    props.comments = f"Written at {COMPANY}"
    out = io.BytesIO()
    document.save(out)
    return _with_company(out.getvalue())


def xlsx() -> bytes:
    import openpyxl
    from openpyxl.comments import Comment

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["A1"] = "Amount"
    sheet["B1"] = 1200
    sheet["B1"].comment = Comment("Too high", ARTIST)
    workbook.properties.creator = ARTIST
    workbook.properties.lastModifiedBy = ARTIST
    out = io.BytesIO()
    workbook.save(out)
    return _with_company(out.getvalue())


def pptx() -> bytes:
    import pptx as python_pptx

    deck = python_pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    if slide.shapes.title is not None:
        slide.shapes.title.text = "Quarterly numbers"
    deck.core_properties.author = ARTIST
    deck.core_properties.last_modified_by = ARTIST
    out = io.BytesIO()
    deck.save(out)
    return _with_company(out.getvalue())


def odt() -> bytes:
    from odf import dc, meta, text
    from odf.office import Annotation
    from odf.opendocument import OpenDocumentText

    document = OpenDocumentText()
    document.meta.addElement(dc.Creator(text=ARTIST))
    document.meta.addElement(meta.InitialCreator(text=ARTIST))
    paragraph = text.P(text="The invoices were changed on 3 March.")
    note = Annotation()
    note.addElement(dc.Creator(text=ARTIST))
    note.addElement(text.P(text="Check this"))
    paragraph.addElement(note)
    document.text.addElement(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _with_company(data: bytes) -> bytes:
    """Put a company and a manager into docProps/app.xml, as Office does from the user's profile."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "docProps/app.xml":
                content = content.replace(
                    b"</Properties>",
                    f"<Company>{COMPANY}</Company><Manager>{ARTIST}</Manager></Properties>".encode(),
                )
            target.writestr(entry, content)
    return out.getvalue()
