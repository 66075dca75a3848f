"""A feature's storefront endpoint, declared once (tests/example_feature/storefront.py), on SQLite and
PostgreSQL: served under the direct API, POST with an Idempotency-Key acting once, and CORS for it."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from plugin.db import utcnow
from plugin.features import install_features
from plugin.jobs.models import JobRun
from plugin.storefront.identity import TOKEN_HEADER, issue_shopper_token
from plugin.storefront.models import IdempotentRequest
from tests.factories import make_customer, make_shop

WISHES = "/storefront/api/v1/example/wishes"
PROBLEM = "application/problem+json"
KEY = "3f1c2a9e-5b7d-4c1e-9a2b-8d6f0e4c7b1a"


@pytest.fixture
def app(app):
    install_features(app, ("tests.example_feature",))
    return app


@pytest.fixture
def world(app, db):
    with db.uow() as session:
        shop = make_shop(session, domain="a.sandbox.test")
        shop.credentials_encrypted = app.extensions["storecare.vault"].encrypt(
            {"storefront_secret": "storefront-secret-" + "0" * 16})
        anna, bob = make_customer(session, shop, first_name="Anna"), make_customer(session, shop, first_name="Bob")
        session.commit()
        return {"shop": shop, "anna": anna, "bob": bob}


def token(world, who="anna"):
    return issue_shopper_token(world["shop"], world[who].platform_id)


def post(client, body, key=KEY, shopper_token=None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    if shopper_token is not None:
        headers[TOKEN_HEADER] = shopper_token
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(WISHES, data=data, content_type="application/json", headers=headers)


def jobs(db) -> int:
    with db.uow() as session:
        return session.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == "example.count"))


def test_a_retried_post_returns_the_first_answer_and_acts_once(client, world, db):
    first = post(client, {"text": "a pony"}, shopper_token=token(world))
    again = post(client, {"text": "a pony"}, shopper_token=token(world))

    assert first.status_code == 201 and first.get_json()["text"] == "a pony"
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert jobs(db) == 1


def test_the_same_json_spelled_otherwise_is_the_same_request(client, world, db):
    post(client, '{"text": "a pony"}', shopper_token=token(world))
    again = post(client, '{ "text" :"a pony" }', shopper_token=token(world))

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert jobs(db) == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(client, world, db):
    post(client, {"text": "a pony"}, shopper_token=token(world))
    other = post(client, {"text": "a castle"}, shopper_token=token(world))

    assert other.status_code == 422 and other.mimetype == PROBLEM
    assert "Idempotency-Key" in other.get_json()["errors"]
    assert jobs(db) == 1


def test_keys_are_per_shopper(client, world, db):
    assert post(client, {"text": "a pony"}, shopper_token=token(world)).status_code == 201
    bobs = post(client, {"text": "a pony"}, shopper_token=token(world, "bob"))

    assert bobs.status_code == 201 and "Idempotent-Replayed" not in bobs.headers
    assert jobs(db) == 2


@pytest.mark.parametrize("key", [None, "", "short", "x" * 256, "bad key with spaces"])
def test_a_post_without_a_usable_key_does_nothing(client, world, db, key):
    response = post(client, {"text": "a pony"}, key=key, shopper_token=token(world))

    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert jobs(db) == 0


def test_bad_input_names_the_field_and_leaves_the_key_free_for_the_corrected_request(client, world, db):
    bad = post(client, {"text": ""}, shopper_token=token(world))
    not_json = post(client, "text=a pony", shopper_token=token(world))
    good = post(client, {"text": "a pony"}, shopper_token=token(world))

    assert bad.status_code == 422 and bad.mimetype == PROBLEM and "text" in bad.get_json()["errors"]
    assert not_json.status_code == 422 and "body" in not_json.get_json()["errors"]
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers
    assert jobs(db) == 1


def test_a_guest_naming_nobody_is_asked_to_sign_in_and_nothing_is_kept(client, world, db):
    response = post(client, {"text": "a pony"})

    assert response.status_code == 401
    assert response.get_json()["type"] == "urn:storecare:problem:sign-in-required"
    with db.uow() as session:
        assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0


def test_a_key_older_than_a_day_is_forgotten(client, world, db):
    post(client, {"text": "a pony"}, shopper_token=token(world))
    with db.uow() as session:
        session.execute(update(IdempotentRequest).values(created_at=utcnow() - timedelta(hours=25)))
        session.commit()

    again = post(client, {"text": "a castle"}, shopper_token=token(world))

    assert again.status_code == 201 and again.get_json()["text"] == "a castle"
    assert jobs(db) == 2


def test_two_concurrent_requests_with_one_key_act_once(app, world, db):
    shopper_token, barrier, statuses = token(world), threading.Barrier(2), []

    def send():
        client = app.test_client()
        barrier.wait()
        statuses.append(post(client, {"text": "a pony"}, shopper_token=shopper_token).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert 201 in statuses and set(statuses) <= {201, 409}  # 409: the first was still running
    assert jobs(db) == 1


def test_a_preflight_for_a_post_allows_the_headers_the_widget_sends(client, world):
    response = client.options(WISHES, headers={
        "Origin": "https://a.sandbox.test", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": f"content-type,idempotency-key,{TOKEN_HEADER.lower()}"})

    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "https://a.sandbox.test"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "idempotency-key", TOKEN_HEADER.lower()} <= allowed
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_post_from_the_shops_storefront_may_read_its_answer_and_others_may_not(client, world):
    own = post(client, {"text": "a pony"}, shopper_token=token(world), Origin="https://a.sandbox.test")
    other = post(client, {"text": "a pony"}, key=KEY + "-2", shopper_token=token(world),
                 Origin="https://evil.example")

    assert own.headers["Access-Control-Allow-Origin"] == "https://a.sandbox.test"
    assert "Idempotent-Replayed" in own.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in other.headers


def test_an_unexpected_failure_is_kept_with_its_key_so_a_retry_never_acts_after_it(client, world, db):
    from sqlalchemy import text

    with db.uow() as session:  # the endpoint's own write fails (nothing patched: its table is away)
        session.execute(text("ALTER TABLE job_runs RENAME TO job_runs_away"))
        session.commit()
    try:
        failed = post(client, {"text": "a pony"}, shopper_token=token(world))
    finally:
        with db.uow() as session:
            session.execute(text("ALTER TABLE job_runs_away RENAME TO job_runs"))
            session.commit()
    again = post(client, {"text": "a pony"}, shopper_token=token(world))

    assert failed.status_code == 500 and failed.mimetype == PROBLEM
    assert again.status_code == 500 and again.headers["Idempotent-Replayed"] == "true"
    assert jobs(db) == 0  # what the failed request did is unknown: the key never acts again
    assert post(client, {"text": "a pony"}, key=KEY + "-new", shopper_token=token(world)).status_code == 201
