"""flask commands. ``storecare`` on the PATH runs them against create_app() without --app."""
from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from plugin.admin.cli import admin_cli
    from plugin.jobs.cli import jobs_cli
    from plugin.migrate import db_cli
    from plugin.sandbox_cli import sandbox_cli
    from plugin.shops.privacy_cli import privacy_cli
    from plugin.sync.cli import sync_cli
    from plugin.worker import worker_command

    for command in (admin_cli, db_cli, jobs_cli, sandbox_cli, sync_cli, worker_command):
        app.cli.add_command(command)
    app.cli.add_command(privacy_cli)


def main() -> None:
    from flask.cli import FlaskGroup

    from plugin import create_app

    FlaskGroup(create_app=lambda: create_app()).main()
