"""/favicon.ico: the Storecare mark for browsers that ask the root for it, whatever a page links.

Pages link static/favicon.svg (sharp at every size) and /favicon.ico (for browsers without SVG icons).
The ICO holds the same mark at 16, 32 and 48 px as PNG entries, drawn by Chromium from the SVG.
"""
from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("favicon", __name__)
MAX_AGE = 7 * 24 * 3600  # its address carries no version: a new mark reaches browsers within a week


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(current_app.static_folder or "", "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=MAX_AGE)
