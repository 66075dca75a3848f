"""Words for the merchant where the admin shows background work: a job's label instead of its internal
name ("sync.backfill" → "Import of orders and customers"), and a sentence instead of the error text a
job, a webhook or a sync recorded ("StoreTimeout: the store did not answer ..." → "Your store took too
long to answer."). The internal name and the error text stay on the page for operators, behind a
toggle (the ``job_name`` and ``error_text`` macros of templates/admin/_macros.html).

Errors are recorded as ``"<class name>: <message>"`` (plugin/jobs/queue.py, plugin/sync/inbox.py,
backfill, reconcile). The class says what kind of trouble it was, which is what a merchant can act
on; the message is for whoever reads the logs. A class is matched by its name, through the classes
below and every subclass of theirs, so a new subclass of ``Transient`` reads as a temporary problem
without being listed; what matches nothing reads as an unexpected error.
"""
from __future__ import annotations

import re

import requests
from flask import Flask, current_app
from flask_babel import lazy_gettext
from sqlalchemy.exc import OperationalError

from adapters.errors import AuthRevoked, InvalidPayload, NotFound, RateLimited, Transient
from adapters.sandbox.store import SandboxError
from adapters.woocommerce import client as store_client
from adapters.woocommerce.addresses import AddressRefused
from plugin.features import FEATURES_KEY
from plugin.jobs.queue import PermanentJobError, TransientJobError
from plugin.sync.backfill import BulkExportPending

# The most specific class first: a class takes the sentence of the first entry it is, or descends from.
SENTENCES: tuple[tuple[type[BaseException], object], ...] = (
    (AuthRevoked,
     lazy_gettext("Your store no longer accepts Storecare's access. Reconnect the store to resume syncing.")),
    (RateLimited, lazy_gettext("Your store asked Storecare to slow down for a while.")),
    (store_client.StoreTimeout, lazy_gettext("Your store took too long to answer.")),
    (store_client.StoreUnreachable, lazy_gettext("Your store could not be reached. Check that it is online.")),
    (Transient, lazy_gettext("Your store had a temporary problem answering Storecare.")),
    (store_client.StoreCertificateError,
     lazy_gettext("Your store's security certificate (HTTPS) could not be verified. Once it is renewed or "
                  "fixed, retry.")),
    (store_client.StoreRedirected,
     lazy_gettext("Your store now answers at another address. Connect it again with the address it uses.")),
    (AddressRefused,
     lazy_gettext("Your store's address is not on the public internet, so Storecare cannot reach it.")),
    (store_client.StoreRefused, lazy_gettext("Your store refused a request from Storecare.")),
    (NotFound, lazy_gettext("Your store no longer has this record; it may have been deleted.")),
    (InvalidPayload, lazy_gettext("Your store sent data Storecare could not read.")),
    (SandboxError, lazy_gettext("The demo store reported a problem.")),
    (BulkExportPending, lazy_gettext("Shopify is still preparing the export of your orders.")),
    (TransientJobError, lazy_gettext("A temporary problem interrupted this work.")),
    (PermanentJobError,
     lazy_gettext("This work cannot be done as things stand: retrying will not help until the cause is fixed.")),
    (OperationalError, lazy_gettext("Storecare's database was briefly unavailable.")),
    (requests.Timeout, lazy_gettext("A service Storecare relies on did not answer in time.")),
    (TimeoutError, lazy_gettext("A service Storecare relies on did not answer in time.")),
    (ConnectionError, lazy_gettext("A service Storecare relies on could not be reached.")),
)
UNEXPECTED = lazy_gettext("Something unexpected went wrong in Storecare. If it happens again, send the "
                          "technical details to support.")
UNKNOWN_JOB = lazy_gettext("Background task")
_CLASS_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::|$)")


def job_label(name: str) -> str:
    """What the merchant reads for the job named ``name``: its feature's label, in the admin's language."""
    installed = current_app.extensions.get(FEATURES_KEY)
    job = installed.job(name) if installed is not None else None
    return str(job.label) if job is not None and job.label else str(UNKNOWN_JOB)


def error_sentence(error: str | None) -> str:
    """A sentence for the merchant about a recorded error, from the class that ``error`` names."""
    found = _CLASS_NAME.match(error or "")
    sentence = _sentences_by_class_name().get(found.group(1)) if found else None
    return str(sentence or UNEXPECTED)


def _sentences_by_class_name() -> dict[str, object]:
    """Class name -> sentence, for every class of ``SENTENCES`` and its subclasses, most specific first.
    Built on each call: it is small, and a subclass imported since then is found too."""
    found: dict[str, object] = {}
    for root, sentence in SENTENCES:
        family = [root]
        while family:
            cls = family.pop()
            found.setdefault(cls.__name__, sentence)
            family.extend(cls.__subclasses__())
    return found


def init_app(app: Flask) -> None:
    """Templates call ``job_label(job.name)`` and ``error_sentence(text)``."""
    app.add_template_global(job_label)
    app.add_template_global(error_sentence)
