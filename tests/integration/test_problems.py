"""Every error is application/problem+json; a 500 says nothing of our internals; logs carry the request id."""
import logging
import os

PROBLEM = "application/problem+json"


def test_not_found_and_method_not_allowed(client):
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert missing.get_json()["title"] == "Not Found"
    wrong = client.get("/webhooks/sandbox")
    assert wrong.status_code == 405 and wrong.mimetype == PROBLEM and "POST" in wrong.headers["Allow"]


def test_an_unexpected_error_is_a_500_without_internals_and_is_logged_with_the_request_id(app, client, caplog):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("database password is hunter2")

    with caplog.at_level(logging.ERROR, logger="storecare"):
        response = client.get("/boom-for-test", headers={"X-Request-Id": "req-12345678"})
    body = response.get_json()
    assert response.status_code == 500 and response.mimetype == PROBLEM
    assert "hunter2" not in response.get_data(as_text=True) and "RuntimeError" not in response.get_data(as_text=True)
    assert body["request_id"] == "req-12345678" and response.headers["X-Request-Id"] == "req-12345678"
    record = next(r for r in caplog.records if r.name == "storecare")
    assert record.request_id == "req-12345678" and "hunter2" in record.exc_text


def test_a_request_id_is_assigned_when_none_or_a_bad_one_is_given(client):
    assigned = client.get("/healthz").headers["X-Request-Id"]
    assert len(assigned) == 32
    forged = client.get("/healthz", headers={"X-Request-Id": "<script>x</script>"}).headers["X-Request-Id"]
    assert forged != "<script>x</script>" and len(forged) == 32


def test_healthz_reports_an_unreachable_database(settings_with, tmp_path):
    from plugin import create_app

    app = create_app(settings_with(database_url=f"sqlite:///{tmp_path}/missing/dir/x.db"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("error") and response.get_json()["checks"]["queue"] == "ok"


def test_forked_workers_do_not_repeat_each_others_request_ids():
    from plugin.problems import new_request_id

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a gunicorn worker is a fork of the master: its generator must not replay the parent's
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert len(child) == 32 and child != new_request_id()
