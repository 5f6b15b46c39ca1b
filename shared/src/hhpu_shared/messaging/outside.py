"""The consumer runner's path for a group whose handlers work outside any transaction.

``HandlerRegistry(outside_transaction=True)``: the handlers do slow work that must not hold the
database (a post to a partner, with retries and waits). A poll batch is handled so:

1. Every message is parsed and checked against its contract (one that fails goes to the dead-letter
   topic at once, as on the in-transaction path).
2. One short read-only transaction: the registry's ``prefilter`` (if any) picks, in one read for
   the batch, the events worth a handler; the others (a status change of an agency without a webhook)
   are done with, never claimed (their handler would do nothing: nothing to apply twice, and none
   written); the events to handle that the group has processed before are found with one read. No
   unit of work is opened for this, and a batch with nothing to handle writes nothing.
3. Each remaining event, in order, runs its handler on a read-only unit of work of its own (the
   handler writes, briefly, in units of work of its own); a failure is retried in place with backoff,
   keeping order, and after the last attempt the event goes to the dead-letter topic unclaimed (so a
   replay applies it). A database outage is waited out without limit.
4. The handled events are claimed with one statement, in a short transaction, after their handlers.

So a crash after a handler and before the claim (step 4) repeats that handler when the batch is
delivered again: such handlers are idempotent by event id (a status webhook delivered before is
not posted again). Offsets are committed only for messages whose claims are committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, col, select

from hhpu_shared.background import backoff
from hhpu_shared.db import DATABASE_UNAVAILABLE, READ_ONLY
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.handlers import Handler, PoisonMessage
from hhpu_shared.messaging.inbox import InboxRecord, claim_many
from hhpu_shared.messaging.transport import InboundMessage
from hhpu_shared.uow import unit_of_work

if TYPE_CHECKING:
    from hhpu_shared.messaging.consumer import ConsumerRunner

log = logging.getLogger("hhpu.consumer")
T = TypeVar("T")


@dataclass
class _Event:
    msg: InboundMessage
    env: Envelope
    data: Any
    handler: Handler
    finished: bool = False  # claimed, found processed before, or dead-lettered: nothing left to do

    @property
    def id(self) -> str:
        return str(self.env.event_id)


class OutsideTransaction:
    """Handles the poll batches of one runner whose registry is ``outside_transaction``."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    def run(self, batch: list[InboundMessage], done: list[InboundMessage]) -> None:
        """Handle `batch`; `done` gets its messages (in order) once nothing of them is left to commit.

        On an exception, the handled events before it are claimed if the database lets us (best effort):
        `done` then holds the messages up to the failing one; otherwise none, and the whole batch is
        delivered again (handlers repeat, idempotently; claimed events are skipped)."""
        events = [e for e in map(self._checked, batch) if e is not None]
        if not events:
            done.extend(batch)
            return
        todo = self._retrying(lambda: self._prepare(events))
        handled: list[_Event] = []
        try:
            for event in events:
                if event.id in todo:
                    todo.discard(event.id)  # a second copy in the batch is a duplicate
                    if self._handle(event):
                        handled.append(event)
                    else:
                        event.finished = True  # dead-lettered, unclaimed
                elif not event.finished:
                    event.finished = True
                    self._count(event, "duplicate")
            self._retrying(lambda: self._claim(handled))
        except BaseException:
            self._salvage(batch, events, handled, done)
            raise
        for event in handled:
            self._count(event, "ok")
        done.extend(batch)

    def _checked(self, msg: InboundMessage) -> _Event | None:
        """The message's event with its checked data, or None (ignored, or dead-lettered now)."""
        decoded = self.runner._decode(msg)
        if decoded is None:
            return None
        env, handler = decoded
        data = self.runner._check(msg, env)
        return None if data is None else _Event(msg, env, data, handler)

    def _prepare(self, events: list[_Event]) -> set[str]:
        """One short read-only transaction: the prefilter's read (the events it leaves out are done:
        their handler would do nothing) and which of the kept ones the group has processed before.
        The ids to run a handler for."""
        r = self.runner
        prefilter = r.registry.prefilter
        session = Session(r.engine, expire_on_commit=False)
        try:
            session.connection(execution_options=READ_ONLY)
            if prefilter is None:
                wanted = {e.id for e in events}
            else:
                wanted = set(prefilter(session, [(e.env, e.data) for e in events]))
            seen = _claimed(session, r.group, wanted)
            session.commit()
        finally:
            session.close()
        for event in events:
            if event.id not in wanted:
                event.finished = True
                self._count(event, "skipped")
        return wanted - seen

    def _handle(self, event: _Event) -> bool:
        """Run the handler on a read-only unit of work; True when it succeeded, False when the event
        was dead-lettered (after its attempts, or at once for a poison message)."""
        r, env = self.runner, event.env
        attempt = 0
        while True:
            attempt += 1
            try:
                with unit_of_work(
                    r.engine,
                    read_only=True,
                    service=r.service,
                    principal=r.principal,
                    correlation_id=env.correlation_id,
                    causation_id=event.id,
                ) as uow:
                    event.handler(uow, event.data, env)
                return True
            except PoisonMessage as exc:
                r._dead_letter(event.msg, exc, env.type)
                return False
            except DATABASE_UNAVAILABLE as exc:
                self._wait_for_database(exc, attempt)
                attempt = 0
            except Exception as exc:
                r._failed(env.type).inc()
                if attempt >= r.max_attempts or r._is_poison(exc):
                    r._dead_letter(event.msg, exc, env.type)
                    return False
                log.warning(
                    "handler failed, retrying",
                    extra={"event_type": env.type, "attempt": attempt, "error": type(exc).__name__},
                )
                time.sleep(backoff(attempt, base_s=r.backoff_s, cap_s=2.0))

    def _claim(self, handled: Sequence[_Event]) -> None:
        """Claim the handled events in one statement, in a short transaction of its own."""
        if not handled:
            return
        with Session(self.runner.engine) as session:
            claim_many(session, self.runner.group, sorted((e.id, e.env.type) for e in handled))
            session.commit()

    def _salvage(
        self,
        batch: list[InboundMessage],
        events: list[_Event],
        handled: list[_Event],
        done: list[InboundMessage],
    ) -> None:
        """After a failure in the middle of a batch: claim what was handled (one try) and mark done
        the messages before the first one not finished, so their offsets can be committed."""
        handled_now = {id(e) for e in handled}
        pending = {id(e.msg) for e in events if not e.finished and id(e) not in handled_now}
        try:
            self._claim(handled)
        except Exception:
            return  # nothing is done: the whole batch comes again
        for msg in batch:
            if id(msg) in pending:
                break
            done.append(msg)

    def _retrying(self, work: Callable[[], T]) -> T:
        """`work()` (a short transaction), tried again while the database is unavailable."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return work()
            except DATABASE_UNAVAILABLE as exc:
                self._wait_for_database(exc, attempt)

    def _wait_for_database(self, exc: Exception, attempt: int) -> None:
        """The database is unavailable: not the message's fault. Wait (or stop, when stopping)."""
        r = self.runner
        if r._stop.is_set():
            raise exc
        log.warning("database unavailable, retrying", extra={"error": type(exc).__name__})
        time.sleep(backoff(attempt + 1, base_s=r.backoff_s, cap_s=5.0))

    def _count(self, event: _Event, outcome: str) -> None:
        r = self.runner
        r._consumed(event.env.type, outcome).inc()
        if outcome == "duplicate":
            r._duplicates.inc()
        else:
            r.processed += 1


def _claimed(session: Session, group: str, event_ids: Collection[str]) -> set[str]:
    """Which of `event_ids` `group` has processed already (one read; none when there are none)."""
    if not event_ids:
        return set()
    where = (col(InboxRecord.consumer_group) == group) & col(InboxRecord.event_id).in_(sorted(event_ids))
    return set(session.exec(select(InboxRecord.event_id).where(where)).all())
