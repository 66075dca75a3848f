"""Every table, imported in one place for Alembic and for create_all in tests."""
from sqlalchemy import event

from plugin.admin.models import AdminSession, ShopSetting, SpentSignInLink
from plugin.api.models import ApiKey
from plugin.db import Base
from plugin.jobs.models import JobRun
from plugin.loyalty.models import LedgerEntry, LoyaltyMember, Redemption, Referral, Reward, Tier
from plugin.outbox.models import OutboxMessage
from plugin.privacy.models import DataExport, PrivacyAudit
from plugin.row_changes import create_triggers
from plugin.shops.models import OAuthState, PendingConnection, Shop
from plugin.storefront.models import IdempotentRequest
from plugin.sync.models import (
                                Customer,
                                DomainEvent,
                                EventCursor,
                                EventStream,
                                LineItem,
                                Order,
                                Refund,
                                SyncState,
                                WebhookDelivery,
)
from plugin.sync.reconcile_models import ReconcileReport

metadata = Base.metadata
# what migration 0012 creates on PostgreSQL: the triggers telling each process which rows were written
event.listen(metadata, "after_create", create_triggers)

__all__ = ["Base", "metadata", "Shop", "OAuthState", "PendingConnection", "Customer", "Order", "LineItem",
           "Refund", "WebhookDelivery",
           "SyncState", "DomainEvent", "EventStream", "EventCursor", "JobRun", "DataExport", "PrivacyAudit",
           "ReconcileReport", "AdminSession", "SpentSignInLink", "OutboxMessage", "ShopSetting",
           "IdempotentRequest", "ApiKey", "LoyaltyMember", "LedgerEntry", "Tier", "Reward", "Redemption",
           "Referral"]
