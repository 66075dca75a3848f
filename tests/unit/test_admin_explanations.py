"""Background work in the merchant's words: every job the app registers has a label in English and Polish,
and a recorded error reads as a sentence chosen by its class."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from adapters.errors import Transient
from plugin.admin.explanations import error_sentence, job_label


@pytest.fixture(autouse=True)
def admin_request(app):
    """Words are chosen in a request, in its language (English unless forced)."""
    with app.test_request_context("/admin/"):
        yield


STORE_SLOW = "Your store took too long to answer."
REAUTHORISE = "Your store no longer accepts Storecare's access. Reconnect the store to resume syncing."
UNEXPECTED = ("Something unexpected went wrong in Storecare. If it happens again, send the technical details "
              "to support.")


def test_every_job_the_app_registers_has_a_label_in_english_and_polish(queue):
    """A feature's new job without a label fails here: the merchant would read "Background task"."""
    names = queue.registered()
    assert "sync.backfill" in names and len(names) >= 8

    english = {name: job_label(name) for name in names}
    with force_locale("pl"):
        polish = {name: job_label(name) for name in names}

    assert [name for name, label in english.items() if label == "Background task"] == []
    assert [name for name, label in polish.items() if label in ("Zadanie w tle", english[name])] == []
    assert english["sync.backfill"] == "Import of orders and customers"
    assert polish["sync.backfill"] == "Import zamówień i klientów"


def test_a_job_no_feature_declares_reads_as_a_background_task():
    assert job_label("care.send_message") == "Background task"
    with force_locale("pl"):
        assert job_label("care.send_message") == "Zadanie w tle"


@pytest.mark.parametrize("recorded, sentence", [
    ("StoreTimeout: the store did not answer within 30 s", STORE_SLOW),
    ("RateLimited: rate limited by the store platform", "Your store asked Storecare to slow down for a while."),
    # a subclass reads as the class it descends from
    ("GrantRefused: invalid_grant", REAUTHORISE),
    ("Deleted: order 12 is in the trash", "Your store no longer has this record; it may have been deleted."),
    ("BulkExportPending: the bulk export gid://shopify/BulkOperation/1 is still running",
     "Shopify is still preparing the export of your orders."),
    ("ReadTimeout: HTTPSConnectionPool(host='shop.example', port=443): Read timed out.",
     "A service Storecare relies on did not answer in time."),
    ("OperationalError: (sqlite3.OperationalError) database is locked",
     "Storecare's database was briefly unavailable."),
    ("KeyError: 'line_items'", UNEXPECTED),  # a bug of ours: nothing the merchant can act on
    ("the bulk export gid://shopify/BulkOperation/1 ended FAILED (INTERNAL_SERVER_ERROR)", UNEXPECTED),
    ("", UNEXPECTED),
])
def test_a_recorded_error_reads_as_a_sentence_from_its_class(recorded, sentence):
    assert error_sentence(recorded) == sentence


def test_a_new_subclass_reads_as_its_family_without_being_listed():
    class PluginOffline(Transient):
        """What a future adapter might raise."""

    assert error_sentence(f"{PluginOffline.__name__}: the plugin did not answer") == \
        "Your store had a temporary problem answering Storecare."


def test_sentences_are_in_polish_for_a_polish_admin():
    with force_locale("pl"):
        assert error_sentence("StoreTimeout: the store did not answer") == "Twój sklep zbyt długo nie odpowiadał."
        assert error_sentence("KeyError: 'line_items'").startswith("W Storecare wystąpił nieoczekiwany błąd.")
