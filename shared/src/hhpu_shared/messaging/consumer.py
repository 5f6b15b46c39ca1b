"""Consumer runner: idempotent handling, offsets after the database commit, dead letters.

A poll batch is handled in one database transaction: every message is parsed and checked against its
contract, the events are claimed in the inbox with one statement, and the claimed events' handlers
run in that transaction; if one fails, the transaction is undone and the batch is handled again with
each event in its own savepoint. A duplicate (already in the inbox) is skipped. A handler error is
retried in place with bounded backoff (keeping order); after the last attempt, or at once for a
message that cannot be parsed, the message goes to ``<topic>.DLT`` with the error and its
origin in headers. Offsets are committed only after the database work is committed. A group whose
handlers work outside any transaction takes the path of ``hhpu_shared.messaging.outside``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from hhpu_shared import metrics
from hhpu_shared.auth import system_principal
from hhpu_shared.background import ThreadLoop, backoff
from hhpu_shared.db import DATABASE_UNAVAILABLE
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, dlt_topic, parse_data
from hhpu_shared.messaging.handlers import Handler, HandlerRegistry, PoisonMessage
from hhpu_shared.messaging.in_batch import InBatch, Ready
from hhpu_shared.messaging.inbox import claim
from hhpu_shared.messaging.outside import OutsideTransaction
from hhpu_shared.messaging.transport import (
    EVENT_TYPE_HEADER,
    InboundMessage,
    MessageSource,
    OutboundMessage,
    Publisher,
)
from hhpu_shared.uow import unit_of_work

__all__ = ["BATCH_MAX", "BATCH_MIN", "ConsumerRunner", "Handler", "HandlerRegistry", "PoisonMessage"]

log = logging.getLogger("hhpu.consumer")


# Batches start small after an idle poll and double while full, up to BATCH_MAX: after a restart or a
# broker outage the first effects of a backlog are committed after a batch of BATCH_MIN events, not
# of BATCH_MAX (what the recovery goals measure), and a steady backlog still goes in full batches.
BATCH_MIN, BATCH_MAX = 10, 100
# Polls that come back at once with nothing, this many in a row, and the loop rests before the next:
# a source that does not block (a group still joining, a broker connection failing fast) would
# otherwise spin a core. One such poll (the in-process bus woken for another group's topic) does not.
EMPTY_POLLS_BEFORE_REST, EMPTY_POLL_REST_S, FAST_POLL_S = 3, 0.05, 0.01


class ConsumerRunner:
    def __init__(
        self,
        *,
        service: str,
        group: str,
        engine: Engine,
        source: MessageSource,
        registry: HandlerRegistry,
        dlt_publisher: Publisher,
        max_attempts: int = 4,
        backoff_s: float = 0.05,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.group = group
        self.engine = engine
        self.source = source
        self.registry = registry
        self.dlt = dlt_publisher
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.on_commit = on_commit
        self.principal = system_principal(f"{service}-consumer")
        self._stop = threading.Event()
        self._loop: ThreadLoop | None = None
        self.processed = 0
        self.batch_size = BATCH_MIN  # how many messages the next poll may take
        self._fast_empty_polls = 0  # polls in a row that came back at once with nothing
        self._consumed_children: dict[tuple[str, str], Any] = {}
        self._failed_children: dict[str, Any] = {}
        self._duplicates = metrics.CONSUMER_DUPLICATES.labels(service, group)
        self._outside = OutsideTransaction(self) if registry.outside_transaction else None
        self._in_batch = InBatch(self)
        self._export_counters()

    def _export_counters(self) -> None:
        """Export the alerting counters at 0 from the start: a labelled counter is otherwise created
        by its first increment, so the first dead letter shows no increase() and its alert never fires."""
        for name, _version in self.registry.handlers:
            self._failed(name)
        try:
            topics = self.registry.topics()
        except KeyError:  # a handler for an unknown event: reported when the consumer subscribes
            topics = []
        for topic in topics:
            metrics.EVENTS_DEAD_LETTERED.labels(self.service, self.group, topic)

    def run_once(self, timeout_s: float = 0.5) -> int:
        """Poll one batch and handle it; return how many messages were taken.

        The batch is handled in one database transaction, each event in its own savepoint (so a
        failing event is undone alone, retried, and dead-lettered alone); offsets are committed after
        the database commit. If the batch transaction itself fails, the batch is handled again one
        event per transaction, which is also how a database outage is waited out. An
        ``outside_transaction`` group's batch takes the path of ``hhpu_shared.messaging.outside``.
        """
        batch = self.source.poll(timeout_s, self.batch_size)
        if not batch:
            self.batch_size = BATCH_MIN
            return 0
        done: list[InboundMessage] = []
        try:
            if self._outside is not None:
                self._outside.run(batch, done)
            else:
                # One event per transaction for a single message, or when the batch transaction failed
                # (then only the messages it had not already dead-lettered or ignored).
                left = batch if len(batch) == 1 else self._process_batch(batch)
                again = {id(msg) for msg in left}
                for msg in batch:
                    if id(msg) in again:
                        self._process(msg)
                    done.append(msg)
        except BaseException:
            # Commit what is done and go back to the first unfinished message, so a
            # failure inside this process never skips a message.
            self._commit(done)
            self.source.rewind(batch[len(done) :])
            raise
        self._commit(batch)
        if len(batch) >= self.batch_size:
            self.batch_size = min(BATCH_MAX, self.batch_size * 2)
        try:
            metrics.CONSUMER_LAG.labels(self.service, self.group).set(self.source.lag())
        except Exception:  # lag is best effort
            pass
        return len(batch)

    def _process_batch(self, batch: list[InboundMessage]) -> list[InboundMessage]:
        """Handle every message of the batch in one transaction; the messages left to handle one at a
        time: none, or (nothing kept) those with a handler when the batch transaction failed.

        Every message is parsed and checked against its contract first (one that fails goes to the
        dead-letter topic at once); the events with a handler are then claimed in the inbox with one
        statement and handled in the batch's transaction. If a handler fails, that transaction is
        undone and the batch is handled again with each event in its own savepoint, so the failing
        event is retried and dead-lettered alone (``hhpu_shared.messaging.in_batch``).
        """
        ready = self._parse_batch(batch)
        if not ready:
            return []
        return self._in_batch.run(ready)

    def _parse_batch(self, batch: list[InboundMessage]) -> Ready:
        """The batch's events that have a handler, with their checked data, in order; an unparseable
        message or one that breaks its contract is dead-lettered now (before any effect)."""
        ready = []
        for msg in batch:
            decoded = self._decode(msg)
            if decoded is not None:
                env, handler = decoded
                data = self._check(msg, env)
                if data is not None:
                    ready.append((msg, env, data, handler))
        return ready

    def _decode(self, msg: InboundMessage) -> tuple[Envelope, Handler] | None:
        """The message's envelope and its handler; None for a message this group ignores (counted) or
        one that cannot be parsed (dead-lettered now). The relay names each message's event type in
        a header: a type this group has no handler for is ignored without parsing the message (the
        groups that handle it parse it, and dead-letter it if they cannot)."""
        declared = msg.header(EVENT_TYPE_HEADER)
        if declared is not None and not self.registry.handles_type(declared):
            self._consumed(declared, "ignored").inc()
            return None
        try:
            env = Envelope.from_bytes(msg.value)
        except Exception as exc:
            self._dead_letter(msg, exc, "unparseable")
            return None
        handler = self.registry.handler_for(env)
        if handler is None:
            self._consumed(env.type, "ignored").inc()
            return None
        return env, handler

    def _check(self, msg: InboundMessage, env: Envelope) -> EventData | None:
        """The event's data checked against its contract; None (dead-lettered now) if it breaks it."""
        try:
            return parse_data(env)
        except Exception as exc:
            self._failed(env.type).inc()
            self._dead_letter(msg, exc, env.type)
            return None

    def _consumed(self, event_type: str, outcome: str) -> Any:
        """The events-consumed counter of one type and outcome (its labelled child made once)."""
        key = (event_type, outcome)
        child = self._consumed_children.get(key)
        if child is None:
            child = metrics.EVENTS_CONSUMED.labels(self.service, self.group, event_type, outcome)
            self._consumed_children[key] = child
        return child

    def _failed(self, event_type: str) -> Any:
        child = self._failed_children.get(event_type)
        if child is None:
            child = self._failed_children[event_type] = metrics.EVENTS_FAILED.labels(
                self.service, self.group, event_type
            )
        return child

    def _commit(self, messages: list[InboundMessage]) -> None:
        """Commit offsets; a failure (broker away) only means these may be delivered again,
        which the inbox absorbs, so it is logged and the next commit covers them."""
        if not messages:
            return
        try:
            self.source.commit(messages)
        except Exception as exc:
            log.warning(
                "offset commit failed; messages may be redelivered", extra={"error": type(exc).__name__}
            )

    def _process(self, msg: InboundMessage) -> None:
        decoded = self._decode(msg)
        if decoded is None:
            return
        env, handler = decoded
        attempt = 0
        while True:
            attempt += 1
            try:
                self._handle(env, handler)
                return
            except PoisonMessage as exc:
                self._dead_letter(msg, exc, env.type)
                return
            except DATABASE_UNAVAILABLE as exc:
                # The database is unavailable: not the message's fault. Wait and retry
                # without limit; dead-lettering here would lose a good event.
                if self._stop.is_set():
                    raise
                log.warning("database unavailable, retrying", extra={"error": type(exc).__name__})
                time.sleep(backoff(attempt + 1, base_s=self.backoff_s, cap_s=5.0))
                attempt = 0
            except Exception as exc:
                self._failed(env.type).inc()
                if attempt >= self.max_attempts or self._is_poison(exc):
                    self._dead_letter(msg, exc, env.type)
                    return
                log.warning(
                    "handler failed, retrying",
                    extra={"event_type": env.type, "attempt": attempt, "error": type(exc).__name__},
                )
                time.sleep(backoff(attempt, base_s=self.backoff_s, cap_s=2.0))

    @staticmethod
    def _is_poison(exc: Exception) -> bool:
        from pydantic import ValidationError

        return isinstance(exc, ValidationError | KeyError | TypeError)

    def _handle(self, env: Envelope, handler: Handler) -> None:
        data = parse_data(env)  # contract check before any effect
        with unit_of_work(
            self.engine,
            service=self.service,
            principal=self.principal,
            correlation_id=env.correlation_id,
            causation_id=str(env.event_id),
            on_commit=self.on_commit,
        ) as uow:
            if not claim(uow.session, self.group, str(env.event_id), env.type):
                self._duplicates.inc()
                self._consumed(env.type, "duplicate").inc()
                return
            handler(uow, data, env)
        self.processed += 1
        self._consumed(env.type, "ok").inc()

    def _dead_letter(self, msg: InboundMessage, exc: Exception, event_type: str) -> None:
        headers = list(msg.headers) + [
            ("dlt_original_topic", msg.topic.encode()),
            ("dlt_original_partition", str(msg.partition).encode()),
            ("dlt_original_offset", str(msg.offset).encode()),
            ("dlt_consumer_group", self.group.encode()),
            ("dlt_error_type", type(exc).__name__.encode()),
            ("dlt_error", str(exc)[:1000].encode()),
        ]
        out = OutboundMessage(dlt_topic(msg.topic), msg.key or b"", msg.value, headers)
        while True:
            err = self.dlt.publish_batch([out])[0]
            if err is None:
                break
            log.error("dead-letter publish failed, retrying", extra={"error": type(err).__name__})
            time.sleep(1.0)
            if self._stop.is_set():
                raise err
        metrics.EVENTS_DEAD_LETTERED.labels(self.service, self.group, msg.topic).inc()
        log.error(
            "message dead-lettered",
            extra={
                "event_type": event_type,
                "topic": msg.topic,
                "offset": msg.offset,
                "error": type(exc).__name__,
            },
        )

    def _step(self) -> float:
        started = time.monotonic()
        if self.run_once(0.5) or time.monotonic() - started > FAST_POLL_S:
            self._fast_empty_polls = 0
            return 0.0
        self._fast_empty_polls += 1
        return EMPTY_POLL_REST_S if self._fast_empty_polls >= EMPTY_POLLS_BEFORE_REST else 0.0

    def start(self) -> None:
        if self._loop is None:
            self._loop = ThreadLoop(f"consumer-{self.group}", self._step, service=self.service)
            self._stop.clear()
            self._loop.start()

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        self.source.close()
