"""Expiring offline tokens, on SQLite and PostgreSQL: refreshed five minutes before expiry, one refresher
at a time, surviving a lost refresh response, and re-authorisation when Shopify refuses. The token
endpoint and the Admin API are played with ``responses``."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
import responses
from huey.exceptions import RetryTask
from sqlalchemy import event

from adapters.errors import AuthRevoked, Transient
from adapters.shopify.oauth import OfflineToken
from plugin.jobs.models import JobRun
from plugin.shops import service as shops
from plugin.shops.models import Shop
from plugin.shops.shopify import SUBSCRIBE_JOB, ensure_fresh_token, refresh_after_401
from plugin.sync.models import Customer
from tests.factories import make_shop
from tests.shopify_auth_support import CLIENT_ID, SECRET, SHOP, FakeAdminApi, granted, shopify_app, token_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(settings_with):
    yield from shopify_app(settings_with)


@pytest.fixture
def shopify():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def stored_shop(db, expires_at=NOW + timedelta(hours=1), refresh_expires_at=NOW + timedelta(days=90),
                access="shpat_old", refresh="shprt_old") -> int:
    with db.uow() as session:
        shop = make_shop(session, domain=SHOP, platform="shopify", scopes=["read_orders"])
        token = OfflineToken(access, ("read_orders",), expires_at, refresh, refresh_expires_at)
        shops.store_credentials(shop, {**token.as_credentials(), "webhook_secret": "kept"})
        session.commit()
        return shop.id


def reload(db, shop_id) -> Shop:
    with db.uow() as session:
        return session.get(Shop, shop_id)


def refresh_calls(mock) -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls if c.request.url == token_url()]


def fresh_tokens(db, shop_id, now=NOW):
    with db.uow() as session:
        return ensure_fresh_token(session, session.get(Shop, shop_id), now=now)


def test_a_token_with_more_than_five_minutes_left_is_used_as_it_is(db, shopify):
    shop_id = stored_shop(db, expires_at=NOW + timedelta(minutes=5, seconds=1))
    assert fresh_tokens(db, shop_id)["access_token"] == "shpat_old"
    assert refresh_calls(shopify) == []


def test_a_token_expiring_within_five_minutes_is_refreshed_and_stored_encrypted(db, shopify):
    shop_id = stored_shop(db, expires_at=NOW + timedelta(minutes=4))
    shopify.post(token_url(), json=granted(access="shpat_new", refresh="shprt_new", scope=""))

    values = fresh_tokens(db, shop_id)

    assert refresh_calls(shopify) == [{"client_id": CLIENT_ID, "client_secret": SECRET,
                                       "grant_type": "refresh_token", "refresh_token": "shprt_old"}]
    assert values["access_token"] == "shpat_new"
    shop = reload(db, shop_id)
    stored = shops.credentials(shop)
    assert (stored["access_token"], stored["refresh_token"]) == ("shpat_new", "shprt_new")
    assert OfflineToken.from_credentials(stored).expires_at == NOW + timedelta(hours=1)
    assert stored["scope"] == "read_orders" and stored["webhook_secret"] == "kept"
    assert "shpat_new" not in shop.credentials_encrypted


def test_a_legacy_token_without_expiry_is_never_refreshed(db, shopify):
    shop_id = stored_shop(db, expires_at=None, refresh_expires_at=None, refresh=None)
    assert fresh_tokens(db, shop_id, now=NOW + timedelta(days=400))["access_token"] == "shpat_old"
    assert refresh_calls(shopify) == []


@pytest.mark.parametrize("answer", [dict(body=requests.ReadTimeout("lost")), dict(status=503, body="busy")])
def test_a_lost_refresh_keeps_the_old_tokens_and_the_retry_with_the_old_refresh_token_works(db, shopify, answer):
    shop_id = stored_shop(db, expires_at=NOW + timedelta(minutes=1))
    before = reload(db, shop_id).credentials_encrypted
    shopify.post(token_url(), **answer)

    with pytest.raises(Transient):
        fresh_tokens(db, shop_id)

    shop = reload(db, shop_id)
    assert shop.credentials_encrypted == before and shop.needs_reauth is False
    # Shopify keeps the previous refresh token usable until the new one is used: the retry sends it again.
    shopify.replace(responses.POST, token_url(), json=granted(access="shpat_new", refresh="shprt_new"))
    assert fresh_tokens(db, shop_id)["access_token"] == "shpat_new"
    assert [call["refresh_token"] for call in refresh_calls(shopify)] == ["shprt_old", "shprt_old"]


def test_a_refused_refresh_token_on_the_retry_marks_the_shop_for_reauthorisation(db, shopify):
    shop_id = stored_shop(db, expires_at=NOW + timedelta(minutes=1))
    before = reload(db, shop_id).credentials_encrypted
    shopify.post(token_url(), body=requests.ConnectTimeout("lost"))
    with pytest.raises(Transient):
        fresh_tokens(db, shop_id)
    shopify.replace(responses.POST, token_url(), status=400, json={"error": "invalid_grant"})

    with pytest.raises(AuthRevoked):
        fresh_tokens(db, shop_id)

    shop = reload(db, shop_id)
    assert shop.needs_reauth is True and shop.credentials_encrypted == before
    with pytest.raises(AuthRevoked):  # no more calls to Shopify for this shop
        fresh_tokens(db, shop_id)
    assert len(refresh_calls(shopify)) == 2


def test_an_expired_refresh_token_needs_reauthorisation_without_asking_shopify(db, shopify):
    shop_id = stored_shop(db, expires_at=NOW - timedelta(hours=2), refresh_expires_at=NOW - timedelta(minutes=1))
    with pytest.raises(AuthRevoked):
        fresh_tokens(db, shop_id)
    assert reload(db, shop_id).needs_reauth is True and refresh_calls(shopify) == []


def test_a_job_that_meets_a_lost_refresh_is_retried_and_then_fails_on_a_refused_token(app, db, queue, shopify):
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(minutes=2))
    with db.uow() as session:
        run = queue.enqueue(session, SUBSCRIBE_JOB, {"shop_id": shop_id}, shop_id=shop_id)
        session.commit()
    shopify.post(token_url(), body=requests.ReadTimeout("lost"))
    with pytest.raises(RetryTask):  # the queue schedules the retry with backoff
        queue.run_job(run.id)
    assert reload(db, shop_id).needs_reauth is False
    shopify.replace(responses.POST, token_url(), status=400, json={"error": "invalid_grant"})
    assert queue.run_job(run.id) == "failed"
    with db.uow() as session:
        assert session.get(JobRun, run.id).last_error.startswith("GrantRefused")
    assert reload(db, shop_id).needs_reauth is True


def test_concurrent_refreshers_spend_the_refresh_token_once(app, db, shopify):
    shop_id = stored_shop(db, expires_at=NOW + timedelta(minutes=1))
    inside, release = threading.Event(), threading.Event()

    def answer(_request):
        inside.set()
        release.wait(10)
        return 200, {}, json.dumps(granted(access="shpat_new", refresh="shprt_new"))

    shopify.add_callback(responses.POST, token_url(), callback=answer)
    results, errors = [], []

    def refresher():
        try:
            with app.app_context():
                results.append(fresh_tokens(db, shop_id)["access_token"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first, second = threading.Thread(target=refresher), threading.Thread(target=refresher)
    waiting = threading.Event()

    def lock_asked(_conn, _cursor, statement, _parameters, _context, _executemany):
        # The refresh's row lock: SELECT ... FOR UPDATE on PostgreSQL, a no-op UPDATE on SQLite.
        if threading.current_thread() is second and "shops" in statement and (
                "FOR UPDATE" in statement or statement.lstrip().upper().startswith("UPDATE")):
            waiting.set()

    event.listen(db.engine, "before_cursor_execute", lock_asked)
    try:
        first.start()
        assert inside.wait(10)
        second.start()
        # The second refresher asks for the shop's row while the first holds it (a second refresher that
        # posted without waiting for the row would block in the token endpoint instead, and fail here).
        assert waiting.wait(10)
        release.set()
        first.join(20)
        second.join(20)
    finally:
        release.set()
        event.remove(db.engine, "before_cursor_execute", lock_asked)
    assert errors == [] and results == ["shpat_new", "shpat_new"]
    assert len(refresh_calls(shopify)) == 1


# -- a 401 from the Admin API: refresh once, then re-authorisation ------------------------------------

def test_a_401_refreshes_once_even_before_expiry(db, shopify):
    shop_id = stored_shop(db)
    shopify.post(token_url(), json=granted(access="shpat_new"))
    with db.uow() as session:
        values = refresh_after_401(session, session.get(Shop, shop_id), "shpat_old", now=NOW)
    assert values["access_token"] == "shpat_new" and len(refresh_calls(shopify)) == 1


def test_a_401_for_a_token_another_worker_already_replaced_does_not_refresh_again(db, shopify):
    shop_id = stored_shop(db, access="shpat_current")
    with db.uow() as session:
        values = refresh_after_401(session, session.get(Shop, shop_id), "shpat_older", now=NOW)
    assert values["access_token"] == "shpat_current" and refresh_calls(shopify) == []


def test_a_401_whose_refresh_is_refused_needs_reauthorisation(db, shopify):
    shop_id = stored_shop(db)
    shopify.post(token_url(), status=401, json={"error": "invalid_client"})
    with db.uow() as session, pytest.raises(AuthRevoked):
        refresh_after_401(session, session.get(Shop, shop_id), "shpat_old", now=NOW)
    assert reload(db, shop_id).needs_reauth is True


def admin_api(shopify, refuse=()):
    api = FakeAdminApi(refuse_tokens=set(refuse))
    api.install(shopify, SHOP)
    return api


def count_orders(adapter):
    return adapter.count_orders()


def test_adapter_for_refreshes_before_building_the_adapter(db, shopify):
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(minutes=1))
    shopify.post(token_url(), json=granted(access="shpat_new"))
    with db.uow() as session:
        adapter = shops.adapter_for(session.get(Shop, shop_id))
    assert adapter.connection.credentials["access_token"] == "shpat_new"


def test_a_shops_adapter_retries_once_with_a_refreshed_token(db, shopify):
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(hours=1))
    api = admin_api(shopify, refuse={"shpat_old"})
    shopify.post(token_url(), json=granted(access="shpat_new"))
    with db.uow() as session:
        assert count_orders(shops.adapter_for(session.get(Shop, shop_id))) == 0
    assert api.tokens[SHOP] == ["shpat_old", "shpat_new"] and reload(db, shop_id).needs_reauth is False


def test_a_shops_adapter_marks_reauthorisation_when_the_new_token_is_refused_too(db, shopify):
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(hours=1))
    api = admin_api(shopify, refuse={"shpat_old", "shpat_new"})
    shopify.post(token_url(), json=granted(access="shpat_new"))
    with db.uow() as session, pytest.raises(AuthRevoked):
        count_orders(shops.adapter_for(session.get(Shop, shop_id)))
    assert api.tokens[SHOP] == ["shpat_old", "shpat_new"] and reload(db, shop_id).needs_reauth is True
    assert len(refresh_calls(shopify)) == 1


def test_one_shops_token_is_never_sent_for_another_shop(db, shopify):
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(hours=1))
    with db.uow() as session:
        other = make_shop(session, domain="other-shop.myshopify.com", platform="shopify")
        shops.store_credentials(other, {"access_token": "shpat_other"})
        session.commit()
        other_id = other.id
    api = admin_api(shopify)
    api.install(shopify, "other-shop.myshopify.com")
    with db.uow() as session:
        shops.adapter_for(session.get(Shop, shop_id)).count_orders()
        shops.adapter_for(session.get(Shop, other_id)).count_orders()
    assert api.tokens == {SHOP: ["shpat_old"], "other-shop.myshopify.com": ["shpat_other"]}


@pytest.mark.parametrize("outcome", ["rolled back", "committed"])
def test_a_refresh_neither_commits_nor_loses_the_callers_unfinished_work(db, shopify, outcome):
    """A use case asks for the adapter in the middle of its unit of work (a redemption holding its
    balance): the refresh commits itself alone, in a unit of work of its own, and the use case's work
    is still its own to commit or roll back."""
    shop_id = stored_shop(db, expires_at=datetime.now(UTC) + timedelta(minutes=1))
    shopify.post(token_url(), json=granted(access="shpat_new", refresh="shprt_new"))

    with db.uow() as session:
        shop = session.get(Shop, shop_id)
        shop.name = "Renamed by the use case"
        session.add(Customer(shop_id=shop_id, platform_id="77", email="anna@example.com"))

        adapter = shops.adapter_for(shop)

        assert adapter.connection.credentials["access_token"] == "shpat_new"
        with db.uow() as elsewhere:  # the refresh is stored; nothing of the use case is
            seen = elsewhere.get(Shop, shop_id)
            assert shops.credentials(seen)["refresh_token"] == "shprt_new" and seen.name != shop.name
            assert elsewhere.query(Customer).count() == 0
        if outcome == "committed":
            session.commit()
        else:
            session.rollback()
    shop = reload(db, shop_id)
    assert shops.credentials(shop)["refresh_token"] == "shprt_new"  # never lost to the use case's rollback
    with db.uow() as session:
        kept = outcome == "committed"
        assert (shop.name == "Renamed by the use case") is kept and (session.query(Customer).count() == 1) is kept
