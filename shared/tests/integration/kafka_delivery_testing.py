"""What the delivery tests on the real broker share: the topic, the relay in a thread, the consumer
in a thread as a service runs it, and a patient count of the events applied."""

from __future__ import annotations

import threading
import time

from hhpu_shared.db import make_engine
from hhpu_shared.messaging.kafka import KafkaPublisher, KafkaSource
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.runtime import BROKER_ATTEMPT_S
from hhpu_shared.testing import steps
from sqlalchemy.exc import OperationalError

TOPIC = "hhpu.fdtest.events"


class Relay:
    """The relay in a thread of the test process, as in a service."""

    def __init__(self, url: str, bootstrap: str, ns: str) -> None:
        self.engine = make_engine(url)
        steps.create_tables(self.engine)
        # connecting in the bounded attempts a service's relay makes (the broker-kill tests go through them)
        self.publisher = KafkaPublisher(bootstrap, namespace=ns, bootstrap_timeout_s=BROKER_ATTEMPT_S)
        self.relay = OutboxRelay(self.engine, self.publisher, service="writer", interval_s=0.05)

    def __enter__(self) -> Relay:
        self.relay.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.relay.stop()
        self.publisher.close()


def wait_applied(engine_url: str, n: int, timeout_s: float) -> int:
    """How many events the reader has applied, read at least once, waiting up to `timeout_s` for `n`."""
    eng = make_engine(engine_url)
    deadline = time.monotonic() + timeout_s
    locked_until = time.monotonic() + max(timeout_s, 30.0)
    got = -1
    while True:
        try:
            got = steps.applied_count(eng)
        except OperationalError:
            # SQLite: the consumer holds the write lock while it applies a batch (the engine opens
            # every transaction IMMEDIATE); read again, this is not a count.
            assert time.monotonic() < locked_until, "the reader's database stayed locked"
            time.sleep(0.2)
            continue
        if got >= n or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    eng.dispose()
    return got


def consumer_thread(
    reader_url: str, bootstrap: str, ns: str, group: str, stop: threading.Event, instance_id: str = ""
) -> None:
    """The consumer as a service runs it: the runner's own loop, which survives broker outages."""
    eng = make_engine(reader_url)
    steps.create_tables(eng)
    source = KafkaSource(bootstrap, group, [TOPIC], namespace=ns, instance_id=instance_id)
    dlt = KafkaPublisher(bootstrap, namespace=ns)
    runner = steps.make_runner(eng, source, dlt, group)
    runner.start()
    stop.wait()
    runner.stop()
    dlt.close()
