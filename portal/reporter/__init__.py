"""Pages for reporters. No page needs JavaScript, and none loads anything from another origin."""

from flask import Blueprint

bp = Blueprint("reporter", __name__)

from portal.reporter import (  # noqa: E402, F401  (routes register on import)
    minutes_views,
    policy_views,
    proof_views,
    upload_gate,
    views,
)
