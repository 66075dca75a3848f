"""flask commands. ``storecare`` on the PATH runs them against create_app() without --app."""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """The core's commands; each feature adds its own (plugin/features.py)."""
    from plugin.jobs.cli import jobs_cli
    from plugin.migrate import db_cli
    from plugin.worker import worker_command

    for command in (db_cli, jobs_cli, worker_command):
        app.cli.add_command(command)


def main() -> None:
    from flask.cli import FlaskGroup

    from plugin import create_app

    FlaskGroup(create_app=lambda: create_app()).main()
