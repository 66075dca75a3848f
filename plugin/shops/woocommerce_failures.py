"""What a merchant is told when the first call to their store with the keys WooCommerce just made
fails (plugin/shops/woocommerce.py ``complete``): the cause in their words, and what to do about it.
Every message is a catalogue entry (English and Polish); its parameters are filled in after translation.
"""
from __future__ import annotations

from adapters.errors import AdapterError, AuthRevoked, InvalidPayload, NotFound, Transient
from adapters.messages import N_
from adapters.woocommerce.addresses import AddressRefused
from adapters.woocommerce.client import (
    StoreCertificateError,
    StoreRedirected,
    StoreRefused,
    StoreTimeout,
    StoreUnreachable,
)

UNUSED_KEY = N_("WooCommerce kept the API key it created for Storecare (consumer key ending in %(key)s). "
                "Storecare does not use it: you can delete it in WooCommerce › Settings › Advanced › REST API.")


def why_not_verified(exc: AdapterError) -> tuple[str, dict[str, str]]:
    """What to tell the merchant when the first call with fresh keys failed: the cause, and what to do."""
    if isinstance(exc, StoreCertificateError):
        return N_("Your store's security certificate could not be verified (%(problem)s), so Storecare cannot "
                  "connect to it safely. Fix the certificate (your hosting company can renew or replace it) or, "
                  "if your store uses a certificate from a private authority, ask the Storecare operator to "
                  "trust that authority. Then connect again."), {"problem": exc.problem}
    if isinstance(exc, StoreRedirected) and exc.suggested_url:
        return N_("Your store redirects Storecare's requests to %(location)s. Connect again with the address "
                  "your store uses: %(suggested)s"), {"location": exc.location[:300],
                                                      "suggested": exc.suggested_url[:300]}
    if isinstance(exc, StoreRedirected):
        return N_("Your store redirects Storecare's requests elsewhere (%(location)s). Check your store's "
                  "address in WordPress › Settings › General and connect again with it."), {
                      "location": exc.location[:300] or "-"}
    if isinstance(exc, AddressRefused):
        return N_("Your store's address leads into a private network, where Storecare does not connect. Use "
                  "your store's public address, or ask the Storecare operator to allow this store."), {}
    if isinstance(exc, StoreTimeout):
        return N_("Your store did not answer in time. Check that it is online, then connect again."), {}
    if isinstance(exc, StoreUnreachable):
        return N_("Storecare could not reach your store. Check that it is online and reachable from the "
                  "internet, then connect again."), {}
    if isinstance(exc, InvalidPayload):
        return N_("Your store did not answer with WooCommerce data. In WordPress, set Settings › Permalinks "
                  "to any structure other than “Plain”, check that WooCommerce is active, then connect "
                  "again."), {}
    if isinstance(exc, NotFound):
        return N_("Your store's WooCommerce REST API was not found. Check that WooCommerce is active and "
                  "that Settings › Permalinks is not “Plain”, then connect again."), {}
    if isinstance(exc, AuthRevoked):
        return N_("Your store did not accept the keys WooCommerce had just created for Storecare. Connect "
                  "again; if it happens again, your server may be removing the Authorization header from "
                  "requests, which your hosting company can fix."), {}
    if isinstance(exc, Transient):
        return N_("Your store answered with an error. Try again in a few minutes; if it keeps happening, "
                  "check your store's error log."), {}
    if isinstance(exc, StoreRefused):
        return N_("Your store refused Storecare's request (%(detail)s). Connect again; if it keeps "
                  "happening, contact the Storecare operator."), {"detail": f"{exc.status} {exc.code}"}
    return N_("Your store's answer could not be used. Connect again; if it keeps happening, contact the "
              "Storecare operator."), {}
