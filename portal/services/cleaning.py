"""Removing what a reporter's files say about them, in memory, before they are encrypted.

A phone photo carries its GPS position, the camera's serial number and the owner's name; a PDF
or an Office document carries its author, the company and who changed it last. Any of these can
name a reporter. Files are cleaned here, from bytes to bytes, so that no plaintext is ever
written to disk: the caller encrypts what comes back.

The kind of a file is told from its content (its first bytes, then the library's own open),
never from its name or the type the browser claims. Each format goes through a well-kept library
(Pillow and pillow-heif for pictures, pikepdf for PDF, :mod:`portal.services.office` for Office
and OpenDocument files); nothing here parses a file format by hand.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass

import pikepdf
import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from portal.services import office

# Headers (the first bytes) enough to tell every kind below apart, tar's "ustar" at 257 included.
HEAD_SIZE = 512
# Pictures are decoded to pixels to be cleaned; a small file can decode to gigabytes (a
# "decompression bomb"), so pictures with more pixels than this are left as they are.
MAX_PIXELS = 80_000_000
ORIENTATION = 0x0112

pillow_heif.register_heif_opener()


class CleaningError(Exception):
    """The file could not be cleaned (a damaged file, or one too large to open safely)."""


class TooLargeToCleanError(CleaningError):
    """Cleaning would need more memory than this site gives one file."""


class CleaningStatus(enum.Enum):
    """What happened to a file's hidden details; sealed with the file's other metadata."""

    CLEANED = "cleaned"
    KEPT = "kept"  # the sender asked for the file exactly as it was
    UNSUPPORTED = "unsupported"  # a kind this site cannot clean (video, audio, archive, other)
    TOO_LARGE = "too_large"  # larger than what is cleaned in memory
    FAILED = "failed"  # a damaged file: kept unchanged rather than lost
    UNCHECKED = "unchecked"  # stored before files were cleaned


class Kind(enum.Enum):
    """What a file is, from its content."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    TIFF = "tiff"
    HEIC = "heic"
    PDF = "pdf"
    ZIP = "zip"  # an archive, or an Office or OpenDocument file (decided when it is opened)
    OFFICE = "office"
    VIDEO = "video"
    AUDIO = "audio"
    ARCHIVE = "archive"
    OTHER = "other"


CLEANABLE = frozenset({Kind.JPEG, Kind.PNG, Kind.WEBP, Kind.TIFF, Kind.HEIC, Kind.PDF, Kind.ZIP})
PILLOW_FORMATS = {
    Kind.JPEG: "JPEG",
    Kind.PNG: "PNG",
    Kind.WEBP: "WEBP",
    Kind.TIFF: "TIFF",
    Kind.HEIC: "HEIF",
}
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
AUDIO_BRANDS = (b"M4A ", b"M4B ", b"M4P ", b"F4A ")


@dataclass(frozen=True)
class Cleaned:
    """The outcome for one file: its (perhaps new) content, the status and the kind found."""

    data: bytes
    status: CleaningStatus
    kind: Kind


