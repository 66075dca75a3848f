"""Loyalty: points, rewards, tiers and referrals for the shop's customers."""
from plugin.features import Feature

FEATURE = Feature(
    name="loyalty",
)
