"""A consumer whose source answers at once with nothing does not spin a core.

Kafka's poll blocks until a message or its timeout; a source that does not (a group still joining, a
broker connection failing fast) made the runner poll again at once, thousands of times a second. After
a few such polls in a row the runner rests 50 ms; a single one (the in-process bus woken for another
group's topic) is retried at once, so messages are not delayed by it."""

from __future__ import annotations

import time
from pathlib import Path

from hhpu_shared.db import make_engine
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import InboundMessage


class ImpatientSource:
    """Answers every poll at once with nothing, whatever its timeout; counts the polls."""

    def __init__(self) -> None:
        self.polls = 0

    def poll(self, timeout_s: float, max_records: int = 100) -> list[InboundMessage]:
        self.polls += 1
        return []

    def commit(self, messages: list[InboundMessage]) -> None:
        pass

    def rewind(self, messages: list[InboundMessage]) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_source_that_never_blocks_is_polled_at_a_bounded_rate(tmp_path: Path) -> None:
    source = ImpatientSource()
    runner = ConsumerRunner(
        service="t",
        group="idle",
        engine=make_engine(f"sqlite:///{tmp_path}/idle.db"),
        source=source,  # type: ignore[arg-type]
        registry=HandlerRegistry(),
        dlt_publisher=InProcessBus().publisher(),
    )
    runner.start()
    try:
        time.sleep(1.0)
    finally:
        runner.stop()
    # about 20 rests a second, 3 polls each; without the rest it was hundreds of thousands
    assert 10 <= source.polls <= 200, source.polls
