"""A consumer group skips the event types it has no handler for by the relay's ``event_type`` header,
without parsing the message; a type it handles is parsed, and dead-lettered if it cannot be."""

from __future__ import annotations

from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import EVENT_TYPE_HEADER, OutboundMessage
from hhpu_shared.testing import steps

TOPIC = "hhpu.fdtest.events"


@pytest.mark.parametrize("outside", [False, True], ids=["in-transaction", "outside-transaction"])
def test_an_unhandled_type_is_skipped_unparsed_and_a_handled_one_still_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outside: bool
) -> None:
    writer, reader = make_engine(f"sqlite:///{tmp_path}/w.db"), make_engine(f"sqlite:///{tmp_path}/r.db")
    for e in (writer, reader):
        steps.create_tables(e)
    bus = InProcessBus()
    runner = steps.make_runner(reader, bus.source("g", [TOPIC]), bus.publisher(), "g", outside=outside)
    steps.write_steps(writer, ["a"], 2)
    OutboxRelay(writer, bus.publisher(), service="w").drain()
    garbage = b"{not an envelope"
    bus.publisher().publish_batch(
        [
            OutboundMessage(TOPIC, b"x", garbage, [(EVENT_TYPE_HEADER, b"other.thing_happened")]),
            OutboundMessage(TOPIC, b"y", garbage, [(EVENT_TYPE_HEADER, b"test.step_recorded")]),
            OutboundMessage(TOPIC, b"z", garbage, []),  # no header (another producer): parsed
        ]
    )
    parsed: list[bytes] = []
    real = Envelope.from_bytes

    def counted(raw: bytes) -> Envelope:
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr(Envelope, "from_bytes", staticmethod(counted))

    while runner.run_once(0.05):
        pass
    assert steps.applied_count(reader) == 2  # the relay's own messages carry their type: handled
    assert parsed.count(garbage) == 2  # the handled type's and the header-less one, not the other type's
    assert [m.key for m in bus.messages(dlt_topic(TOPIC))] == [b"y", b"z"]
