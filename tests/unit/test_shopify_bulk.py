"""The bulk export of orders: start, poll, and the JSONL read back in file order, children attached."""
from __future__ import annotations

import glob
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses

from adapters.base import Connection
from adapters.errors import AdapterError, InvalidPayload, RateLimited, Transient
from adapters.shopify import mapping
from adapters.shopify.adapter import ShopifyAdapter
from plugin.http import make_session
from tests.contract.shopify_simulator import STORAGE, FakeTime, ShopifySimulator
from tests.contract.shopify_store import build_shop

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SHOP, TOKEN = "bulk-shop.myshopify.com", "shpat_bulk"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify" / "graphql"
FILE_URL = STORAGE + "fixture.jsonl"


def make_simulator(layout: str = "grouped", polls: int = 1) -> ShopifySimulator:
    simulator = ShopifySimulator(bulk_polls=polls, bulk_layout=layout)
    simulator.add_shop(build_shop(SHOP, TOKEN, seed=5, orders=25, customers=5, id_base=0, now=NOW))
    return simulator


def make_adapter() -> ShopifyAdapter:
    time = FakeTime()
    return ShopifyAdapter(Connection(SHOP, {"access_token": TOKEN}), make_session(),
                          sleep=time.sleep, clock=time.clock)


def every_order(adapter: ShopifyAdapter) -> list:
    orders, cursor = [], None
    while True:
        page = adapter.list_orders(cursor=cursor, limit=250)
        orders += page.items
        if page.is_last:
            return orders
        cursor = page.next_cursor


def spill_files() -> set[str]:
    return set(glob.glob(str(Path(tempfile.gettempdir()) / "storecare-bulk-*")))


@pytest.mark.parametrize("layout", ["grouped", "parents_first"])
def test_an_export_yields_every_order_as_the_api_returns_it(layout):
    simulator, adapter = make_simulator(layout), make_adapter()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)

        operation = adapter.start_bulk_orders()
        running = adapter.bulk_status(operation)
        done = adapter.bulk_status(operation)
        exported = list(adapter.iter_bulk_orders(done.url))
        listed = every_order(adapter)

    assert operation.startswith("gid://shopify/BulkOperation/")
    assert (running.state, running.url) == ("running", None)
    assert (done.state, done.status) == ("completed", "COMPLETED") and done.url
    assert exported == listed  # same orders, same order, every line item attached


def test_skip_resumes_after_the_orders_already_done():
    simulator, adapter = make_simulator(polls=0), make_adapter()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        simulator.install(mock)
        url = adapter.bulk_status(adapter.start_bulk_orders()).url

        everything = list(adapter.iter_bulk_orders(url))
        rest = list(adapter.iter_bulk_orders(url, skip=20))

    assert rest == everything[20:] and len(rest) == 5


@responses.activate
def test_children_are_attached_to_their_parent_wherever_they_appear_in_the_file():
    responses.add(responses.GET, FILE_URL, body=(FIXTURES / "bulk-orders.jsonl").read_bytes())

    first, second = make_adapter().iter_bulk_orders(FILE_URL)

    assert [item.platform_id for item in first.line_items] == ["15437789217081", "15437789249849"]
    assert [item.title for item in second.line_items] == ["Tea tin"] and second.customer is None
    node = json.loads((FIXTURES / "order.json").read_text())["data"]["order"]
    assert first == mapping.order_from_graphql(node)  # the export reads like the API


@responses.activate
def test_the_download_carries_no_access_token():
    responses.add(responses.GET, FILE_URL, body=b"")

    assert list(make_adapter().iter_bulk_orders(FILE_URL)) == []
    assert "X-Shopify-Access-Token" not in responses.calls[0].request.headers


@responses.activate
def test_the_spill_file_is_removed_when_the_reader_stops_early():
    responses.add(responses.GET, FILE_URL, body=(FIXTURES / "bulk-orders.jsonl").read_bytes())
    before = spill_files()

    orders = make_adapter().iter_bulk_orders(FILE_URL)
    next(orders)
    assert spill_files() - before  # in use while reading
    orders.close()

    assert spill_files() == before


@pytest.mark.parametrize(("status", "error"), [(403, AdapterError), (503, Transient)])
@responses.activate
def test_a_download_that_fails_says_whether_a_retry_can_help(status, error):
    responses.add(responses.GET, FILE_URL, status=status)

    with pytest.raises(error) as raised:
        list(make_adapter().iter_bulk_orders(FILE_URL))

    assert isinstance(raised.value, Transient) == (status == 503)


@responses.activate
def test_a_line_that_is_not_json_is_invalid():
    responses.add(responses.GET, FILE_URL, body=b'{"id":"gid://shopify/Order/1"\n')

    with pytest.raises(InvalidPayload, match="not JSON"):
        list(make_adapter().iter_bulk_orders(FILE_URL))


@pytest.mark.parametrize(("code", "error"), [("OPERATION_IN_PROGRESS", RateLimited),
                                             ("INVALID", AdapterError)])
@responses.activate
def test_an_export_shopify_will_not_start_raises_by_whether_waiting_helps(code, error):
    responses.add(responses.POST, f"https://{SHOP}/admin/api/2026-10/graphql.json", json={"data": {
        "bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
            {"field": ["query"], "code": code,
             "message": "A bulk query operation for this app and shop is already in progress"}]}}})

    with pytest.raises(error, match="already in progress") as raised:
        make_adapter().start_bulk_orders()

    assert raised.value.transient == (error is RateLimited)
