"""Whole-site backups: a consistent snapshot of the database and the attachment folder, encrypted
to an offline public key, and the restore that puts one back.

A backup is one file: the encryption of :mod:`crypto.backup` around a tar archive (stream mode,
so nothing is held in memory but a chunk) of::

    candor-backup.json     what the archive holds (format, database kind, time written)
    database.sqlite3       SQLite's online backup of the live file, or
    database.pgdump        pg_dump's custom format (needs the PostgreSQL client tools)
    attachments/<uid>      each stored attachment, as stored (already encrypted per file)
    candor.toml            the site's configuration file, secrets included, when it has one

The database is snapshotted first, then the folder is read: files are written before the rows
that name them are committed, so every attachment the snapshot names is in the folder by then (a
file that arrives later is carried along unnamed, and harmless). A restore first decrypts the
whole backup into a staging folder beside the attachment folder; only when the last chunk has
verified does it touch the database and then the folder, so a tampered or cut backup changes
nothing. The site's secrets (secret key, receipt pepper, integrity key) live in its configuration
file; the backup carries a copy, as safe as the rest under the offline key, so that a machine lost
with its configuration can be rebuilt from the backup and the private key alone
(``python -m portal.backup_config``). Secrets given in the environment instead (CANDOR_*) are not
in the file, so not in the backup.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select, table
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import crypto
from portal.config import RetentionConfig
from portal.services import retention
from portal.services.attachments import AttachmentStore
from portal.services.clock import ClockSettings

FORMAT = 1
MANIFEST = "candor-backup.json"
CONFIG_MEMBER = "candor.toml"
# A configuration file is a few kilobytes; anything far larger is not one.
MAX_CONFIG_SIZE = 1 << 20
SQLITE_MEMBER = "database.sqlite3"
PGDUMP_MEMBER = "database.pgdump"
ATTACHMENTS = "attachments/"
_ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9]+")
# Rows in any of these tables make a site "not empty": a restore over it needs --replace.
_SITE_TABLES = ("users", "cases")
PG_CLIENT_HINT = (
    "install the PostgreSQL client tools of the server's major version or newer "
    "(Debian package postgresql-client)"
)


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why, in words for the operator."""


@dataclass(frozen=True)
class BackupSummary:
    database: str
    attachments: int
    size: int


@dataclass(frozen=True)
class RestoreSummary:
    database: str
    attachments: int
    written: str


# -- keys -------------------------------------------------------------------------------------


