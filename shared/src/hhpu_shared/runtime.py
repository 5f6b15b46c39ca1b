"""A service's moving parts in one object: database, transport, relay and consumer.

Distributed mode: Kafka transport; the API process runs the relay, the consumer process
(``python -m <service>.consumer``) runs the consumer and a relay for the events its
handlers emit. Single-process mode: every service shares one in-process bus and runs its
consumer in a thread. The code paths are the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy import Engine

from hhpu_shared import heap
from hhpu_shared.auth import Principal, ReplayGuard, system_principal
from hhpu_shared.background import BackgroundWorker, ThreadLoop
from hhpu_shared.db import make_engine, ping
from hhpu_shared.events.registry import all_topics, dlt_topic
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.group_lag import GroupLagMonitor
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.outbox_care import OUTBOX_RETENTION
from hhpu_shared.messaging.relay import WARN_AFTER_WAITS, OutboxRelay
from hhpu_shared.messaging.transport import MessageSource, Publisher
from hhpu_shared.migrations import ServiceMigrations
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.uow import UnitOfWork, unit_of_work

log = logging.getLogger("hhpu.runtime")
# Each attempt to reach the broker while it is away (the relay's: the topics, then the producer; a
# consumer process's wait before it subscribes) is bounded, so a stop (a pod's SIGTERM) waits at most
# about this long, and the relay's outbox transaction is never held longer. kafka-python's own
# bootstrap bound is 30 s; within an attempt it retries its connection about every second.
BROKER_ATTEMPT_S = 5.0


def _engine(settings: ServiceSettings) -> Engine:
    """The service's engine, its waits bounded; the pool keeps a connection for every admitted
    request plus the consumers, relay, workers and probes (opened as needed, then kept), so a busy
    API does not open and close a PostgreSQL connection per request beyond the tenth (a new
    connection costs the process about 3 ms of CPU, and PostgreSQL a backend)."""
    url = settings.effective_database_url()
    size = max(10, settings.request_limit() + 8)
    return make_engine(
        url,
        pool_size=size,
        pool_timeout_s=settings.db_pool_timeout_s,
        busy_timeout_s=settings.sqlite_busy_timeout_s,
    )


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations: ServiceMigrations,
        handlers: HandlerRegistry | None = None,
        extra_consumers: Mapping[str, HandlerRegistry] | None = None,
        workers: Sequence[BackgroundWorker] = (),
        bus: InProcessBus | None = None,
        engine: Engine | None = None,
        run_consumer: bool | None = None,
    ) -> None:
        self.settings = settings
        self.service = settings.service_name
        # Identity assertions this process has accepted, so none is accepted twice (auth.py).
        self.replay_guard = ReplayGuard()
        self.engine = engine or _engine(settings)
        # Processes never create tables: `hhpu migrate` does, before they start.
        migrations.require_head(self.engine)
        self.migrations = migrations
        self.handlers = handlers or HandlerRegistry()
        # Further consumer groups of this service (suffix -> handlers), e.g. webhook delivery.
        self.extra_consumers = dict(extra_consumers or {})
        self.extra_runners: list[ConsumerRunner] = []
        # Every service deletes published outbox rows past their retention (messaging/outbox_care.py).
        self.workers = [*workers, OUTBOX_RETENTION]
        self._worker_loops: list[ThreadLoop] = []
        self.bus = bus
        if settings.transport == "inprocess" and self.bus is None:
            self.bus = InProcessBus()
        self._publisher: Publisher | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: ConsumerRunner | None = None
        self.group_lag: GroupLagMonitor | None = None
        # In-process mode always consumes in the API process; Kafka mode only when asked.
        self.run_consumer = run_consumer if run_consumer is not None else settings.transport == "inprocess"
        self.started = False
        self._kafka_last = (float("-inf"), False)  # the last broker check: (monotonic end, answer)
        self._kafka_check = threading.Lock()  # concurrent probes share one check
        self._topics_made = False  # by a consumer, before it subscribes
        self._metrics_served = False

    # -- transport -----------------------------------------------------------------
    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            if self.bus is not None:
                self._publisher = self.bus.publisher()
            else:  # connects on its first publish: the process starts while the broker is away
                from hhpu_shared.messaging.kafka import KafkaPublisher

                self._publisher = KafkaPublisher(
                    self.settings.kafka_bootstrap,
                    client_id=self.service,
                    namespace=self.settings.topic_namespace,
                    before_connect=lambda: self.ensure_topics(timeout_s=BROKER_ATTEMPT_S),
                    bootstrap_timeout_s=BROKER_ATTEMPT_S,
                )
        return self._publisher

    def ensure_topics(self, timeout_s: float = 30.0) -> None:
        """Make every topic missing on the broker (Kafka only; once): before the publisher's first
        producer and before a consumer subscribes. KafkaError: no broker in time."""
        if self.bus is None and not self._topics_made:
            from hhpu_shared.messaging.kafka import ensure_topics

            ensure_topics(self.settings.kafka_bootstrap, self._topic_names(), timeout_s=timeout_s)
            self._topics_made = True

    def wait_for_broker(self, stop: threading.Event, attempt_s: float = BROKER_ATTEMPT_S) -> bool:
        """Until the broker answers (the topics made) or `stop` is set; True once it answered.

        A consumer process started while Kafka is away waits here, serving /metrics (its liveness),
        instead of failing and being restarted with a growing back-off (Kubernetes: up to 5 min, so
        events would have waited that long after the broker was back). Each attempt keeps connecting
        for `attempt_s`, so a broker that comes back is seen within about a second, and SIGTERM is
        honoured within `attempt_s`."""
        from kafka.errors import KafkaError

        waits = 0
        while not stop.is_set():
            try:
                self.ensure_topics(timeout_s=attempt_s)
                return True
            except KafkaError as exc:
                waits += 1
                level = logging.WARNING if waits >= WARN_AFTER_WAITS else logging.INFO
                log.log(
                    level,
                    "waiting for the Kafka broker",
                    extra={"error": type(exc).__name__, "attempt": waits},
                )
        return False

    def serve_metrics(self) -> None:
        """Serve /metrics on `metrics_port` (consumer processes: no API), once."""
        if self.settings.metrics_port and not self._metrics_served:
            from prometheus_client import start_http_server

            start_http_server(self.settings.metrics_port, addr=self.settings.metrics_addr)
            self._metrics_served = True

    def _topic_names(self) -> list[str]:
        """Every topic and its dead-letter topic, in this deployment's namespace."""
        topics = all_topics()
        return [self.settings.topic_namespace + t for t in topics + [dlt_topic(t) for t in topics]]

    def _source(self, group: str, topics: list[str]) -> MessageSource:
        if self.bus is not None:
            return self.bus.source(group, topics)
        from hhpu_shared.messaging.kafka import KafkaSource

        self.ensure_topics()  # before subscribing (a consumer process has waited for the broker)
        return KafkaSource(
            self.settings.kafka_bootstrap,
            group,
            topics,
            client_id=self.service,
            namespace=self.settings.topic_namespace,
            instance_id=self.settings.kafka_instance_id,
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
        )

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    def build_relay(self) -> OutboxRelay:
        if self.relay is None:
            self.relay = OutboxRelay(
                self.engine,
                self.publisher,
                service=self.service,
                batch_size=self.settings.relay_batch_size,
                interval_s=self.settings.relay_interval_s,
                linger_s=self.settings.relay_linger_s,
            )
        return self.relay

    def _runner(self, group: str, registry: HandlerRegistry) -> ConsumerRunner:
        return ConsumerRunner(
            service=self.service,
            group=group,
            engine=self.engine,
            source=self._source(group, registry.topics()),
            registry=registry,
            dlt_publisher=self.publisher,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_s=self.settings.consumer_backoff_s,
            on_commit=self.wake_relay,
        )

    def build_consumer(self, group: str | None = None) -> ConsumerRunner | None:
        """The service's main consumer (group: the service name unless given)."""
        if self.consumer is None and self.handlers.handlers:
            self.consumer = self._runner(group or self.service, self.handlers)
        return self.consumer

    def build_extra_consumer(self, suffix: str, group: str | None = None) -> ConsumerRunner:
        """A further consumer group of the service (group ``<service>-<suffix>`` unless given)."""
        runner = self._runner(group or f"{self.service}-{suffix}", self.extra_consumers[suffix])
        self.extra_runners.append(runner)
        return runner

    def consumer_groups(self) -> dict[str, list[str]]:
        """The service's consumer groups (as `build_consumer` and `build_extra_consumer` name them)
        and the topics each reads."""
        return consumer_groups(self.service, self.handlers, self.extra_consumers)

    def build_group_lag(self) -> GroupLagMonitor | None:
        """Kafka, in a process that does not consume (the API): the lag and live members of the
        service's groups, read from the broker, so a dead consumer's lag is still seen."""
        if self.bus is not None or self.run_consumer or self.settings.kafka_lag_interval_s <= 0:
            return None
        if self.group_lag is None and self.consumer_groups():
            self.group_lag = GroupLagMonitor(
                self.settings.kafka_bootstrap,
                self.consumer_groups(),
                service=self.service,
                namespace=self.settings.topic_namespace,
                interval_s=self.settings.kafka_lag_interval_s,
            )
        return self.group_lag

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        if self.started:
            return
        self.serve_metrics()  # consumer processes serve no API: Prometheus scrapes lag and DLT counts
        self.build_relay().start()
        lag = self.build_group_lag()
        if lag is not None:
            lag.start()
        if self.run_consumer:
            consumer = self.build_consumer()
            if consumer is not None:
                consumer.start()
            for suffix in self.extra_consumers:
                self.build_extra_consumer(suffix).start()
        for worker in self.workers:
            loop = worker.loop(self)
            if loop is not None:
                loop.start()
                self._worker_loops.append(loop)
        self.started = True

    def stop(self) -> None:
        for loop in self._worker_loops:
            loop.stop()
        self._worker_loops = []
        if self.group_lag is not None:
            self.group_lag.stop()
            self.group_lag = None
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None
        for runner in self.extra_runners:
            runner.stop()
        self.extra_runners = []
        if self.relay is not None:
            self.relay.stop()
            self.relay = None
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
        self.started = False

    def readiness(self) -> dict[str, bool]:
        checks = {"database": ping(self.engine)}
        if self.bus is None:
            checks["kafka"] = self._kafka_ready()
        return checks

    def readiness_state(self) -> tuple[str, dict[str, bool]]:
        """``ok``, ``degraded`` or ``unavailable``, with the checks. Only the database is needed to
        serve: with the broker away the API still takes every request (the outbox keeps the events
        until the broker is back), so it stays ready, ``degraded``. Failing readiness for the broker
        would take every API out of a Kubernetes Service while Kafka is down."""
        checks = self.readiness()
        if not checks["database"]:
            return "unavailable", checks
        return ("ok" if all(checks.values()) else "degraded"), checks

    def _kafka_ready(self) -> bool:
        """The broker answers: a good check stands for `kafka_ready_cache_s`, a failed one does not.

        A probe that arrives while another's check runs takes that check's answer (a broker that is
        down costs each wave of probes one timeout, not one per probe)."""
        from hhpu_shared.messaging.kafka import kafka_reachable

        arrived = time.monotonic()
        with self._kafka_check:
            ended, ok = self._kafka_last
            standing = ok and time.monotonic() < ended + self.settings.kafka_ready_cache_s
            if standing or ended >= arrived:
                return ok
            ok = kafka_reachable(self.settings.kafka_bootstrap)
            self._kafka_last = (time.monotonic(), ok)
            return ok

    @contextmanager
    def unit_of_work(
        self,
        principal: Principal | None = None,
        *,
        correlation_id: str | None = None,
        read_only: bool = False,
    ) -> Iterator[UnitOfWork]:
        with unit_of_work(
            self.engine,
            service=self.service,
            principal=principal or system_principal(self.service),
            correlation_id=correlation_id,
            on_commit=self.wake_relay,
            read_only=read_only,
        ) as uow:
            yield uow


def consumer_groups(
    service: str, handlers: HandlerRegistry, extra_consumers: Mapping[str, HandlerRegistry]
) -> dict[str, list[str]]:
    """A service's consumer groups, without the namespace, and the topics each reads: its main group
    (the service's name) when it has handlers, and ``<service>-<suffix>`` for each further one."""
    groups = {service: handlers.topics()} if handlers.handlers else {}
    for suffix, registry in extra_consumers.items():
        groups[f"{service}-{suffix}"] = registry.topics()
    return groups


def run_until_signalled(runtime: ServiceRuntime) -> None:
    """Run a service's background work (relay, consumer) until SIGTERM or SIGINT.

    The body of every ``python -m <service>.consumer`` entrypoint.
    """
    import signal
    import threading

    from hhpu_shared.logging import configure_logging

    configure_logging(
        runtime.service, runtime.settings.log_level, kafka_level=runtime.settings.kafka_log_level
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.serve_metrics()
    if runtime.bus is None and runtime.run_consumer and not runtime.wait_for_broker(stop):
        return  # signalled while the broker was away: nothing was started
    runtime.start()
    heap.settle()
    log.info("background work running", extra={"service": runtime.service})
    try:
        stop.wait()
    finally:
        runtime.stop()
