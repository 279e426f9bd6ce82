"""Uploads that no request finished: swept by the clock worker.

A file is written pending while its upload arrives and made permanent when its case or message
is committed. A request that dies in between (a worker killed, the database gone at the wrong
moment, the machine restarted) can leave a pending file behind: in a folder, a ``.part`` file; in
the database store, pending rows. Nothing reads them, but they are ciphertext that no retention
period covers, so the worker sweeps them: a file still pending a day after a pass first saw it is
either named by an attachment row (its case was committed and only the last step was lost: it is
made permanent) or named by nothing (it is removed).

The day is counted from the pass that first saw the file, not from the file itself: the folder's
times and the database's rows carry no clock this module may trust, and an upload in progress
(a large file over a slow Tor circuit) is never older than that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment
from portal.services.attachment_store import AttachmentStore

STRAY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class SweepResult:
    kept: int  # named by an attachment: made permanent
    removed: int  # named by nothing: deleted


def sweep_stray_uploads(
    session: Session, store: AttachmentStore, *, now: datetime, first_seen: dict[str, datetime]
) -> SweepResult:
    """Finish or remove every pending file that has stayed pending for ``STRAY_AFTER`` since a
    sweep first saw it. ``first_seen`` is the caller's memory between passes (uid to the time
    first seen pending); it is updated in place. Never touches a committed file, nor a pending
    one younger than that, so an upload in progress is safe."""
    pending = store.pending_uids()
    for uid in set(first_seen) - pending:
        del first_seen[uid]
    due = [uid for uid in pending if now - first_seen.setdefault(uid, now) >= STRAY_AFTER]
    if not due:
        return SweepResult(kept=0, removed=0)
    named = set(session.scalars(select(Attachment.uid).where(Attachment.uid.in_(due))))
    kept = removed = 0
    for uid in due:
        if uid in named:
            store.commit(uid)
            kept += 1
        else:
            store.discard_pending(uid)
            removed += 1
        del first_seen[uid]
    return SweepResult(kept=kept, removed=removed)