def new_backup_key(private_key_file: Path) -> str:
    """Write a fresh private key to ``private_key_file`` (mode 0600; never over a file) and
    return the public key as the configuration writes it (hexadecimal)."""
    pair = crypto.generate_keypair()
    try:
        descriptor = os.open(private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BackupError(f"{private_key_file} exists; choose another file") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(pair.private_key.hex() + "\n")
    return pair.public_key.hex()


def read_private_key(private_key_file: Path) -> bytes:
    try:
        text = private_key_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackupError(f"cannot read the private key file {private_key_file}: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise BackupError(f"{private_key_file} does not hold a backup private key")
    return key


# -- backup -----------------------------------------------------------------------------------


def write_backup(
    engine: Engine,
    attachments_dir: Path,
    public_key: bytes,
    path: Path,
    now: datetime,
    configuration: bytes | None = None,
) -> BackupSummary:
    """Write an encrypted snapshot of the site to ``path`` (refusing to overwrite a file).

    Security property: only the offline private key opens it; the plaintext database copy lives
    in a private temporary folder for the length of the backup only.
    """
    if path.exists():
        raise BackupError(f"{path} exists; choose another file name")
    dialect = engine.dialect.name
    partial = path.with_name(path.name + ".part")
    count = 0
    with tempfile.TemporaryDirectory(prefix="candor-backup-") as scratch:
        if dialect == "sqlite":
            member, dump = SQLITE_MEMBER, Path(scratch) / SQLITE_MEMBER
            _sqlite_snapshot(engine.url, dump)
        elif dialect == "postgresql":
            member, dump = PGDUMP_MEMBER, Path(scratch) / PGDUMP_MEMBER
            _pg_dump(engine.url, dump)
        else:
            raise BackupError(f"cannot back up a {dialect} database")
        manifest = json.dumps(
            {
                "format": FORMAT,
                "database": dialect,
                "written": now.isoformat(),
                "configuration": configuration is not None,
            }
        ).encode()
        try:
            # Owner-only, like the database it carries.
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise BackupError(
                f"{partial} exists: another backup is running, or one was interrupted "
                "(then remove it)"
            ) from None
        try:
            with os.fdopen(descriptor, "wb") as out:
                encryptor = crypto.BackupEncryptor(public_key, out)
                with tarfile.open(fileobj=encryptor, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]  # a write-only file is all stream mode needs
                    _add_bytes(tar, MANIFEST, manifest, now)
                    tar.add(dump, arcname=member, recursive=False, filter=_plain)
                    if configuration is not None:
                        _add_bytes(tar, CONFIG_MEMBER, configuration, now)
                    for file in _attachment_files(attachments_dir):
                        try:
                            tar.add(file, arcname=ATTACHMENTS + file.name, filter=_plain)
                        except FileNotFoundError:
                            # Deleted since the listing (a discarded upload, or retention, whose
                            # deletion a restore applies again): nothing of it was written.
                            continue
                        count += 1
                encryptor.close()
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupSummary(database=dialect, attachments=count, size=path.stat().st_size)


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Nothing about the machine travels: no owner names, ids or permissions beyond the files'.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(now.timestamp())
    tar.addfile(_plain(info), io.BytesIO(data))


def _attachment_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    # Uploads still being written (".part") are not attachments yet.
    for file in sorted(folder.iterdir()):
        if file.is_file() and _ATTACHMENT_NAME.fullmatch(file.name):
            yield file


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("the SQLite database is in memory; there is nothing to back up")
    return Path(url.database)


def _sqlite_snapshot(url: URL, target: Path) -> None:
    # SQLite's online backup API copies a consistent state while the site keeps writing.
    source = sqlite3.connect(_sqlite_path(url), timeout=30)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
    finally:
        copy.close()
        source.close()


def _pg_command(tool: str) -> str:
    found = shutil.which(tool)
    if not found:
        raise BackupError(f"{tool} is missing: {PG_CLIENT_HINT}")
    return found


def _pg_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for ``url``, and the environment carrying its password.

    The password goes in the environment, never on a command line another user could list.
    """
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    # The command is a fixed tool and arguments built here from the configuration, no shell.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(url: URL, target: Path) -> None:
    # One transaction under a repeatable-read snapshot: pg_dump's own consistency guarantee.
    target_uri, env = _pg_target(url)
    command = [_pg_command("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run([*command, "--file", str(target), "--dbname", target_uri], env, "pg_dump")


# -- restore ----------------------------------------------------------------------------------


class _PlaintextReader(io.RawIOBase):
    """A readable file over the verified pieces of a backup, for tarfile's stream mode."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # RawIOBase's signature
        while not self._pending:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._pending = piece
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        """Read to the end, so the last chunk and the end of the file are verified too."""
        for _ in self._pieces:
            pass


@dataclass(frozen=True)
class _Staged:
    folder: Path
    database: str
    dump: Path
    attachments: Path
    count: int
    written: str


def _stage(backup: Path, private_key: bytes, staging: Path) -> _Staged:
    """Decrypt and unpack ``backup`` into ``staging``; raise unless every byte verified."""
    attachments = staging / "attachments"
    attachments.mkdir(mode=0o700)
    manifest: dict[str, object] | None = None
    dump: Path | None = None
    count = 0
    try:
        with backup.open("rb") as source:
            reader = _PlaintextReader(crypto.decrypt_backup_chunks(private_key, source))
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not member.isfile():
                        raise BackupError("the backup holds something other than files")
                    name = member.name
                    if name == MANIFEST:
                        manifest = _manifest(tar, member)
                        continue
                    if name == CONFIG_MEMBER and member.size <= MAX_CONFIG_SIZE:
                        _extract(tar, member, staging / name)
                        continue
                    if name in (SQLITE_MEMBER, PGDUMP_MEMBER) and dump is None:
                        target = staging / name
                    elif name.startswith(ATTACHMENTS) and _ATTACHMENT_NAME.fullmatch(
                        name[len(ATTACHMENTS) :]
                    ):
                        target = attachments / name[len(ATTACHMENTS) :]
                        count += 1
                    else:
                        # Never a path of the archive's choosing (traversal, links, devices).
                        raise BackupError("the backup holds an unexpected entry")
                    _extract(tar, member, target)
                    if target.parent == staging:
                        dump = target
            reader.drain()
    except crypto.BackupKeyMismatchError:
        raise BackupError(
            "this backup was made for another backup key: give the private key whose public "
            "key was in [backup] public_key when it was written"
        ) from None
    except crypto.UnsupportedFormatError:
        raise BackupError("this backup was written by a newer version of Candor") from None
    except (crypto.DecryptionError, tarfile.TarError) as exc:
        raise BackupError(
            f"the backup does not verify ({exc}): it is damaged or has been altered; "
            "nothing was restored"
        ) from None
    if manifest is None or dump is None:
        raise BackupError("the backup is incomplete; nothing was restored")
    database = str(manifest.get("database"))
    expected = SQLITE_MEMBER if database == "sqlite" else PGDUMP_MEMBER
    if manifest.get("format") != FORMAT or dump.name != expected:
        raise BackupError("the backup's contents do not match its description")
    return _Staged(staging, database, dump, attachments, count, str(manifest.get("written")))


def _manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> dict[str, object]:
    handle = tar.extractfile(member)
    if handle is None or member.size > 4096:
        raise BackupError("the backup's description is malformed")
    try:
        value = json.loads(handle.read())
    except ValueError:
        raise BackupError("the backup's description is malformed") from None
    if not isinstance(value, dict):
        raise BackupError("the backup's description is malformed")
    return value


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = tar.extractfile(member)
    if source is None:
        raise BackupError("the backup holds an unreadable entry")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        shutil.copyfileobj(source, out, crypto.CHUNK_SIZE)


def site_is_empty(engine: Engine, attachments_dir: Path) -> bool:
    """True when neither the database nor the attachment folder holds anything of a site."""
    if any(_attachment_files(attachments_dir)):
        return False
    with engine.connect() as connection:
        present = inspect(connection)
        for name in _SITE_TABLES:
            if present.has_table(name) and connection.scalar(
                select(func.count()).select_from(table(name))
            ):
                return False
    return True


def restore_backup(
    engine: Engine,
    attachments_dir: Path,
    backup: Path,
    private_key: bytes,
    *,
    replace: bool,
) -> RestoreSummary:
    """Put the site in ``backup`` back into the database and the attachment folder.

    Security property: nothing is changed before the whole backup has verified under
    ``private_key``; a non-empty site is overwritten only with ``replace``. The caller then brings
    the schema up to date and applies retention (:func:`apply_retention_after_restore`).
    """
    if not backup.is_file():
        raise BackupError(f"{backup} is not a file")
    if not replace and not site_is_empty(engine, attachments_dir):
        raise BackupError(
            "this site is not empty (it has accounts, cases or attachments): restoring would "
            "overwrite it. Restore into an empty database and attachment folder, or add "
            "--replace to overwrite this site with the backup."
        )
    attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".candor-restore-", dir=attachments_dir.parent))
    try:
        staged = _stage(backup, private_key, staging)
        if staged.database != engine.dialect.name:
            raise BackupError(
                f"the backup holds a {staged.database} database; this site uses "
                f"{engine.dialect.name}"
            )
        engine.dispose()
        if staged.database == "sqlite":
            _sqlite_restore(staged.dump, engine.url)
        else:
            _pg_restore(staged.dump, engine.url)
        engine.dispose()
        _swap_folder(staged.attachments, attachments_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreSummary(staged.database, staged.count, staged.written)


def extract_configuration(backup: Path, private_key: bytes, out: Path) -> None:
    """Write the configuration file the backup carries to ``out`` (owner-only; never over an
    existing file), for a machine that lost its own: then ``candor restore`` as usual.

    Security property: written only once the whole backup has verified under ``private_key``.
    """
    if not backup.is_file():
        raise BackupError(f"{backup} is not a file")
    if out.exists():
        raise BackupError(f"{out} exists; choose another file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".candor-config-", dir=out.parent))
    try:
        _stage(backup, private_key, staging)
        carried = staging / CONFIG_MEMBER
        if not carried.is_file():
            raise BackupError(
                "this backup carries no configuration file (it was written by an older version, "
                "or by a site configured from the environment alone)"
            )
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(carried.read_bytes())
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sqlite_restore(dump: Path, url: URL) -> None:
    # The backup API writes the destination in one transaction: all of it, or none.
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    destination = sqlite3.connect(target, timeout=30)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()


def _pg_restore(dump: Path, url: URL) -> None:
    # One transaction: a restore that fails half-way leaves the database as it was.
    target_uri, env = _pg_target(url)
    command = [
        _pg_command("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--dbname",
        target_uri,
        str(dump),
    ]
    _run(command, env, "pg_restore")


def _swap_folder(staged: Path, live: Path) -> None:
    # Two renames on one file system: the folder is either the old one or the restored one.
    previous = live.with_name(live.name + ".before-restore")
    shutil.rmtree(previous, ignore_errors=True)
    if live.exists():
        os.replace(live, previous)
    os.replace(staged, live)
    shutil.rmtree(previous, ignore_errors=True)


def apply_retention_after_restore(
    session: Session,
    *,
    now: datetime,
    config: RetentionConfig,
    store: AttachmentStore,
    settings: ClockSettings,
) -> int:
    """Delete at once every case whose retention ran out since the backup was written.

    A restored backup may hold cases that retention has deleted since on the live site; they
    are deleted again (services/retention.py, the worker's own pass) before anyone can open
    them. Returns how many were deleted.
    """
    return retention.apply_retention(
        session, now=now, config=config, store=store, settings=settings
    ).deleted
