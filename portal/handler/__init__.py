"""Pages for handlers: sign-in, the inbox and the case."""

from flask import Blueprint

bp = Blueprint("handler", __name__, url_prefix="/staff")

# Routes register on import.
from portal.handler import approval_views, auth_views, case_views, upload_gate  # noqa: E402, F401
