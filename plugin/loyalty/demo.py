"""The demo's program (``make demo``): the loyalty program on for the demo shop with the default rules,
three tiers by spend (Bronze 0, Silver 300, Gold 1000 in the shop's currency; named in the shop's
language), and its history imported from the seeded orders (the import job queued by turning the
program on waits for the first sync).
Seeded once: a second run of the demo leaves what the merchant changed as it is."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.messages import N_
from plugin.admin import shop_settings
from plugin.admin.models import ShopSetting
from plugin.loyalty.models import Tier
from plugin.loyalty.settings import DEFAULTS, SECTION

TIERS = (  # name (the shop's language when seeded), spend to enter, earn multiplier, birthday bonus, free shipping
    (N_("Bronze"), Decimal("0"), Decimal("1"), 0, False),
    (N_("Silver"), Decimal("300"), Decimal("1.25"), 50, False),
    (N_("Gold"), Decimal("1000"), Decimal("1.5"), 100, True),
)


def seed_program(session: Session, shop_id: int) -> bool:
    """Turn the demo shop's program on with tiers, once; commits. False when it was seeded before."""
    if session.scalar(select(ShopSetting.id).where(ShopSetting.shop_id == shop_id,
                                                   ShopSetting.section == SECTION)) is not None:
        return False
    if session.scalar(select(Tier.id).where(Tier.shop_id == shop_id).limit(1)) is None:
        from plugin.loyalty.rewards import shop_text
        from plugin.shops.models import Shop

        shop = session.get(Shop, shop_id)
        for position, (name, threshold, multiplier, birthday, free_shipping) in enumerate(TIERS):
            session.add(Tier(shop_id=shop_id, name=shop_text(shop, name), position=position,
                             entry_threshold=threshold, retention_threshold=threshold, earn_multiplier=multiplier,
                             birthday_bonus=birthday, free_shipping=free_shipping))
        session.flush()
    seed_rewards(session, shop_id)
    # saving with the program turned on queues the import of the seeded orders (and commits)
    shop_settings.save(session, shop_id, shop_settings.section(current_app, SECTION), {**DEFAULTS, "enabled": True})
    return True


def seed_rewards(session: Session, shop_id: int) -> None:
    """The demo's rewards: the default set (``plugin.loyalty.rewards.default_rewards``) and 20 zł of
    store credit, so every kind the sandbox store makes can be redeemed on the demo storefront; named
    in the shop's language, as the default set is."""
    from plugin.loyalty.rewards import create_reward, default_rewards, shop_text
    from plugin.shops.models import Shop

    if default_rewards(session, shop_id):
        name = shop_text(session.get(Shop, shop_id), N_("Store credit"))
        create_reward(session, shop_id, {"name": name, "kind": "store_credit", "cost": 1000, "value": "20.00",
                                         "position": 5})
