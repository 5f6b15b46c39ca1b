"""The consumer runner's path for a batch handled in one database transaction.

The claimed events' handlers first run in the batch's transaction without savepoints: a batch whose
handlers all succeed (the usual case) pays no SAVEPOINT and RELEASE per event (two of a typical
event's nine statements, about a fifth of its CPU: `bench/pipeline/case_prof.py --batch 50`). If a
handler fails, the transaction is undone and the batch runs again with each event in its own
savepoint, so the failing event is retried in place and, if it keeps failing, dead-lettered alone
with its claim given back (a replay applies it). A database outage undoes the batch too: the runner
then handles its messages one per transaction, which is how the outage is waited out.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from sqlmodel import Session

from hhpu_shared.background import backoff
from hhpu_shared.db import DATABASE_UNAVAILABLE
from hhpu_shared.deferred import write_pending
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData
from hhpu_shared.messaging.handlers import Handler, PoisonMessage
from hhpu_shared.messaging.inbox import claim_many, unclaim
from hhpu_shared.messaging.transport import InboundMessage
from hhpu_shared.uow import UnitOfWork

if TYPE_CHECKING:
    from hhpu_shared.messaging.consumer import ConsumerRunner

log = logging.getLogger("hhpu.consumer")

Ready = list[tuple[InboundMessage, Envelope, EventData, Handler]]


class InBatch:
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    def run(self, ready: Ready) -> list[InboundMessage]:
        """Handle the claimed events of `ready` in one transaction; the messages left to handle one
        at a time: none, or all of them when the transaction failed (nothing kept)."""
        left = self._transaction(ready, savepoints=False)
        if left is None:  # with savepoints a failing handler never undoes the batch: never None
            left = self._transaction(ready, savepoints=True) or []
        return left

    def _unit_of_work(self, session: Session, env: Envelope) -> UnitOfWork:
        """One event's unit of work on the batch's session (its audit entries buffered there)."""
        r = self.runner
        return UnitOfWork(
            session,
            service=r.service,
            principal=r.principal,
            correlation_id=env.correlation_id,
            causation_id=str(env.event_id),
        )

    def _transaction(self, ready: Ready, *, savepoints: bool) -> list[InboundMessage] | None:
        """The claimed events of `ready` in one transaction; None when, without `savepoints`, a handler
        failed (nothing kept)."""
        r = self.runner
        session = Session(r.engine, expire_on_commit=False)
        counted: list[tuple[str, str]] = []
        emitted = False
        try:
            # In event id order: two consumers claiming overlapping batches (a rebalance) take the
            # rows' locks in one order, so neither waits for the other in a cycle.
            wanted = sorted((str(env.event_id), env.type) for _msg, env, _data, _handler in ready)
            fresh = claim_many(session, r.group, wanted)
            for msg, env, data, handler in ready:
                event_id = str(env.event_id)
                if event_id not in fresh:  # processed before (or a second copy in this batch)
                    counted.append((env.type, "duplicate"))
                    continue
                fresh.discard(event_id)
                if savepoints:
                    outcome, sent = self._handle_in_savepoint(session, msg, env, data, handler)
                elif (handled := self._handle_plain(session, env, data, handler)) is None:
                    session.rollback()
                    return None
                else:
                    outcome, sent = "ok", handled
                emitted = emitted or sent
                counted.append((env.type, outcome))
            if not savepoints and not self._write_deferred(session):
                session.rollback()
                return None
            session.commit()
        except DATABASE_UNAVAILABLE as exc:
            session.rollback()
            log.warning("batch transaction failed; one event at a time", extra={"error": type(exc).__name__})
            return [msg for msg, _env, _data, _handler in ready]
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for event_type, outcome in counted:
            if outcome == "dead_lettered":  # counted by _dead_letter
                continue
            r._consumed(event_type, outcome).inc()
            if outcome == "duplicate":
                r._duplicates.inc()
            elif outcome == "ok":
                r.processed += 1
        if emitted and r.on_commit is not None:
            r.on_commit()
        return []

    def _write_deferred(self, session: Session) -> bool:
        """The batch's deferred rows (outbox, history: ``hhpu_shared.deferred``) written before its
        commit; False if that failed (the batch is then handled again, each event in a savepoint whose
        release writes its own rows, so a failing row is its event's failure, dead-lettered alone)."""
        try:
            write_pending(session)
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as exc:
            log.warning(
                "the batch's deferred rows failed; one event at a time", extra={"error": type(exc).__name__}
            )
            return False
        return True

    def _handle_plain(
        self, session: Session, env: Envelope, data: EventData, handler: Handler
    ) -> bool | None:
        """One claimed event in the batch's transaction, no savepoint: whether it emitted events, or
        None if it failed (the caller undoes the batch and handles it again with savepoints, where
        the failure is counted, retried and, if it lasts, dead-lettered)."""
        uow = self._unit_of_work(session, env)
        try:
            handler(uow, data, env)
            session.flush()
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as exc:
            log.warning(
                "handler failed in a batch; the batch again, each event in a savepoint",
                extra={"event_type": env.type, "error": type(exc).__name__},
            )
            return None
        return bool(uow.emitted)

    def _handle_in_savepoint(
        self, session: Session, msg: InboundMessage, env: Envelope, data: EventData, handler: Handler
    ) -> tuple[str, bool]:
        """One claimed event in a savepoint of the batch transaction: ok or dead-lettered (its claim
        then undone with its work, so that a replay from the dead-letter topic applies it)."""
        r = self.runner
        attempt = 0
        while True:
            attempt += 1
            uow = self._unit_of_work(session, env)
            audit_mark = uow.audit_buffer.mark()
            try:
                with session.begin_nested():
                    handler(uow, data, env)
                    session.flush()
                return "ok", bool(uow.emitted)
            except DATABASE_UNAVAILABLE:
                raise
            except Exception as exc:
                # Its savepoint is undone: so are the audit entries it buffered (the batch's commit
                # would otherwise write them, for work that never happened).
                uow.audit_buffer.discard_after(audit_mark)
                poison = isinstance(exc, PoisonMessage)
                if not poison:
                    r._failed(env.type).inc()
                if poison or attempt >= r.max_attempts or r._is_poison(exc):
                    unclaim(session, r.group, str(env.event_id))
                    r._dead_letter(msg, exc, env.type)
                    return "dead_lettered", False
                log.warning(
                    "handler failed, retrying",
                    extra={"event_type": env.type, "attempt": attempt, "error": type(exc).__name__},
                )
                time.sleep(backoff(attempt, base_s=r.backoff_s, cap_s=2.0))
