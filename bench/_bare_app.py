"""The yardstick of bench_load.py: a bare Flask page with a Flask-WTF form (CSRF token in the
session, a few fields, a template), served by gunicorn with the same gunicorn.conf.py as the site.

Run by bench_load.py as ``gunicorn --config gunicorn.conf.py --chdir bench _bare_app:app``.
"""

from __future__ import annotations

import secrets

from flask import Flask, render_template_string
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bare form</title></head>
<body><main><h1>Report</h1>
<form method="post" action="/">
  {{ form.csrf_token }}
  <p>{{ form.category.label }} {{ form.category() }}</p>
  <p>{{ form.tier.label }} {{ form.tier() }}</p>
  <p>{{ form.title.label }} {{ form.title() }}</p>
  <p>{{ form.body.label }} {{ form.body() }}</p>
  <p><button type="submit">Send</button></p>
</form></main></body></html>
"""


class BareForm(FlaskForm):
    category = SelectField("Category", choices=[("a", "One"), ("b", "Two"), ("c", "Three")])
    tier = RadioField("Tier", choices=[("1", "Now"), ("2", "Soon"), ("3", "No")], default="3")
    title = StringField("Title")
    body = TextAreaField("What happened?")


app = Flask(__name__)
app.config["SECRET_KEY"] = secrets.token_urlsafe(32)


@app.route("/", methods=["GET", "POST"])
def page() -> str:
    form = BareForm()
    form.validate_on_submit()
    return render_template_string(PAGE, form=form)
