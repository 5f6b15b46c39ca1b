"""The relay's backoff after a batch of which nothing went out (the broker away) counts the failed
publish's own wait: a publish that spent a whole connection attempt failing is tried again at once,
so a broker that comes back during what would have been the backoff is used without that delay; a
publish refused at once still backs off, so a transport that fails fast is not hammered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps


class _Away:
    """A broker that is away: every publish fails after `wait_s` (a connection attempt)."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.calls = 0

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        self.calls += 1
        time.sleep(self.wait_s)
        return [ConnectionError("no broker") for _ in messages]

    def close(self) -> None:
        pass


def _relay(tmp_path: Path, wait_s: float) -> tuple[OutboxRelay, _Away]:
    engine = make_engine(f"sqlite:///{tmp_path}/relay.db")
    steps.create_tables(engine)
    steps.write_steps(engine, ["a"], 2)
    away = _Away(wait_s)
    return OutboxRelay(engine, away, service="backoff", interval_s=0.2, max_backoff_s=2.0), away


def test_a_publish_failing_at_once_backs_off(tmp_path: Path) -> None:
    relay, away = _relay(tmp_path, wait_s=0.0)
    waits = [relay._step() for _ in range(3)]
    assert away.calls == 3 and relay.pending() == 2
    assert waits == pytest.approx([0.4, 0.8, 1.6], abs=0.05)  # doubling from the poll interval, as before


def test_a_publish_that_waited_out_its_attempt_is_tried_again_at_once(tmp_path: Path) -> None:
    relay, away = _relay(tmp_path, wait_s=0.5)
    first, second = relay._step(), relay._step()
    assert away.calls == 2 and relay.pending() == 2
    assert first == 0.0  # the 0.4 s backoff was spent inside the failed publish
    assert 0.0 < second <= 0.8 - 0.5 + 0.05  # only what is left of the next one
