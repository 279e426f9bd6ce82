"""Attack: an archive (or a zip bomb of nested archives) sent to make the server unpack it.

Archives are stored exactly as sent and never unpacked: the site reads only a zip's directory
(to tell an Office document from a plain archive), never an entry of a plain archive. The file
is marked "not cleaned" with an honest line, so nobody thinks its contents were cleaned.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.models import User
from portal.services.cleaning import CleaningStatus, Kind
from tests.factories import make_handler
from tests.security.upload_helpers import report_with_files, stored_files, text_of


@pytest.fixture
def handler(db: Session) -> User:
    return make_handler(db, "hanna")


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _nested_bomb(levels: int = 3) -> bytes:
    """A zip of zips of zips: 10 copies per level around 16 MB of zeros (16 GB unpacked)."""
    inner = _zip({"zeros.bin": bytes(16 * 1024 * 1024)})
    for level in range(levels):
        inner = _zip({f"layer{level}-{n}.zip": inner for n in range(10)})
    return inner


@pytest.fixture
def never_unpacked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every entry any code opens inside a zip file during the request."""
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        if kwargs.get("mode", args[0] if args else "r") == "r":
            opened.append(name if isinstance(name, str) else getattr(name, "filename", "?"))
        return original(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_archives_are_stored_as_sent_and_never_unpacked(
    client: FlaskClient, app: Flask, db: Session, handler: User, never_unpacked: list[str]
) -> None:
    plain = _zip({"minutes.txt": b"Minutes of the meeting", "photo.jpg": b"\xff\xd8\xff"})
    bomb = _nested_bomb()
    assert len(bomb) < 1024 * 1024
    never_unpacked.clear()  # building them above wrote entries; from here on only the server acts
    status, page = report_with_files(client, [("papers.zip", plain), ("bomb.zip", bomb)])
    assert status == 200
    assert never_unpacked == []
    assert text_of(page).count("this site cannot clean archives (such as zip files)") == 2
    stored = [data for _, data in stored_files(app, db, handler)]
    never_unpacked.clear()  # reading back for the assertions below is not the server's doing
    assert stored == [plain, bomb]
    views = [view for view, _ in stored_files(app, db, handler)]
    assert [(v.cleaning, v.kind) for v in views] == [(CleaningStatus.UNSUPPORTED, Kind.ARCHIVE)] * 2


def test_other_archive_formats_are_marked_as_archives(
    client: FlaskClient, app: Flask, db: Session, handler: User
) -> None:
    import gzip

    packed = gzip.compress(bytes(1024 * 1024))
    status, _ = report_with_files(client, [("data.gz", packed)])
    assert status == 200
    [(view, data)] = stored_files(app, db, handler)
    assert data == packed
    assert (view.cleaning, view.kind) == (CleaningStatus.UNSUPPORTED, Kind.ARCHIVE)
