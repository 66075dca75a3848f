"""The loyalty program's tables: members with their balances, the ledger, rewards and redemptions,
tiers and referrals. Every row carries its shop; every query filters on it.

Points are whole numbers (``BigInteger``): an earning rule computes an exact ``Decimal`` and rounds it
down to a whole point (plugin/loyalty/points.py says the rule), so a balance is never a float and the
sum of a member's entries is exactly their balance.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow
from plugin.sync.models import BigId, Money

# A ledger entry's state. A credit is ``pending`` (order points in the return window) or ``approved``;
# a pending credit later becomes ``approved`` or ``reversed`` (once: a compare-and-set). A debit is
# ``spent`` (a redemption), ``expired``, or ``reversed`` (points taken back for a refund); a spent
# debit whose reward the platform refused becomes ``reversed`` (its points given back).
ENTRY_STATES = ("pending", "approved", "spent", "expired", "reversed")
# Where an entry comes from (with ``source_id``, what it is about).
ENTRY_SOURCES = ("order", "refund", "signup", "birthday", "first_order", "review", "referral", "social",
                 "manual", "import", "custom_event", "redemption", "expiry", "tier")
REWARD_KINDS = ("fixed_amount", "percentage", "free_shipping", "free_product", "store_credit", "variable")


class LoyaltyMember(Base):
    """A customer of the shop in the program, with their balances: updated in the transaction that
    writes each entry, so reading a balance is reading one row.

    - ``pending``: credited points still in the return window;
    - ``approved``: points the member can spend now;
    - ``spent``: points spent on rewards (less refused redemptions);
    - ``expired``: points that expired;
    - ``lifetime``: points ever credited (pending or approved), less what was reversed;
    - ``owed``: points reversed after they were spent: taken from the next approved credits.
    """

    __tablename__ = "loyalty_members"
    __table_args__ = (
        UniqueConstraint("shop_id", "customer_id"),
        UniqueConstraint("shop_id", "referral_code"),
        CheckConstraint("approved >= 0", name="approved_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        CheckConstraint("owed >= 0", name="owed_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | left
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    referral_code: Mapped[str] = mapped_column(String(32))
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_members.id", ondelete="SET NULL"),
                                                       nullable=True)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)  # entered by the shopper
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_tiers.id", ondelete="SET NULL"), nullable=True)
    manual_tier_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_tiers.id", ondelete="SET NULL"),
                                                       nullable=True)  # the merchant's floor
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pending: Mapped[int] = mapped_column(BigInteger, default=0)
    approved: Mapped[int] = mapped_column(BigInteger, default=0)
    spent: Mapped[int] = mapped_column(BigInteger, default=0)
    expired: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime: Mapped[int] = mapped_column(BigInteger, default=0)
    owed: Mapped[int] = mapped_column(BigInteger, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # what the platform was last told (tier tag and metafields), so it is told only of changes
    published_tier: Mapped[str | None] = mapped_column(String(100), nullable=True)
    published_balance: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LedgerEntry(Base):
    """One change of a member's points. Amounts are never changed and rows never deleted; a pending
    credit settles once (``settled_at``). ``(shop, source, source_id, kind)`` is unique: whatever
    delivers a fact twice (a webhook, a job run again, a client's retry) writes one entry.

    ``reason`` is a catalogue message (marked ``N_``) filled with ``reason_params`` and translated when
    shown, so each shopper reads it in their language; ``note`` is what a merchant typed (a manual
    adjustment), shown as typed; ``actor`` who made a manual entry."""

    __tablename__ = "loyalty_ledger"
    __table_args__ = (
        UniqueConstraint("shop_id", "source", "source_id", "kind"),
        Index("ix_loyalty_ledger_member", "member_id", "id"),
        Index("ix_loyalty_ledger_shop_state_due", "shop_id", "state", "settle_after"),
        Index("ix_loyalty_ledger_shop_order", "shop_id", "order_id"),  # an order's points (refunds, import)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id", ondelete="CASCADE"))
    points: Mapped[int] = mapped_column(BigInteger)  # > 0 a credit, < 0 a debit
    state: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(20), default="credit")  # credit | debit | reversal | ...
    reason: Mapped[str] = mapped_column(Text)
    reason_params: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(320), nullable=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)  # the money it was earned on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settle_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # pending until
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Tier(Base):
    """A tier of the shop's program: who enters (``entry_threshold``) and who stays
    (``retention_threshold``) on the program's measure (spend, points or orders, over the program's
    period), and its perks."""

    __tablename__ = "loyalty_tiers"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 the first (lowest)
    entry_threshold: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    retention_threshold: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal("0"))
    earn_multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("1"))
    birthday_bonus: Mapped[int] = mapped_column(Integer, default=0)
    free_shipping: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reward(Base):
    """What a member can spend points on. ``cost`` in points; for a ``variable`` reward,
    ``cost`` points buy ``value`` of money and the member chooses between ``min_points`` and
    ``max_points``. ``tier_ids``: only members of these tiers see it (empty: everyone)."""

    __tablename__ = "loyalty_rewards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    cost: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # amount, percent, or shipping cap
    min_order: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    product_ids: Mapped[list] = mapped_column(JSON, default=list)
    collection_ids: Mapped[list] = mapped_column(JSON, default=list)
    free_product_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    combines_with: Mapped[list] = mapped_column(JSON, default=list)  # adapters' DiscountClass values
    code_expiry_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tier_ids: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Redemption(Base):
    """Points spent on a reward: the code (or store credit) the platform made for it, and whether an
    order used it. ``key`` (the client's Idempotency-Key or a command's) is unique per member."""

    __tablename__ = "loyalty_redemptions"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id", "key"),
        Index("ix_loyalty_redemptions_shop_code", "shop_id", "code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id", ondelete="CASCADE"), index=True)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_rewards.id", ondelete="SET NULL"),
                                                  nullable=True)
    key: Mapped[str] = mapped_column(String(128))
    points: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    platform_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | issued | used | refused
    refusal: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Referral(Base):
    """A friend a member referred: from the friend's first visit with the code to the advocate's
    reward. ``status``: ``joined`` (the friend has the welcome reward), ``ordered`` (first order in its
    pending period), ``rewarded``, ``held`` (a fraud check matched: ``hold_reasons``; the merchant
    reviews it), ``rejected``."""

    __tablename__ = "loyalty_referrals"
    __table_args__ = (
        UniqueConstraint("shop_id", "friend_email"),
        Index("ix_loyalty_referrals_shop_status", "shop_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    advocate_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id", ondelete="CASCADE"), index=True)
    friend_email: Mapped[str] = mapped_column(String(320))  # normalised (case, dots, +alias)
    friend_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"),
                                                           nullable=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="joined")
    hold_reasons: Mapped[list] = mapped_column(JSON, default=list)
    reviewed_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # the friend's welcome reward as the platform made it
    welcome_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    welcome_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    # a digest of the shipping address the friend gave (normalised), never the address itself
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
