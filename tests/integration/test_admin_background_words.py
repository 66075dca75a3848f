"""The Jobs, Connection and Overview pages speak of background work in the merchant's words, in English and
Polish; the internal job names and the recorded error text are there for operators, inside a closed
<details> toggle and nowhere else on the page."""
from __future__ import annotations

import re
from html import unescape

import pytest

from plugin.admin.auth import login_url
from plugin.sync.models import SyncState
from tests.factories import make_delivery, make_failed_job, make_shop

INTERNALS = ("sync.backfill", "sync.reconcile", "StoreTimeout: the store did not answer within 30 s",
             "KeyError: 'line_items'", "RateLimited: rate limited by the store platform")
WORDS = {
    "en": {"/admin/jobs": ["Import of orders and customers", "Reconciliation with your store",
                           "Your store took too long to answer."],
           "/admin/connection": ["Import of orders and customers", "Your store took too long to answer.",
                                 "Your store asked Storecare to slow down for a while.",
                                 "Something unexpected went wrong in Storecare."],
           "/admin/": ["Import of orders and customers", "Your store asked Storecare to slow down for a while.",
                       "Something unexpected went wrong in Storecare."]},
    "pl": {"/admin/jobs": ["Import zamówień i klientów", "Uzgodnienie danych ze sklepem",
                           "Twój sklep zbyt długo nie odpowiadał."],
           "/admin/connection": ["Import zamówień i klientów", "Twój sklep zbyt długo nie odpowiadał.",
                                 "Twój sklep poprosił Storecare o chwilowe spowolnienie.",
                                 "W Storecare wystąpił nieoczekiwany błąd."],
           "/admin/": ["Import zamówień i klientów", "Twój sklep poprosił Storecare o chwilowe spowolnienie.",
                       "W Storecare wystąpił nieoczekiwany błąd."]},
}
DETAILS = re.compile(r"<details\b([^>]*)>(.*?)</details>", re.DOTALL)


@pytest.fixture
def shop_id(db):
    with db.uow() as session:
        shop = make_shop(session, name="Ceramika Anny")
        make_failed_job(session, shop, name="sync.backfill", error=INTERNALS[2])
        make_failed_job(session, shop, name="sync.reconcile", error=INTERNALS[2])
        make_delivery(session, shop, topic="orders/updated", status="failed", last_error=INTERNALS[3])
        session.add(SyncState(shop_id=shop.id, resource="orders", status="failed", processed=120,
                              last_error=INTERNALS[4]))
        session.commit()
        return shop.id


def _read(html: str) -> tuple[str, str]:
    """(what the page shows, what its closed toggles hold), as text."""
    toggles = DETAILS.findall(html)
    assert toggles and all("open" not in attributes for attributes, _ in toggles)  # closed until opened
    shown, hidden = DETAILS.sub(" ", html), " ".join(body for _, body in toggles)
    return tuple(" ".join(unescape(re.sub(r"<[^>]+>", " ", part)).split()) for part in (shown, hidden))


@pytest.mark.parametrize("language", ["en", "pl"])
def test_background_work_reads_in_the_merchants_words_with_details_behind_a_toggle(client, shop_id, language):
    assert client.get(login_url(shop_id)).status_code == 302
    with client.session_transaction() as sess:
        sess["lang"] = language

    for path, words in WORDS[language].items():
        shown, hidden = _read(client.get(path).text)

        assert [word for word in words if word not in shown] == [], path
        assert [internal for internal in INTERNALS if internal in shown] == [], path
        assert "sync.backfill" in hidden and INTERNALS[2] in hidden, path
