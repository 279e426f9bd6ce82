"""Which handler requests may write files: a reply to the reporter, from a live session."""

from __future__ import annotations

from datetime import timedelta

from portal.services import quota
from portal.staff import current_login
from portal.timeutil import utcnow
from portal.uploads import UploadPermit, UploadRoute, upload_limit_bytes, upload_route
from portal.web import app_config, db_session


def _reply() -> UploadPermit | None:
    login = current_login()
    if login is None:
        return None
    handler = quota.find_staff_handler(
        db_session(),
        login.token,
        now=utcnow(),
        idle=timedelta(minutes=app_config().security.session_idle_minutes),
    )
    return UploadPermit(budget=upload_limit_bytes()) if handler is not None else None


upload_route("handler.send_message", UploadRoute(permit=_reply))
upload_route("handler.record_oral_report", UploadRoute(permit=_reply))
