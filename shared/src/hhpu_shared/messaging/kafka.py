"""Kafka transport (kafka-python 3.0): idempotent producer, manual-commit consumer, topic setup."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import (
    InvalidRecordError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAlreadyExistsError,
)

from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage, RecordRefused

log = logging.getLogger("hhpu.kafka")

# Reconnect quickly after a broker restart: kafka-python backs off exponentially up to 30 s by
# default, which left events waiting up to 37 s after the broker was ready again.
RECONNECT = {"reconnect_backoff_ms": 100, "reconnect_backoff_max_ms": 1000, "retry_backoff_ms": 100}
# Errors about one record, not the broker: sending the same record again fails the same way.
RECORD_REFUSALS = (MessageSizeTooLargeError, InvalidRecordError, RecordListTooLargeError)


def _as_refusal(exc: Exception) -> Exception:
    """`exc` as the relay reads it: a refusal of the one record (`RecordRefused`), or as it is."""
    return RecordRefused(f"{type(exc).__name__}: {exc}") if isinstance(exc, RECORD_REFUSALS) else exc


def ensure_topics(bootstrap: str, topics: list[str], partitions: int = 3, timeout_s: float = 30.0) -> None:
    """Create missing topics (and wait for their leaders); KafkaError when no broker answers in
    `timeout_s` (the client keeps trying to connect until then)."""
    ms = int(timeout_s * 1000)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="hhpu-admin",
        request_timeout_ms=max(ms, 30000),
        bootstrap_timeout_ms=ms,
        **RECONNECT,
    )
    try:
        existing = set(admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            try:
                admin.create_topics(
                    {t: {"num_partitions": partitions, "replication_factor": 1} for t in missing},
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def kafka_reachable(bootstrap: str, timeout_ms: int = 3000) -> bool:
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
        )
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


def _close_now(producer: KafkaProducer) -> None:
    """Close a producer at once, dropping the records it still holds.

    kafka-python 3.0.12's ``close(timeout=0)`` flushes first and, while records are pending, raises
    without stopping the producer: its I/O thread went on trying to send records the relay had already
    counted as failed (and publishes again through the new producer), for as long as the process
    lived, one thread more after every failed publish. The sender is then stopped without sending
    (its own ``force_close``) and the close done again, which then has nothing to wait for."""
    try:
        producer.close(timeout=0)
        return
    except Exception:  # records pending: stopped below
        pass
    sender: Any = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(1.0)
    try:
        producer.close(timeout=0)
    except Exception as exc:  # closing a broken producer is best effort
        log.warning("closing a failed producer: %s", type(exc).__name__)


class KafkaPublisher:
    """Publishes to ``namespace + topic``; a namespace isolates test runs on one broker.

    After a failed publish the producer is replaced by a new one (on the next publish): kafka-python
    3.0.12's idempotent producer, once a batch has expired (the broker away longer than the delivery
    timeout), drops its producer id without asking for a new one and never sends again. A new
    producer gets a new id; the relay republishes what failed, and consumers' inboxes absorb a
    message that did reach the broker before the failure.

    `before_connect` makes it lazy (a service's relay): nothing connects until the first publish,
    which calls it (the runtime makes the topics there) and then makes the producer, so a process
    starts and takes writes while the broker is away (its relay's publishes fail and are retried;
    the outbox keeps the rows). Without it the producer is made at once, and a missing broker
    raises here. `bootstrap_timeout_s` bounds each attempt to connect a producer.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str = "hhpu",
        namespace: str = "",
        before_connect: Callable[[], None] | None = None,
        bootstrap_timeout_s: float = 30.0,
    ) -> None:
        self.namespace = namespace
        self._bootstrap = bootstrap
        self._bootstrap_timeout_ms = int(bootstrap_timeout_s * 1000)
        self._client_id = client_id
        self._before_connect = before_connect
        self._closed = False
        self._made = 0  # producers made: every one after the first replaced a failed one
        self._producer: KafkaProducer | None = None
        if before_connect is None:
            self._ensure_producer()

    @property
    def replaced(self) -> int:
        """How many times the producer was replaced after a failure."""
        return max(0, self._made - 1)

    def _new_producer(self) -> KafkaProducer:
        return KafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=10000,
            delivery_timeout_ms=20000,
            max_block_ms=10000,
            bootstrap_timeout_ms=self._bootstrap_timeout_ms,  # a failed attempt raises; the relay retries
            # The client's own metrics (sensors updated on every produce request) are read by nothing
            # here; the relay exports what it publishes and what fails (hhpu_shared.metrics).
            metrics_enabled=False,
            **RECONNECT,
        )

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            if self._closed:
                raise KafkaError("the publisher is closed")
            if self._before_connect is not None:
                self._before_connect()
            producer = self._new_producer()
            if self._closed:  # closed while this connected (a stopping relay): never used
                _close_now(producer)
                raise KafkaError("the publisher is closed")
            self._producer = producer
            self._made += 1
            if self._made > 1:
                log.info("kafka producer replaced after a failed publish")
        return self._producer

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            _close_now(producer)

    def publish_batch(
        self, messages: list[OutboundMessage], timeout_s: float = 20.0
    ) -> list[Exception | None]:
        """Send every message, then wait on their futures (one deadline for the batch).

        No producer-wide flush: the batch's own records are awaited, so a relay batch costs one
        round of broker acks, and records of other senders sharing the producer are not waited on."""
        try:
            producer = self._ensure_producer()
        except KafkaError as exc:  # no broker to bootstrap from: every message failed
            return [exc for _ in messages]
        futures: list[Any] = []
        failed_keys: dict[bytes, Exception] = {}  # a key whose record send() refused: the rest wait
        sound = True  # only records refused before they were queued: the producer is kept
        for m in messages:
            if m.key in failed_keys:
                futures.append(KafkaError(f"held behind a failed record of its key: {failed_keys[m.key]}"))
                continue
            try:
                futures.append(
                    producer.send(self.namespace + m.topic, key=m.key, value=m.value, headers=m.headers)
                )
            except KafkaError as exc:
                sound = sound and isinstance(exc, RECORD_REFUSALS)
                failed_keys[m.key] = _as_refusal(exc)
                futures.append(failed_keys[m.key])
        deadline = time.monotonic() + timeout_s
        results: list[Exception | None] = []
        for f in futures:
            if isinstance(f, Exception):
                results.append(f)
                continue
            try:
                f.get(timeout=max(0.05, deadline - time.monotonic()))
                results.append(None)
            except Exception as exc:
                sound = False
                results.append(_as_refusal(exc))
        if not sound:
            self._discard_producer()
        return results

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush what the producer holds for up to `timeout_s`, then stop it, whatever is left.

        With records still pending at the deadline (the broker away at shutdown), kafka-python
        3.0.12's ``close`` raises and leaves the producer's I/O thread running; the caller's own
        shutdown stopped there too. Those records were never acknowledged, so the relay never marked
        their rows published: the outbox sends them again on the next start."""
        self._closed = True
        producer, self._producer = self._producer, None
        if producer is None:
            return
        try:
            producer.close(timeout=timeout_s)
        except Exception as exc:
            log.warning(
                "kafka producer closed with records unsent (%s); the outbox keeps them", type(exc).__name__
            )
            _close_now(producer)


METADATA_MAX_AGE_MS = 15_000


def _finish_interrupted_join(consumer: KafkaConsumer) -> None:
    """Make the next poll finish a group join that this poll's timeout interrupted.

    kafka-python 3.0.12 drives a join in flight only while the coordinator says it needs one. A leader
    that rejoins because the topics' metadata changed (the first join came before the metadata, a
    partition was added, a broker answered without a topic's leader) stops needing one as soon as it
    has computed the assignment. When the poll's timeout fell between that and the SyncGroup answer,
    no later poll took the answer: the member held no partition, sent no heartbeat, was dropped from
    the group, and stayed idle for good (once in a test: a third of the events never consumed).
    Marking the rejoin as needed makes the next poll await the join (or, if it has finished, join
    again). The attributes are the library's own; without them (another version) this does nothing.
    """
    coordinator: Any = getattr(consumer, "_coordinator", None)
    if coordinator is None or getattr(coordinator, "_join_task", None) is None:
        return
    if not getattr(coordinator, "rejoin_needed", True):
        coordinator.request_rejoin()


class KafkaSource:
    """Reads ``namespace + topic``; inbound messages carry the topic without the namespace.

    The consumer group is ``namespace + group`` too. A group shared by namespaces (test runs on one
    broker) rebalances as one: a member of another run that stopped polling without leaving held up
    every join of this run's consumers until the broker dropped it (up to ``max.poll.interval.ms``,
    5 minutes). Production runs with no namespace, where the group is the service's name.

    `instance_id` makes the consumer a static group member (``group.instance.id``, prefixed with the
    namespace): a process restarted with the same id gets its partitions back at once, where a
    dynamic member waits for the dead member's session to expire. A dynamic member leaves the group
    on `close` (SIGTERM), so its partitions move at once too.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        *,
        client_id: str = "hhpu",
        namespace: str = "",
        instance_id: str = "",
        session_timeout_ms: int = 6000,
        metadata_max_age_ms: int = METADATA_MAX_AGE_MS,
    ) -> None:
        self.namespace = namespace
        self._consumer = KafkaConsumer(
            *[namespace + t for t in topics],
            bootstrap_servers=bootstrap,
            group_id=namespace + group,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=200,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=1000,
            group_instance_id=(namespace + instance_id) if instance_id else None,
            metrics_enabled=False,  # sensors updated per fetch, read by nothing (the lag is exported)
            # A member that joined before the broker's metadata showed its topic (just created, on a
            # starved broker) holds no partition until its next metadata refresh: 5 minutes by
            # default, which once stalled a consumer past its test's 4-minute bound.
            metadata_max_age_ms=metadata_max_age_ms,
            **RECONNECT,
        )
        self._pending: dict[TopicPartition, OffsetAndMetadata] = {}  # committed, not yet acknowledged
        self.commit_failures = 0

    def poll(self, timeout_s: float, max_records: int = 100) -> list[InboundMessage]:
        batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        _finish_interrupted_join(self._consumer)
        out: list[InboundMessage] = []
        for records in batches.values():
            for r in records:
                out.append(
                    InboundMessage(
                        topic=r.topic[len(self.namespace) :],
                        partition=r.partition,
                        offset=r.offset,
                        key=r.key,
                        value=r.value,
                        headers=list(r.headers or []),
                    )
                )
        return out

    def commit(self, messages: list[InboundMessage]) -> None:
        """Commit the offsets after `messages` without waiting for the broker.

        The effects are already committed to the database, so a commit that fails only means a
        redelivery, which the inbox absorbs; the next commit covers it. Waiting here blocked the
        consumer for up to 30 s per commit while a restarted broker was still loading its group
        coordinator (NotCoordinatorError), with fetched events ready to apply.
        """
        if not messages:
            return
        latest: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(self.namespace + m.topic, m.partition)
            latest[tp] = max(latest.get(tp, -1), m.offset)
        offsets = {tp: OffsetAndMetadata(off + 1, "", -1) for tp, off in latest.items()}
        self._pending.update(offsets)
        self._consumer.commit_async(offsets, callback=self._committed)

    def _committed(self, offsets: dict[TopicPartition, OffsetAndMetadata], result: Any) -> None:
        if isinstance(result, Exception):
            self.commit_failures += 1
            log.info("offset commit failed (the next commit covers it): %s", type(result).__name__)
        else:
            for tp, om in offsets.items():
                if self._pending.get(tp) == om:
                    del self._pending[tp]

    def rewind(self, messages: list[InboundMessage]) -> None:
        first: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(self.namespace + m.topic, m.partition)
            first[tp] = min(first.get(tp, m.offset), m.offset)
        for tp, off in first.items():
            self._consumer.seek(tp, off)

    def partitions(self) -> list[int]:
        """Partitions assigned to this member (of any of its topics), sorted."""
        return sorted(tp.partition for tp in self._consumer.assignment())

    def lag(self) -> int:
        total = 0
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            if high is None:
                continue
            try:
                pos = self._consumer.position(tp, timeout_ms=100)
            except Exception:
                continue
            if pos is not None:
                total += max(0, high - pos)
        return total

    def close(self) -> None:
        """Commit what is not yet acknowledged (bounded), then leave."""
        if self._pending:
            try:
                self._consumer.commit(dict(self._pending), timeout_ms=3000)
            except Exception as exc:  # redelivered after the restart, absorbed by the inbox
                log.warning("final offset commit failed: %s", type(exc).__name__)
        self._consumer.close(timeout_ms=5000)
