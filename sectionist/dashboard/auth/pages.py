"""The server-rendered pages of this package (login, users, playlist links): :func:`render_page`."""

from __future__ import annotations

from pathlib import Path

import flask

#: The folder of the pages' Jinja templates.
TEMPLATES = Path(__file__).parent / "templates"


def render_page(name: str, status: int = 200, **context):
    """The template ``name`` of :data:`TEMPLATES` rendered with ``context``, never cached (the pages
    show account data)."""
    text = (TEMPLATES / name).read_text()
    resp = flask.make_response(flask.render_template_string(text, **context), status)
    resp.headers["Cache-Control"] = "no-store"
    return resp
