"""flask commands (``storecare`` on the PATH runs them without --app)."""
from __future__ import annotations

import click
from flask import Flask


def register_cli(app: Flask) -> None:
    pass


def main() -> None:
    from flask.cli import FlaskGroup

    from plugin import create_app

    FlaskGroup(create_app=lambda: create_app()).main()
