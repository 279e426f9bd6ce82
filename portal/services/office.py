"""Office Open XML (docx, xlsx, pptx) and OpenDocument (odt, ods, odp) files without their
authors.

Both formats are zip containers of XML parts, and the parts that name people are documented:
``docProps/core.xml``, ``app.xml`` and ``custom.xml`` (author, last modified by, company,
manager, template), ``meta.xml`` in OpenDocument, and inside the content the authors, initials
and dates of comments and tracked changes, the people lists of newer Office versions, and Word's
revision-session ids (``w:rsid``), which tie a file to the editing sessions that made it.

The container is read with :mod:`zipfile` and the XML with lxml, configured to load no DTD,
expand no entity and reach no network (XXE and "billion laughs"). The property parts are
replaced whole by empty ones; the others keep every element and only lose the names above, so
the document still opens and reads the same. Every entry's date (which gives away a time zone)
is reset, and the archive loses its comment and extra fields.

mat2's library (libmat2) does this too, but it works on file paths (a plaintext copy on disk,
which this site never makes) and needs GObject bindings; this module keeps to its documented
parts.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable

from lxml import etree

OOXML_MARKER = "[Content_Types].xml"
ODF_MIMETYPE_PREFIX = b"application/vnd.oasis.opendocument."
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
# Comment and revision times are set to this rather than removed: some are required attributes.
FIXED_TIMESTAMP = "1980-01-01T00:00:00Z"
COPY_CHUNK = 64 * 1024
# XML parts are parsed into memory; one larger than this is not a document we clean.
MAX_XML_PART = 64 * 1024 * 1024

DC = "http://purl.org/dc/elements/1.1/"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XL = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

EMPTY_PARTS: dict[str, bytes] = {
    "docProps/core.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
        b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        b'xmlns:dcterms="http://purl.org/dc/terms/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
    ),
    "docProps/app.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'extended-properties"/>'
    ),
    "docProps/custom.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'custom-properties"/>'
    ),
    "meta.xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'office:version="1.2"><office:meta/></office:document-meta>'
    ),
}
# Attributes that name or date a person, wherever they appear in a content part: comment and
# tracked-change authors (w:author, w:initials, w:date), people lists (userId, providerId,
# displayName), PowerPoint's comment authors (name, initials) and comment times (dt, created).
PERSON_ATTRIBUTES = frozenset({"author", "initials", "userId", "providerId"})
DATE_ATTRIBUTES = frozenset({"date", "dateUtc", "dt", "created"})
PEOPLE_PARTS = re.compile(
    r"^(ppt/commentAuthors\.xml|ppt/authors\.xml|xl/persons/[^/]+\.xml|word/people\.xml)$"
)
CONTENT_PARTS = re.compile(r"^(word|xl|ppt)/.+\.xml$|^(content|styles)\.xml$")


class OfficeError(Exception):
    """The file is not a readable Office or OpenDocument file."""


class OfficeTooLargeError(OfficeError):
    """The file would expand to more than may be unpacked in memory (a zip bomb, perhaps)."""


def is_office_document(data: bytes) -> bool:
    """Whether a zip file is an Office Open XML or OpenDocument file (else: a plain archive).

    Reads only the archive's directory and, for OpenDocument, its short ``mimetype`` entry;
    nothing else is unpacked.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if OOXML_MARKER in names:
                return True
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                return archive.read("mimetype").startswith(ODF_MIMETYPE_PREFIX)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, OSError):
        return False
    return False


def clean(data: bytes, *, max_unpacked: int) -> bytes:
    """The document without its authors, companies, comment authors and revision ids."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            entries = source.infolist()
            if sum(e.file_size for e in entries) > max_unpacked:
                raise OfficeTooLargeError("the document unpacks to more than the limit")
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as target:
                # OpenDocument needs "mimetype" first and stored; keeping the order keeps that.
                for entry in entries:
                    _copy_entry(source, target, entry)
            return out.getvalue()
    except OfficeError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError) as exc:
        raise OfficeError("the document could not be read") from exc
    except (OSError, EOFError, ValueError, etree.LxmlError) as exc:
        raise OfficeError("the document could not be read") from exc


def _copy_entry(source: zipfile.ZipFile, target: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    info = zipfile.ZipInfo(entry.filename, date_time=FIXED_DATE)
    info.compress_type = (
        zipfile.ZIP_STORED if entry.compress_type == zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
    )
    info.external_attr = 0o644 << 16
    name = entry.filename
    if name in EMPTY_PARTS:
        target.writestr(info, EMPTY_PARTS[name])
        return
    scrub = _scrubber(name)
    if scrub is None:
        with source.open(entry) as reader, target.open(info, "w") as writer:
            shutil.copyfileobj(reader, writer, COPY_CHUNK)
        return
    if entry.file_size > MAX_XML_PART:
        raise OfficeTooLargeError("an XML part is larger than may be parsed in memory")
    target.writestr(info, _rewrite_xml(source.read(entry), scrub))


def _scrubber(name: str) -> Callable[[etree._Element], None] | None:
    if PEOPLE_PARTS.match(name):
        return _scrub_people
    if name == "word/settings.xml":
        return _scrub_settings
    if name.startswith("xl/comments") and name.endswith(".xml"):
        return _scrub_sheet_comments
    if CONTENT_PARTS.match(name):
        return _scrub_content
    return None


def _rewrite_xml(data: bytes, scrub: Callable[[etree._Element], None]) -> bytes:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    root = etree.fromstring(data, parser)
    if root.getroottree().docinfo.doctype:
        # Office parts never carry a DTD; one here is an attack on the parser, not a document.
        raise OfficeError("an XML part declares a DTD")
    scrub(root)
    standalone = root.getroottree().docinfo.standalone
    result: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", standalone=standalone
    )
    return result


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _scrub_content(root: etree._Element) -> None:
    """Comment and tracked-change authors and dates, Word's rsids, OpenDocument's creators."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if element.tag in (f"{{{DC}}}creator", f"{{{DC}}}date"):
            element.text = ""
        for key in list(element.attrib):
            local = _local(key)
            if local in PERSON_ATTRIBUTES:
                element.attrib[key] = ""
            elif local in DATE_ATTRIBUTES:
                element.attrib[key] = FIXED_TIMESTAMP
            elif local.startswith("rsid"):
                del element.attrib[key]


def _scrub_people(root: etree._Element) -> None:
    """People lists: each person keeps an entry (so references still resolve) but no name."""
    for index, element in enumerate(list(root.iter())):
        if not isinstance(element.tag, str):
            continue
        for key in list(element.attrib):
            local = _local(key)
            if local in ("name", "displayName", "author"):
                element.attrib[key] = f"Author {index}"
            elif local in PERSON_ATTRIBUTES:
                element.attrib[key] = ""
            elif local in DATE_ATTRIBUTES:
                element.attrib[key] = FIXED_TIMESTAMP
        if _local(element.tag) == "presenceInfo":
            element.getparent().remove(element)


def _scrub_settings(root: etree._Element) -> None:
    """Word's list of the revision sessions that edited the file."""
    for element in list(root.iter(f"{{{W}}}rsids")):
        element.getparent().remove(element)
    _scrub_content(root)


def _scrub_sheet_comments(root: etree._Element) -> None:
    """Spreadsheet comments name their authors in a list that the comments index into."""
    for author in root.iter(f"{{{XL}}}author"):
        author.text = ""
    _scrub_content(root)
