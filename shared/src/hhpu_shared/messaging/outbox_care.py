"""What the outbox keeps, and for how long (DPA 2018 s.47 and storage limitation).

An outbox row holds the whole event it carried, personal data included (a screened referral's
subject, a ranking candidate's name and date of birth, an assessment's person label). So:

- :func:`scrub_outbox` (called by every service's erasure, ``protection_api.apply_erasure``): the
  rows *about* an erased person (the event's aggregate, subject or a top-level field of its data is
  one of the person's references) are deleted, published or not; a row that only *mentions* a
  reference inside a list (a ranking run's big movers) has that reference replaced by ``[erased]``.
  The erasure and restriction events themselves (references only) are kept.
- :func:`prune_published` and the ``outbox-retention`` worker every runtime runs: published rows are
  deleted once older than ``outbox_retention_days`` (a setting), so payloads never live forever.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, LargeBinary, delete, func, literal, or_, select, update
from sqlmodel import Session

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.protection import replace_references

if TYPE_CHECKING:
    from hhpu_shared.runtime import ServiceRuntime

log = logging.getLogger("hhpu.outbox")
ERASED = "[erased]"
# Events that name a person by reference only and must still reach every service.
KEPT_TYPES = ("person.erased", "person.restricted")
PRUNE_BATCH = 5_000
_T = OutboxRecord.__table__  # type: ignore[attr-defined]


def _mentions(dialect: str, ref: str) -> ColumnElement[bool]:
    """The payload (JSON bytes) contains `ref` (a plain substring test, no pattern characters)."""
    if dialect == "postgresql":
        return func.strpos(func.convert_from(_T.c.payload, "UTF8"), ref) > 0
    return func.instr(_T.c.payload, literal(ref.encode(), LargeBinary)) > 0


def _about(env: dict[str, Any], refs: set[str]) -> bool:
    """The event is about one of `refs`: its aggregate, its subject or a top-level data field."""
    if env.get("aggregate_id") in refs or (env.get("subject") or {}).get("id") in refs:
        return True
    data = env.get("data") or {}
    return any(isinstance(v, str) and v in refs for v in data.values())


def scrub_outbox(session: Session, refs: Iterable[str | None]) -> int:
    """Delete the outbox rows about these references and erase them where they are only mentioned;
    returns how many rows were deleted or rewritten."""
    wanted = {r for r in refs if r}
    if not wanted:
        return 0
    conn = session.connection()
    dialect = conn.dialect.name
    query = select(_T.c.seq, _T.c.payload).where(
        or_(*(_mentions(dialect, r) for r in sorted(wanted))), _T.c.type.not_in(KEPT_TYPES)
    )
    gone: list[int] = []
    changed = 0
    for seq, payload in conn.execute(query).all():
        env = json.loads(bytes(payload))
        if _about(env, wanted):
            gone.append(seq)
            continue
        scrubbed = replace_references(env, wanted, ERASED)
        if scrubbed != env:
            raw = json.dumps(scrubbed, separators=(",", ":")).encode()
            conn.execute(update(_T).where(_T.c.seq == seq).values(payload=raw))
            changed += 1
    if gone:
        conn.execute(delete(_T).where(_T.c.seq.in_(gone)))
    return len(gone) + changed


def prune_published(session: Session, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
    """Delete at most `batch` rows published before `before`, oldest first; returns how many."""
    oldest = (
        select(_T.c.seq)
        .where(_T.c.published_at.is_not(None), _T.c.published_at < before)
        .order_by(_T.c.seq)
        .limit(batch)
    )
    seqs = list(session.connection().execute(oldest).scalars())
    if seqs:
        session.connection().execute(delete(_T).where(_T.c.seq.in_(seqs)))
    return len(seqs)


def prune_task(runtime: ServiceRuntime, *, max_batches: int = 100) -> int:
    """The retention worker's task: published rows older than the retention period, in batches
    (bounded: a backlog is worked off over several runs)."""
    days = float(getattr(runtime.settings, "outbox_retention_days", 0) or 0)
    if days <= 0:
        return 0
    before = datetime.now(UTC) - timedelta(days=days)
    total = 0
    for _ in range(max_batches):
        with Session(runtime.engine) as session:
            n = prune_published(session, before)
            session.commit()
        total += n
        if n < PRUNE_BATCH:
            break
    if total:
        log.info("published outbox rows past retention deleted", extra={"rows": total})
    return total


OUTBOX_RETENTION = BackgroundWorker(
    name="outbox-retention",
    task=prune_task,
    interval_s=lambda s: float(getattr(s, "outbox_prune_interval_s", 0) or 0),
    initial_delay_s=60.0,
)
