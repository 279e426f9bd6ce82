"""The site's look as admins set it, served from the site itself: a generated stylesheet (the
CSP allows styles from 'self' only, so no inline style) and the uploaded logo."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from portal.services import site_settings
from portal.web import db_session, site_look

bp = Blueprint("site", __name__)


@bp.get("/site.css")
def stylesheet() -> Response:
    look = site_look()
    rules = []
    # Both colours matched ^#[0-9a-f]{6}$ when saved, so they cannot end the rule or add one.
    if look.accent and look.on_accent:
        rules.append(f":root {{ --accent: {look.accent}; --on-accent: {look.on_accent}; }}")
    return Response("\n".join(rules) + "\n", mimetype="text/css")


@bp.get("/site-logo.png")
def logo() -> Response:
    data = site_settings.logo(db_session())
    if data is None:
        abort(404)
    response = Response(data, mimetype="image/png")
    response.headers["Content-Disposition"] = "inline; filename=logo.png"
    return response
