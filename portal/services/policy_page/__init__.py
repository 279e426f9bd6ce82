"""The published policy: the page, its PDF and its flowchart, written from the policies the
clock runs and the site's configuration, so that what the organisation publishes can never
disagree with what the site enforces.

- ``texts``: the sections only people can write, with their built-in defaults (site texts).
- ``content``: every section's facts, read from the active policies and the settings.
- ``flowchart``: the handling process drawn as SVG from the same facts, with its text.
- ``document``: the same page as a PDF.

This package's ``__init__`` imports nothing, so that ``sitetext`` can read ``texts`` without a
circle.
"""
