"""The sandbox: a complete local store behind the PlatformAdapter interface, for the demo and the tests.

- ``store.SandboxStore``      one SQLite file, many shops keyed by domain; reads, subscriptions, delivery log
- ``generator.seed_shop``     a deterministic history (customers, orders, refunds, ...) from a seed and a now
- ``operations``              create_customer, create_order, create_refund, fulfil, cancel (+ webhooks)
- ``discounts``               discount codes: created through the adapter, redeemed on orders
- ``webhooks``                signing, delivery with retries (every attempt logged), reading incoming headers
- ``mapping``                 the only module that knows the sandbox's Shopify-like JSON
- ``adapter.SandboxAdapter``  the PlatformAdapter, bound to one shop's Connection
"""
from __future__ import annotations

from adapters.sandbox.adapter import SandboxAdapter
from adapters.sandbox.discounts import DiscountCodeTakenError
from adapters.sandbox.generator import SeedSummary, seed_shop
from adapters.sandbox.operations import Delivery, Outcome
from adapters.sandbox.store import SandboxError, SandboxStore, ShopExistsError

__all__ = ["Delivery", "DiscountCodeTakenError", "Outcome", "SandboxAdapter", "SandboxError", "SandboxStore",
           "SeedSummary", "ShopExistsError", "seed_shop"]
