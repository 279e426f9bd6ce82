"""Entry point for gunicorn and `flask --app wsgi`: reads the file named by CANDOR_CONFIG."""

from portal import create_app
from portal.config import load_config

app = create_app(load_config())
