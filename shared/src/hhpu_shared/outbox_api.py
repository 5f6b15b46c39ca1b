"""The outbox as the people who run the system see it: ``GET /api/v1/outbox/<service>``.

How many events wait to be published, since when, and each pending event the broker has refused at
least once, oldest first, with the broker's reason: what an administrator needs when
``HHPUOutboxStale`` fires or ``hhpu_outbox_held_aggregates`` is above 0 (the relay holds an aggregate
whose event the broker refuses; see ``messaging.relay``). It shows no payload and no aggregate id, so
no personal data: the event's sequence number, type, topic, attempts, last error and time only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from hhpu_shared.auth import Principal, Role
from hhpu_shared.http import ReadUoWDep, own_service, require_roles
from hhpu_shared.messaging.outbox import OutboxRecord

Administrator = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
_T: Any = OutboxRecord.__table__  # type: ignore[attr-defined]
_PENDING = select(func.count(), func.min(_T.c.created_at)).where(_T.c.published_at.is_(None))
_FAILING = (
    select(_T.c.seq, _T.c.type, _T.c.topic, _T.c.attempts, _T.c.last_error, _T.c.created_at)
    .where(_T.c.published_at.is_(None), _T.c.attempts > 0)
    .order_by(_T.c.seq)
)


class FailingEventPublic(BaseModel):
    seq: int = Field(description="the outbox row's sequence number (publishing order)")
    type: str
    topic: str
    attempts: int = Field(description="publish attempts that failed")
    last_error: str | None = Field(description="the broker's or the client's reason, last attempt")
    created_at: datetime


class OutboxPublic(BaseModel):
    service: str
    pending: int = Field(description="events not yet published")
    oldest_pending_at: datetime | None = Field(description="when the oldest of them was written")
    failing: list[FailingEventPublic] = Field(
        description="pending events whose publishing failed at least once, oldest first"
    )


def outbox_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/outbox/{service}", response_model=OutboxPublic)
    def read_outbox(
        service: str,
        request: Request,
        _: Administrator,  # first: a refused role is 403 whatever else is wrong
        uow: ReadUoWDep,
        limit: Annotated[int, Query(ge=1, le=500, description="failing events listed at most")] = 100,
    ) -> OutboxPublic:
        """This service's outbox: events waiting to be published, and those the broker refused. An
        event the broker refuses holds only its own aggregate's later events, in order; the row's
        `last_error` says why (for example a record above the broker's size limit)."""
        own = own_service(request, service, "outbox")
        conn = uow.session.connection()
        pending, oldest = conn.execute(_PENDING).one()
        rows = conn.execute(_FAILING.limit(limit)).all()
        return OutboxPublic(
            service=own,
            pending=pending,
            oldest_pending_at=oldest,
            failing=[FailingEventPublic.model_validate(r._asdict()) for r in rows],
        )

    return router
