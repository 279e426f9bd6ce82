"""Pages for handlers: sign-in, the inbox and the case."""

from flask import Blueprint

bp = Blueprint("handler", __name__, url_prefix="/staff")

from portal.handler import auth_views  # noqa: E402, F401  (routes register on import)
from portal.handler import case_views  # noqa: E402, F401
