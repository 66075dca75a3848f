"""Every table, imported in one place for Alembic and for create_all in tests."""
from plugin.db import Base
from plugin.jobs.models import JobRun
from plugin.shops.models import Shop
from plugin.sync.models import Customer, DomainEvent, LineItem, Order, Refund, SyncState, WebhookDelivery

metadata = Base.metadata

__all__ = ["Base", "metadata", "Shop", "Customer", "Order", "LineItem", "Refund", "WebhookDelivery",
           "SyncState", "DomainEvent", "JobRun"]
