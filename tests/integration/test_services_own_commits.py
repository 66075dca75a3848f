"""Services own the transaction; views, jobs, schedules, event handlers and commands never commit
(DESIGN.md, rules of the house). A view or a task that commits splits a use case in two: the first
half is kept when the second fails, and a service called with the session can no longer decide.

Read from the code itself (``ast``): every module of ``plugin/`` named as a way in (``views``,
``tasks``, ``cli``), and every function the app installs as one, wherever it lives. Nothing is
allowed: the list of exceptions is empty on purpose."""
from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

import click

from plugin.features import FEATURES, feature_of, load

PLUGIN = Path(__file__).resolve().parents[2] / "plugin"
WAYS_IN = ("views", "tasks", "cli")  # views.py, shopify_views.py, tasks.py, privacy_tasks.py, cli.py ...


def commits_in(source: str) -> list[int]:
    """Line numbers of ``<anything>.commit(...)`` calls."""
    return [node.lineno for node in ast.walk(ast.parse(textwrap.dedent(source)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"]


def way_in_modules() -> list[Path]:
    return sorted(path for path in PLUGIN.rglob("*.py")
                  if any(path.stem == kind or path.stem.endswith("_" + kind) for kind in WAYS_IN))


def commands(command: click.Command):
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from commands(sub)


def installed_functions(app) -> dict[str, object]:
    """Every view, job, schedule, subscriber and command callback the app's features install."""
    found = {f"view {name}": inspect.unwrap(func) for name, func in app.view_functions.items()
             if func.__module__.startswith("plugin.")}
    for package in FEATURES:
        feature = feature_of(package)
        found.update({f"job {job.name}": load(job.func) for job in feature.jobs})
        found.update({f"schedule {item.name}": load(item.func) for item in feature.schedules})
        found.update({f"subscriber {item.name}": load(item.handler) for item in feature.subscribers})
        for path in feature.commands:
            found.update({f"command {command.name}": inspect.unwrap(command.callback)
                          for command in commands(load(path)) if command.callback is not None})
    return found


def test_the_rule_reads_a_commit_where_there_is_one():
    assert commits_in("def view():\n    with db.uow() as s:\n        s.commit()\n") == [3]
    assert commits_in("def view():\n    commit = 1  # .commit( in a comment\n") == []


def test_no_module_of_views_tasks_or_commands_commits():
    modules = way_in_modules()
    assert {path.name for path in modules} >= {"views.py", "woocommerce_views.py", "tasks.py", "cli.py"}

    found = [f"{path.relative_to(PLUGIN.parent)}:{line}" for path in modules
             for line in commits_in(path.read_text(encoding="utf-8"))]

    assert found == []


def test_no_view_job_schedule_subscriber_or_command_the_app_installs_commits(app):
    functions = installed_functions(app)
    assert {"view woocommerce_connect.landing", "job sync.backfill", "command backfill"} <= set(functions)

    found = [f"{label} ({importlib.import_module(func.__module__).__name__}:{func.__name__})"
             for label, func in functions.items() if commits_in(inspect.getsource(func))]

    assert found == []
