"""The cleaning module on its own, and the encrypting sink that calls it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from portal.services import cleaning, office
from portal.services.attachments import AttachmentMeta, CleaningPolicy, FolderStore
from portal.services.cleaning import CleaningStatus, Kind
from tests import sample_files as samples

MARKERS = (samples.ARTIST.encode(), samples.SERIAL.encode(), samples.COMPANY.encode())
BIG = 10**8


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0", Kind.JPEG),
        (b"\x89PNG\r\n\x1a\n", Kind.PNG),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", Kind.WEBP),
        (b"II*\x00", Kind.TIFF),
        (b"MM\x00*", Kind.TIFF),
        (b"\x00\x00\x00\x1cftypheic", Kind.HEIC),
        (b"%PDF-1.7", Kind.PDF),
        (b"PK\x03\x04", Kind.ZIP),
        (b"\x00\x00\x00\x18ftypmp42", Kind.VIDEO),
        (b"\x00\x00\x00\x18ftypM4A ", Kind.AUDIO),
        (b"\x1a\x45\xdf\xa3", Kind.VIDEO),
        (b"ID3\x04", Kind.AUDIO),
        (b"OggS", Kind.AUDIO),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", Kind.AUDIO),
        (b"7z\xbc\xaf\x27\x1c", Kind.ARCHIVE),
        (b"\x1f\x8b\x08", Kind.ARCHIVE),
        (b"x" * 257 + b"ustar", Kind.ARCHIVE),
        (b"Plain text", Kind.OTHER),
        (b"", Kind.OTHER),
    ],
)
def test_kind_comes_from_the_content(head: bytes, kind: Kind) -> None:
    assert cleaning.sniff(head) is kind


@pytest.mark.parametrize(
    "build",
    [
        samples.jpeg,
        samples.png,
        samples.webp,
        samples.tiff,
        samples.pdf,
        samples.docx,
        samples.xlsx,
        samples.pptx,
        samples.odt,
    ],
)
def test_each_sample_is_cleaned(build) -> None:  # type: ignore[no-untyped-def]
    original = build()
    result = cleaning.clean(original, max_unpacked=BIG)
    assert result.status is CleaningStatus.CLEANED
    if result.kind is Kind.OFFICE:
        with zipfile.ZipFile(io.BytesIO(result.data)) as archive:
            contents = b"".join(archive.read(name) for name in archive.namelist())
            assert {e.date_time for e in archive.infolist()} == {office.FIXED_DATE}
    else:
        contents = result.data
    for marker in MARKERS:
        assert marker not in contents


def test_upright_jpeg_keeps_its_quantisation() -> None:
    original = samples.jpeg(orientation=1)
    result = cleaning.clean(original, max_unpacked=BIG)
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(result.data)) as after:
        assert after.quantization == before.quantization  # type: ignore[attr-defined]
        assert not after.getexif()


def test_colour_profile_is_converted_and_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG", icc_profile=srgb)
    with Image.open(io.BytesIO(out.getvalue())) as original:
        assert "icc_profile" in original.info
    result = cleaning.clean(out.getvalue(), max_unpacked=BIG)
    with Image.open(io.BytesIO(result.data)) as cleaned:
        assert "icc_profile" not in cleaned.info
        red, green, blue = cleaned.convert("RGB").getpixel((0, 0))  # type: ignore[misc]
        assert abs(red - 200) <= 2 and abs(green - 30) <= 2 and abs(blue - 30) <= 2


def test_too_many_pixels_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleaning, "MAX_PIXELS", 100)
    original = samples.png()
    result = cleaning.clean(original, max_unpacked=BIG)
    assert (result.status, result.data) == (CleaningStatus.TOO_LARGE, original)


@pytest.mark.parametrize("build", [samples.jpeg, samples.pdf, samples.png])
def test_a_damaged_file_comes_back_unchanged(build) -> None:  # type: ignore[no-untyped-def]
    damaged = build()[:120]
    result = cleaning.clean(damaged, max_unpacked=BIG)
    assert (result.status, result.data) == (CleaningStatus.FAILED, damaged)


def test_plain_zip_is_an_archive_and_stays_as_it_is() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "hello")
    result = cleaning.clean(out.getvalue(), max_unpacked=BIG)
    assert (result.status, result.kind, result.data) == (
        CleaningStatus.UNSUPPORTED,
        Kind.ARCHIVE,
        out.getvalue(),
    )


def test_office_file_that_unpacks_too_far_is_not_rewritten() -> None:
    original = samples.docx()
    result = cleaning.clean(original, max_unpacked=1000)
    assert (result.status, result.data) == (CleaningStatus.TOO_LARGE, original)


def test_office_part_with_a_dtd_is_refused_not_expanded() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"&lol2;</w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", laughs)
    result = cleaning.clean(out.getvalue(), max_unpacked=BIG)
    assert (result.status, result.data) == (CleaningStatus.FAILED, out.getvalue())


def _sink_round_trip(
    tmp_path: Path, data: bytes, policy: CleaningPolicy | None, piece: int = 1000
) -> tuple[AttachmentMeta, bytes, FolderStore]:
    store = FolderStore(tmp_path)
    from portal.services.attachments import EncryptingSink

    sink = EncryptingSink(store, "f", "", limit=None, policy=policy)
    for start in range(0, len(data), piece):
        sink.write(data[start : start + piece])
        held = len(sink._held or b"")
        assert policy is None or held <= policy.memory_limit
    upload = sink.finish()
    store.commit(upload.uid)
    return upload.meta(), b"".join(store.read(upload.uid, upload.file_key)), store


def test_sink_cleans_a_file_held_in_memory(tmp_path: Path) -> None:
    policy = CleaningPolicy(clean=True, memory_limit=1024 * 1024, max_unpacked=BIG)
    meta, stored, _ = _sink_round_trip(tmp_path, samples.jpeg(), policy)
    assert (meta.cleaning, meta.kind) == (CleaningStatus.CLEANED, Kind.JPEG)
    assert meta.size == len(stored) and samples.ARTIST.encode() not in stored


def test_sink_streams_a_file_over_the_memory_limit_unchanged(tmp_path: Path) -> None:
    policy = CleaningPolicy(clean=True, memory_limit=4096, max_unpacked=BIG)
    photo = samples.jpeg() + bytes(20_000)  # a JPEG larger than what is held
    meta, stored, _ = _sink_round_trip(tmp_path, photo, policy)
    assert (meta.cleaning, meta.kind) == (CleaningStatus.TOO_LARGE, Kind.JPEG)
    assert stored == photo


def test_sink_keeps_files_when_asked_and_passes_other_kinds_through(tmp_path: Path) -> None:
    keep = CleaningPolicy(clean=False, memory_limit=1024 * 1024, max_unpacked=BIG)
    photo = samples.jpeg()
    meta, stored, _ = _sink_round_trip(tmp_path, photo, keep)
    assert (meta.cleaning, stored) == (CleaningStatus.KEPT, photo)
    clean = CleaningPolicy(clean=True, memory_limit=1024 * 1024, max_unpacked=BIG)
    text = b"notes " * 1000
    meta, stored, _ = _sink_round_trip(tmp_path, text, clean)
    assert (meta.cleaning, meta.kind, stored) == (CleaningStatus.UNSUPPORTED, Kind.OTHER, text)
    meta, stored, _ = _sink_round_trip(tmp_path, text, None)
    assert (meta.cleaning, stored) == (CleaningStatus.UNCHECKED, text)


def test_meta_sealed_before_cleaning_reads_as_not_checked() -> None:
    old = json.dumps({"name": "a.pdf", "type": "application/pdf", "size": 3, "key": ""}).encode()
    meta = AttachmentMeta.from_bytes(old)
    assert (meta.cleaning, meta.kind) == (CleaningStatus.UNCHECKED, Kind.OTHER)
    assert AttachmentMeta.from_bytes(meta.to_bytes()) == meta


def test_heic_loses_its_exif() -> None:
    out = io.BytesIO()
    samples.picture().save(out, "HEIF", exif=samples.exif(), quality=90)
    original = out.getvalue()
    assert samples.ARTIST.encode() in original
    result = cleaning.clean(original, max_unpacked=BIG)
    assert (result.status, result.kind) == (CleaningStatus.CLEANED, Kind.HEIC)
    assert samples.ARTIST.encode() not in result.data
    with Image.open(io.BytesIO(result.data)) as cleaned:
        assert cleaned.size == (40, 20) and not cleaned.getexif()


def test_comment_times_are_neutral_and_revision_ids_gone() -> None:
    with zipfile.ZipFile(io.BytesIO(cleaning.clean(samples.docx(), max_unpacked=BIG).data)) as docx:
        comments = docx.read("word/comments.xml")
        document = docx.read("word/document.xml")
    assert b'w:date="1980-01-01T00:00:00Z"' in comments
    assert b"w:rsid" not in document
