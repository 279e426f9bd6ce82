"""The statistics page: who may see it, its charts beside their tables, the CSV and the PDF."""

from __future__ import annotations

import csv
import io
import re

import pypdf
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy.orm import Session

from tests.factories import make_admin, make_handler, sign_in_as
from tests.portal.services.test_statistics import seed
from tests.portal.test_reporter_web import file_report, sign_in

Q1 = "start=2026-01-01&end=2026-03-31"


def signed_in(app: Flask, db: Session, admin: bool = False) -> FlaskClient:
    client = app.test_client()
    sign_in_as(client, db, make_admin(db) if admin else make_handler(db, "hanna"))
    return client


def test_handler_sees_each_chart_with_its_table(app: Flask, db: Session) -> None:
    seed(db)
    client = signed_in(app, db)
    inbox = client.get("/staff/inbox").get_data(as_text=True)
    assert 'href="/staff/statistics"' in inbox
    response = client.get(f"/staff/statistics?{Q1}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Reports received from 1 January 2026 to 31 March 2026" in page
    assert "<script" not in page
    charts = re.findall(r'<svg class="stats-chart" role="img" aria-labelledby="([^"]+)"', page)
    assert len(charts) == 8 and page.count('<table class="stats-table"') == 8
    for label in charts:
        assert f'<title id="{label}">' in page
    # Each chart is well-formed SVG, drawn with attributes only (the CSP allows no inline style).
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        assert etree.fromstring(svg.encode()).tag == "{http://www.w3.org/2000/svg}svg"
        assert "style=" not in svg
    # The chart and its table say the same: February had one fraud and one safety report.
    assert "<title>Feb 2026, Fraud: 1</title>" in page
    assert re.search(r"<th scope=\"row\">Feb 2026</th><td>1</td><td>1</td>", page)
    assert (
        '<th scope="row">Acknowledgement</th><td>4.0</td><td>6.0</td><td>3</td><td>1</td>' in page
    )
    assert '<th scope="row">Came back</th><td>3</td><td>75.0%</td>' in page
    assert "4 reports received in the period." in page


def test_admin_sees_it_too_and_a_bad_range_falls_back(app: Flask, db: Session) -> None:
    client = signed_in(app, db, admin=True)
    page = client.get("/staff/statistics?start=2026-03-01&end=2026-01-01").get_data(as_text=True)
    assert "The end of the date range is before its start." in page
    assert "The last 12 months are shown." in page
    page = client.get("/staff/statistics?start=yesterday").get_data(as_text=True)
    assert "Enter each date as year-month-day" in page
    assert client.get("/staff/statistics").status_code == 200


def test_reporters_and_anonymous_visitors_are_refused(
    client: FlaskClient, app: Flask, db: Session
) -> None:
    make_handler(db, "hanna")
    paths = (
        "/staff/statistics",
        "/staff/statistics.csv?figure=by-tier",
        "/staff/statistics/annual-report?year=2026",
    )
    for path in paths:
        response = app.test_client().get(path)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]
    # A reporter signed in to their own case is no staff member.
    code, passphrase = file_report(client)
    assert sign_in(client, code, passphrase).status_code == 302  # type: ignore[attr-defined]
    assert client.get("/case").status_code == 200
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_csv_download(app: Flask, db: Session) -> None:
    seed(db)
    client = signed_in(app, db)
    response = client.get(f"/staff/statistics.csv?figure=by-tier&{Q1}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[1] == ["Month", "Tier 1 (critical)", "Tier 2 (high)", "Tier 3 (other)"]
    assert rows[2:] == [
        ["Jan 2026", "1", "0", "0"],
        ["Feb 2026", "0", "1", "1"],
        ["Mar 2026", "0", "0", "1"],
    ]
    assert client.get(f"/staff/statistics.csv?figure=nothing&{Q1}").status_code == 404
    assert client.get("/staff/statistics.csv?figure=by-tier&start=x").status_code == 400


def test_annual_report_download(app: Flask, db: Session) -> None:
    seed(db)
    client = signed_in(app, db)
    response = client.get("/staff/statistics/annual-report?year=2026")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Test Organisation" in text and "Annual report on the reporting channel, 2026" in text
    assert "5 reports received in the period." in text
    assert client.get("/staff/statistics/annual-report?year=abc").status_code == 400
    assert client.get("/staff/statistics/annual-report?year=1900").status_code == 400
