"""Candor: an anonymous whistleblower and complaints reporting portal."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from portal.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config) -> Flask:
    """Build the application for ``config``; every resource it needs hangs off the app."""
    # The static route is added below, once automatic OPTIONS answers are off.
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"), static_folder=None)
    app.config.update(
        SECRET_KEY=config.site.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.site.base_url.startswith("https://"),
        # Bodies up to twice the upload limit are read, so that a form whose files are too large
        # comes back with everything typed and a clear message; beyond that the request is refused.
        MAX_CONTENT_LENGTH=2 * config.storage.max_upload_mb * 1024 * 1024 + 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        # Flask-WTF's HTTPS check wants a Referer, which our Referrer-Policy (no-referrer) keeps
        # browsers from sending, so over HTTPS every form would fail. Forged posts are still
        # refused by the CSRF token and the SameSite=Strict cookie.
        WTF_CSRF_SSL_STRICT=False,
        # OPTIONS is answered with 405 like any other method a route does not take: the site
        # has no cross-origin callers to serve, and every answer then goes through one path.
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.static_folder = str(PROJECT_ROOT / "static")
    app.add_url_rule(
        f"{app.static_url_path}/<path:filename>", endpoint="static", view_func=app.send_static_file
    )
    app.extensions["candor.config"] = config

    from portal import cli, web
    from portal.admin import bp as admin_bp
    from portal.handler import bp as handler_bp
    from portal.reporter import bp as reporter_bp
    from portal.site_assets import bp as site_bp

    web.init_app(app, config)
    cli.init_app(app)
    app.register_blueprint(reporter_bp)
    app.register_blueprint(handler_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(site_bp)
    return app