def sniff(head: bytes) -> Kind:
    """The kind of a file from its first bytes (magic numbers, as file(1) reads them)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Kind.PNG
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Kind.WEBP
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return Kind.TIFF
    if head.startswith(b"%PDF-"):
        return Kind.PDF
    if head.startswith(b"PK\x03\x04"):
        return Kind.ZIP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIF_BRANDS:
            return Kind.HEIC
        return Kind.AUDIO if brand in AUDIO_BRANDS else Kind.VIDEO
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"WAVE"):
        return Kind.VIDEO if head[8:12] == b"AVI " else Kind.AUDIO
    if head.startswith(b"\x1a\x45\xdf\xa3") or head[4:8] in (b"moov", b"mdat", b"wide"):
        return Kind.VIDEO
    if head.startswith((b"ID3", b"fLaC", b"OggS", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return Kind.AUDIO
    if (
        head.startswith((b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))
        or head[257:262] == b"ustar"
        or head.startswith(b"PK\x05\x06")
    ):
        return Kind.ARCHIVE
    return Kind.OTHER


def clean(data: bytes, *, max_unpacked: int) -> Cleaned:
    """Remove the hidden details from ``data``, or say why they were left.

    Never loses the file: a file that cannot be cleaned comes back unchanged with a status that
    says so. ``max_unpacked`` bounds what an Office file may expand to while it is rewritten.
    """
    kind = sniff(data[:HEAD_SIZE])
    try:
        if kind in PILLOW_FORMATS:
            return Cleaned(clean_picture(data, kind), CleaningStatus.CLEANED, kind)
        if kind is Kind.PDF:
            return Cleaned(clean_pdf(data), CleaningStatus.CLEANED, kind)
        if kind is Kind.ZIP:
            if not office.is_office_document(data):
                return Cleaned(data, CleaningStatus.UNSUPPORTED, Kind.ARCHIVE)
            return Cleaned(
                office.clean(data, max_unpacked=max_unpacked), CleaningStatus.CLEANED, Kind.OFFICE
            )
    except (TooLargeToCleanError, office.OfficeTooLargeError):
        return Cleaned(data, CleaningStatus.TOO_LARGE, kind)
    except (CleaningError, office.OfficeError):
        return Cleaned(data, CleaningStatus.FAILED, kind)
    return Cleaned(data, CleaningStatus.UNSUPPORTED, kind)


def clean_picture(data: bytes, kind: Kind) -> bytes:
    """A picture without EXIF (GPS, camera serial, owner), XMP, text chunks or ICC profile.

    The EXIF orientation is applied to the pixels first, so the picture still stands the right
    way up. Colours in an embedded profile are converted to sRGB, so dropping the profile (whose
    description can name the device) does not change how the picture looks.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[PILLOW_FORMATS[kind]]) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise TooLargeToCleanError("too many pixels to clean in memory")
            frames = getattr(opened, "n_frames", 1)
            if frames > 1:
                # Animations and multi-page scans: every frame loses its metadata alike.
                return _save_frames(opened, kind)
            image: Image.Image = opened
            if opened.getexif().get(ORIENTATION, 1) in range(2, 9):
                image = ImageOps.exif_transpose(opened)
            image = _to_srgb(image)
            return _save(image, kind, original=image is opened)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise CleaningError("the picture could not be read") from exc
    except Image.DecompressionBombError as exc:
        raise TooLargeToCleanError("too many pixels to clean in memory") from exc


def _to_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "L", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        # An unreadable profile: keep the pixels as they are; the profile still goes.
        return image
    return converted if converted is not None else image


def _bare(image: Image.Image, *, keep_file: bool = False) -> Image.Image:
    # Pillow writes some of image.info back on save (the ICC profile, EXIF, PNG text, XMP), and
    # a TIFF file object its own tags (Artist among them): only a plain copy starts empty.
    if not keep_file:
        image = image.copy()
    image.info = {}
    return image


def _save(image: Image.Image, kind: Kind, *, original: bool) -> bytes:
    out = io.BytesIO()
    # A JPEG saved with its own quantisation must stay the opened file (its tables are on it);
    # the JPEG writer writes only the markers it is given.
    image = _bare(image, keep_file=original and kind is Kind.JPEG)
    options: dict[str, object] = {}
    if kind is Kind.JPEG:
        # Re-using the original quantisation keeps an unrotated photo as sharp as it was.
        options = {"quality": "keep"} if original else {"quality": 95}
        if image.mode not in ("RGB", "L", "CMYK"):
            image, options = image.convert("RGB"), {"quality": 95}
    elif kind is Kind.WEBP:
        options = {"lossless": True} if image.mode in ("RGBA", "LA") else {"quality": 95}
    elif kind is Kind.TIFF:
        options = {"compression": "tiff_deflate"}
    elif kind is Kind.HEIC:
        options = {"quality": 95}
    image.save(out, format=PILLOW_FORMATS[kind], **options)
    return out.getvalue()


def _save_frames(opened: Image.Image, kind: Kind) -> bytes:
    frames = []
    for index in range(getattr(opened, "n_frames", 1)):
        opened.seek(index)
        frames.append(_bare(opened.copy()))
    out = io.BytesIO()
    options: dict[str, object] = {}
    if kind in (Kind.PNG, Kind.WEBP):
        options = {"duration": opened.info.get("duration", 100), "loop": opened.info.get("loop", 0)}
    frames[0].save(
        out, format=PILLOW_FORMATS[kind], save_all=True, append_images=frames[1:], **options
    )
    return out.getvalue()


def clean_pdf(data: bytes) -> bytes:
    """A PDF without its document information (author, producer, dates) or XMP metadata.

    Every metadata stream goes (the document's and those of pages and pictures), with the
    applications' private data; writing the file anew also drops earlier revisions kept by
    incremental saves.
    """
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for obj in pdf.objects:
                if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                    for key in ("/Metadata", "/PieceInfo", "/LastModified"):
                        if key in obj:
                            del obj[key]
            out = io.BytesIO()
            pdf.save(out, fix_metadata_version=False, deterministic_id=True)
            return out.getvalue()
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError) as exc:
        raise CleaningError("the PDF could not be read") from exc
