"""The key handover's first call with the new keys, and what the merchant is told when it fails. If we
answer WooCommerce anything but 200 it deletes the key and shows the merchant only its own generic
error; so a failure is recorded on the pending connection, WooCommerce gets its 200 and sends the
browser to our return page, which says what failed (a certificate, a redirect, an address inside our
network, no answer, no WooCommerce data, the keys refused) and which unused key the merchant may delete."""
from __future__ import annotations

import pytest
import requests
import trustme
from sqlalchemy import select

from plugin.shops.models import PendingConnection, Shop
from tests.contract.woocommerce_kit import KEY, LocalWooServer, build_store
from tests.woocommerce_support import (  # noqa: F401 (fixtures)
    NAME,
    PUBLIC,
    connect,
    count,
    handover,
    names,
    production,
    running,
    simulator,
    start,
    token_of,
)


def test_a_store_resolving_inside_our_network_at_the_handover_is_refused_though_it_was_public_at_the_start(
        production, names):
    with LocalWooServer() as server, running(production()) as app:
        store = server.add(build_store(server.url(NAME), seed=32, orders=3, customers=1))
        client = app.test_client()
        names.records = {NAME: [PUBLIC]}
        token = token_of(start(client, store.base_url))
        names.records = {NAME: ["127.0.0.1"]}  # DNS rebinding: the same name, now an internal address

        answer = client.post("/connect/woocommerce/callback", json=handover(token))
        landing = client.get(f"/connect/woocommerce/return?success=1&user_id={token}")

        assert answer.status_code == 200 and answer.json["status"] == "not_connected"
        assert store.requests == [] and count(app.extensions["storecare.db"], Shop) == 0
        assert landing.status_code == 400 and "leads into a private network" in landing.text


def test_a_store_that_redirects_system_status_to_an_internal_address_is_refused_at_the_handover(
        production, names, simulator):
    names.records = {"shop.woo.test": [PUBLIC]}  # only resolved at the start: responses answers the calls
    store = simulator.add(build_store("https://shop.woo.test", seed=34, orders=3, customers=1))
    store.redirect = lambda path, query: "http://169.254.169.254/latest/meta-data/" if "system_status" in path else None
    internal = simulator._mock.get("http://169.254.169.254/latest/meta-data/", body="credentials")
    with running(production()) as app:
        answer, landing = connect(app.test_client(), store.base_url)

        assert answer.status_code == 200 and answer.json["status"] == "not_connected"
        assert internal.call_count == 0 and count(app.extensions["storecare.db"], Shop) == 0
        assert landing.status_code == 400
        assert "redirects Storecare&#39;s requests elsewhere (http://169.254.169.254/latest/meta-data/)" in landing.text


def test_a_store_redirecting_to_https_tells_the_merchant_the_address_to_connect_with(client, db, simulator):
    store = simulator.add(build_store("http://shop.woo.test", seed=35, orders=3, customers=1))
    store.redirect = lambda path, query: f"https://shop.woo.test/wp-json/{path}"

    answer, landing = connect(client, store.base_url)

    assert answer.json["status"] == "not_connected" and count(db, Shop) == 0
    assert "Connect again with the address your store uses: https://shop.woo.test" in landing.text


# -- item 10: what the merchant is told when the first call with the keys fails ---------------------

@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def test_a_store_whose_certificate_cannot_be_verified_is_explained_and_the_operators_ca_bundle_fixes_it(
        settings_with, names, authority, tmp_path):
    names.records = {NAME: ["127.0.0.1"]}
    bundle = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with LocalWooServer(tls=authority.issue_cert(NAME)) as server:
        store = server.add(build_store(server.url(NAME), seed=37, orders=3, customers=1))
        with running(settings_with(woocommerce_resolver=names)) as app:
            answer, landing = connect(app.test_client(), store.base_url)
            _, polish_landing = connect(app.test_client(), store.base_url, **{"Accept-Language": "pl"})
            assert count(app.extensions["storecare.db"], Shop) == 0

        assert answer.status_code == 200 and answer.json["status"] == "not_connected"  # not "bad keys"
        assert landing.status_code == 400
        assert "security certificate could not be verified (unable to get local issuer certificate)" in landing.text
        assert f"consumer key ending in {KEY[-7:]}" in landing.text
        assert "Nie udało się zweryfikować certyfikatu bezpieczeństwa" in polish_landing.text
        assert store.requests == []

        with running(settings_with(woocommerce_resolver=names, woocommerce_ca_bundle=str(bundle))) as app:
            answer, landing = connect(app.test_client(), store.base_url)
            assert answer.json["status"] == "connected" and landing.status_code == 302
            with app.extensions["storecare.db"].uow() as session:  # the same database as the refused tries
                assert sorted(session.scalars(select(PendingConnection.status))) == ["connected", "failed", "failed"]
                assert session.scalars(select(Shop.domain)).all() == [f"{NAME}:{server.port}"]


@pytest.mark.parametrize(("breaks", "says"), [
    (lambda store: setattr(store, "theme_page", 404), "WooCommerce REST API was not found"),  # Plain permalinks
    (lambda store: setattr(store, "theme_page", 200), "did not answer with WooCommerce data"),
    (lambda store: setattr(store, "fail_with", requests.ReadTimeout("slow")), "did not answer in time"),
    (lambda store: setattr(store, "fail_with", requests.ConnectionError("refused")), "could not reach your store"),
    (lambda store: setattr(store, "fail_next", 1), "answered with an error"),
])
def test_each_failed_verification_is_explained_to_the_merchant(client, db, simulator, breaks, says):
    store = simulator.add(build_store("https://shop.woo.test", seed=38, orders=3, customers=1))
    breaks(store)

    answer, landing = connect(client, store.base_url)

    assert answer.status_code == 200 and answer.json["status"] == "not_connected"
    assert landing.status_code == 400 and says in landing.text and count(db, Shop) == 0
