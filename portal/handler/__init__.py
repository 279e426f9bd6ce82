"""Pages for handlers: sign-in, the inbox and the case."""

from flask import Blueprint

bp = Blueprint("handler", __name__, url_prefix="/staff")

# Routes register on import.
from portal.handler import (  # noqa: E402, F401
    approval_views,
    auth_views,
    case_views,
    escrow_views,
    export_views,
    identity_views,
    notify_views,
    oral_views,
    proof_views,
    redaction_views,
    retention_views,
    statistics_views,
    template_views,
    upload_gate,
)
