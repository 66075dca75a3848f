"""JobRun: every queued job, its attempts and its last error, visible to merchants and operators."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow
from plugin.sync.models import BigId

JOB_STATUSES = ("queued", "running", "retrying", "succeeded", "failed")


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_status", "status"), Index("ix_job_runs_shop_status", "shop_id", "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A running job whose lease has passed was lost with its worker and is re-queued.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def queued_run(name: str, shop_id: int | None, args: dict, max_attempts: int, enqueued_at: datetime) -> dict:
    """A new run's row, column by column: the one definition of it. ``JobQueue.enqueue`` builds its
    JobRun from it, and the webhook inbox's batch, which writes job rows in SQL of its own for speed
    (plugin/sync/ingress.py), names ``QUEUED_COLUMNS`` in that order; every other column of ``job_runs``
    must start empty (tests/integration/test_ingress.py compares the two with the model)."""
    return {"name": name, "shop_id": shop_id, "args": args, "status": "queued", "attempts": 0,
            "max_attempts": max_attempts, "enqueued_at": enqueued_at}


QUEUED_COLUMNS: tuple[str, ...] = tuple(queued_run("", None, {}, 0, utcnow()))
