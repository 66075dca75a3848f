"""Loyalty: a points program for a shop's customers, the first feature package on the feature kit.

- ``models``: members with their balances, the ledger, tiers, rewards, redemptions, referrals;
- ``points``: the one rounding rule from money to points;
- ``ledger``: credits, debits and settlements, idempotent, with the balances in the same transaction;
- ``members``: enrolment and lookups, always within one shop.
"""
