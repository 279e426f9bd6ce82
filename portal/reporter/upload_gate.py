"""Which reporter requests may write files, decided before their files arrive."""

from __future__ import annotations

from datetime import timedelta

from flask import g, session

from portal.models import Case
from portal.services import quota
from portal.timeutil import utcnow
from portal.uploads import (
    UploadPermit,
    UploadRoute,
    attachment_store,
    case_quota_bytes,
    upload_limit_bytes,
    upload_route,
)
from portal.web import app_config, db_session

SESSION_KEY = "reporter"


def _signed_in_case() -> Case | None:
    if "upload_case" not in g:
        raw = session.get(SESSION_KEY)
        g.upload_case = None
        if isinstance(raw, dict) and isinstance(raw.get("t"), str):
            g.upload_case = quota.find_reporter_case(
                db_session(),
                raw["t"],
                now=utcnow(),
                idle=timedelta(minutes=app_config().security.session_idle_minutes),
            )
    case: Case | None = g.upload_case
    return case


def _new_report() -> UploadPermit:
    limit = case_quota_bytes()
    return UploadPermit(budget=min(upload_limit_bytes(), limit), quota=limit)


def _follow_up() -> UploadPermit | None:
    case = _signed_in_case()
    if case is None:
        return None
    limit = case_quota_bytes()
    used = quota.reporter_storage_used(db_session(), case, attachment_store())
    budget = min(upload_limit_bytes(), max(limit - used, 0))
    return UploadPermit(budget=budget, quota=limit, used=used)


def _case_key() -> str | None:
    case = _signed_in_case()
    return f"case:{case.uid}" if case is not None else None


upload_route("reporter.file_report", UploadRoute(permit=_new_report))
upload_route("reporter.send_message", UploadRoute(permit=_follow_up, limit_key=_case_key))
