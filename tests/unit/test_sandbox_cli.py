"""``storecare sandbox ...``: the commands a demo is driven with."""
from __future__ import annotations

import threading

import pytest
from flask import Flask
from werkzeug.serving import make_server

from adapters.base import Connection
from adapters.sandbox import SandboxAdapter, SandboxStore
from plugin.sandbox_cli import sandbox_cli
from plugin.settings import Settings

SHOP = "cli.sandbox.test"


@pytest.fixture
def app(tmp_path) -> Flask:
    """Only what the commands read: the settings naming the sandbox file (no database needed)."""
    app = Flask("sandbox-cli-test")
    app.config["STORECARE_SETTINGS"] = Settings(env="test", sandbox_path=str(tmp_path / "var" / "sandbox.db"),
                                                database_url="sqlite://").validated()
    return app


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(sandbox_cli, list(args))

    return run


@pytest.fixture
def seeded(run):
    result = run("seed", "--shop", SHOP, "--customers", "12", "--orders", "60", "--currency", "USD")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def receiver_url():
    """A real HTTP endpoint answering 200, so the commands' default sender is exercised end to end."""
    hooks = Flask("hooks")
    hooks.add_url_rule("/hooks", "hooks", lambda: ("", 200), methods=["POST"])
    server = make_server("127.0.0.1", 0, hooks, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def first_email(run) -> str:
    return run("customers", "--shop", SHOP, "--limit", "1").output.split()[1]


def test_seed_reports_what_it_wrote_into_the_configured_file(app, seeded):
    assert "Seeded cli.sandbox.test (USD)" in seeded.output
    assert "12 customers, 60 orders" in seeded.output
    assert SandboxStore(app.config["STORECARE_SETTINGS"].sandbox_path).has_shop(SHOP)


def test_seeding_twice_is_refused_unless_replaced(run, seeded):
    again = run("seed", "--shop", SHOP, "--customers", "2", "--orders", "3")
    replaced = run("seed", "--shop", SHOP, "--customers", "2", "--orders", "3", "--replace")

    assert again.exit_code == 1 and "already seeded" in again.output and "--replace" in again.output
    assert replaced.exit_code == 0 and "2 customers, 3 orders" in replaced.output


def test_customers_lists_the_most_loyal_first(run, seeded):
    lines = run("customers", "--shop", SHOP, "--limit", "3").output.strip().splitlines()

    counts = [int(line.split()[-2]) for line in lines]
    assert len(lines) == 3 and counts == sorted(counts, reverse=True)


def test_an_order_refund_fulfilment_and_cancellation_from_the_command_line(run, seeded):
    placed = run("order", "--shop", SHOP, "--customer", first_email(run), "--items", "3")
    guest = run("order", "--shop", SHOP, "--guest", "--items", "1")
    refunded = run("refund", "--shop", SHOP, "1061", "--amount", "1.50", "--reason", "Scratched")
    fulfilled = run("fulfil", "--shop", SHOP, "#1061")
    cancelled = run("cancel", "--shop", SHOP, "1062", "--reason", "inventory")

    assert "Placed order #1061" in placed.output and placed.output.count(" x ") == 3
    assert "Placed order #1062" in guest.output and "guest-1062@example.net" in guest.output
    assert "partially_refunded" in refunded.output and "refunded 1.50" in refunded.output
    assert "Fulfilled order #1061" in fulfilled.output and "fulfilled" in fulfilled.output
    assert "cancelled (inventory)" in cancelled.output
    assert "nothing was delivered" in placed.output
    assert "#1062" in run("orders", "--shop", SHOP, "--limit", "2").output
    deleted = run("delete", "--shop", SHOP, "1062")
    assert "Deleted order #1062" in deleted.output and "#1062" not in run("orders", "--shop", SHOP).output


def test_webhook_deliveries_are_printed_and_listed(app, run, seeded, receiver_url):
    path = app.config["STORECARE_SETTINGS"].sandbox_path
    SandboxAdapter(Connection(shop_domain=SHOP), path).subscribe_webhooks(
        receiver_url, ["orders/create", "orders/paid"], "cli-secret")

    placed = run("order", "--shop", SHOP, "--guest")
    listed = run("deliveries", "--shop", SHOP)

    assert f"orders/create     -> {receiver_url}  200 ok, attempt 1" in placed.output
    assert f"orders/paid       -> {receiver_url}  200 ok, attempt 1" in placed.output
    assert listed.output.count("200 ok") == 2


@pytest.mark.parametrize(("args", "message"), [
    (("refund", "--shop", "nowhere.test", "1001"), "unknown shop"),
    (("fulfil", "--shop", SHOP, "9999"), "no order #9999"),
    (("order", "--shop", SHOP, "--customer", "nobody@example.com"), "no customer with email nobody@"),
    (("refund", "--shop", SHOP, "1001", "--amount", "lots"), "is not an amount"),
    (("refund", "--shop", SHOP, "abc"), "is not an order number"),
    (("order", "--shop", SHOP), "exactly one of --customer EMAIL or --guest"),
    (("deliveries", "--shop", "nowhere.test"), "Seed it first"),
])
def test_mistakes_get_a_friendly_message_not_a_traceback(run, seeded, args, message):
    result = run(*args)

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
