"""Pages for admins: staff accounts, site texts, and who receives which category."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portal.admin import (  # noqa: E402, F401  (routes register on import)
    committee_views,
    escrow_views,
    identity_views,
    policy_edit_views,
    policy_views,
    retention_views,
    site_views,
    template_views,
    training_views,
    views,
)
