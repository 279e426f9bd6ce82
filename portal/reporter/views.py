from __future__ import annotations

from flask import render_template

from portal.reporter import bp


@bp.get("/")
def landing() -> str:
    return render_template("reporter/landing.html")
