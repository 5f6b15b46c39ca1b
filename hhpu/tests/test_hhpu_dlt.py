"""`hhpu dlt`: a message reaches the dead-letter topic and is replayed from it, on a real broker.

Two consumer groups read one topic. One of them cannot handle one event (its handler fails every
attempt), so that event is dead-lettered for that group only. Once the cause is fixed, the replay
republishes it to the original topic: the group that failed applies it, the group that had already
applied it finds it in its inbox and does nothing. Replaying twice changes nothing more.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hhpu.cli import main
from hhpu.dlt import read_embedded, read_kafka, replay_embedded, replay_kafka
from hhpu_shared import metrics
from hhpu_shared.db import make_engine
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.embedded import EmbeddedLog
from hhpu_shared.messaging.kafka import KafkaPublisher, KafkaSource, ensure_topics
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from hhpu_shared.uow import UnitOfWork
from sqlalchemy import Engine

TOPIC = "hhpu.fdtest.events"


def _registry(broken: Callable[[steps.StepRecorded], bool]) -> HandlerRegistry:
    reg = HandlerRegistry()

    @reg.handles(steps.StepRecorded)
    def _h(uow: UnitOfWork, data: steps.StepRecorded, env: Envelope) -> None:
        if broken(data):
            raise RuntimeError("the downstream system refused it")
        steps.apply_step(uow, data, env)

    return reg


def _runner(engine: Engine, bootstrap: str, ns: str, group: str, reg: HandlerRegistry) -> ConsumerRunner:
    source = KafkaSource(bootstrap, group, [TOPIC], namespace=ns)
    return ConsumerRunner(
        service="steps",
        group=group,
        engine=engine,
        source=source,
        registry=reg,
        dlt_publisher=KafkaPublisher(bootstrap, namespace=ns),
        max_attempts=3,
        backoff_s=0.01,
    )


def _until(
    what: str, check: Callable[[], bool], runners: list[ConsumerRunner], timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for r in runners:
            r.run_once(0.2)


def _duplicates(group: str) -> float:
    return float(metrics.CONSUMER_DUPLICATES.labels("steps", group)._value.get())


@pytest.mark.kafka
def test_dead_lettered_event_is_replayed_and_applied_once_by_each_group(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    ns, ga, gb = unique("dlt") + ".", unique("ga"), unique("gb")
    ensure_topics(kafka_bootstrap, [ns + TOPIC, ns + dlt_topic(TOPIC)])
    writer = make_engine(f"sqlite:///{tmp_path}/writer.db")
    steps.create_tables(writer)
    healthy, fragile = make_engine(f"sqlite:///{tmp_path}/a.db"), make_engine(f"sqlite:///{tmp_path}/b.db")
    for e in (healthy, fragile):
        steps.create_tables(e)
    publisher = KafkaPublisher(kafka_bootstrap, namespace=ns)
    steps.write_steps(writer, ["x"], 3)
    OutboxRelay(writer, publisher, service="writer").drain()
    publisher.close()

    fixed = False
    a = _runner(healthy, kafka_bootstrap, ns, ga, _registry(lambda d: False))
    b = _runner(fragile, kafka_bootstrap, ns, gb, _registry(lambda d: d.seq == 2 and not fixed))
    try:
        _until("both groups through the topic", lambda: a.processed == 3 and b.processed == 2, [a, b])
        assert steps.applied_count(healthy) == 3 and steps.applied_count(fragile) == 2

        dead = read_kafka(kafka_bootstrap, ns)
        assert [d.summary()["consumer_group"] for d in dead] == [gb]
        letter = dead[0]
        assert letter.original_topic == TOPIC and letter.header("dlt_error_type") == "RuntimeError"
        assert letter.summary()["event_type"] == "test.step_recorded"

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            where = ["--bootstrap", kafka_bootstrap, "--namespace", ns]
            return subprocess.run(
                [sys.executable, "-m", "hhpu", "dlt", *args, *where],
                capture_output=True,
                text=True,
                timeout=120,
            )

        # The CLI lists it (--json: a JSON list, for scripts) and shows it: headers, error and event.
        out = cli("list", "--json")
        assert out.returncode == 0, out.stderr
        assert [d["ref"] for d in json.loads(out.stdout)] == [letter.ref]
        out = cli("show", letter.ref)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["ref"] == letter.ref and shown["consumer_group"] == gb
        assert shown["headers"]["dlt_error_type"] == "RuntimeError"
        assert shown["headers"]["dlt_error"] == "the downstream system refused it"
        assert shown["message"]["type"] == "test.step_recorded" and shown["message"]["data"]["seq"] == 2
        missing = cli("show", f"{letter.ref}9")
        assert missing.returncode != 0 and "not in the dead-letter topics" in missing.stderr

        fixed = True
        dup_a = _duplicates(ga)
        out = cli("replay", letter.ref)  # the operator's command, as the runbook says
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"replayed {letter.ref} to {TOPIC}"
        _until("the replayed event", lambda: steps.applied_count(fragile) == 3, [a, b])
        _until("the healthy group to see the replay", lambda: _duplicates(ga) == dup_a + 1, [a, b])
        assert steps.applied_count(healthy) == 3, "the group that had applied it applied it again"
        assert sorted(steps.applied_by_aggregate(fragile)["x"]) == [1, 2, 3]

        # A second replay of the same letter changes nothing (both inboxes hold the event).
        replay_kafka(kafka_bootstrap, ns, [letter])
        _until("both groups to see the second replay", lambda: _duplicates(ga) == dup_a + 2, [a, b])
        _until("the fragile group to see it", lambda: _duplicates(gb) >= 1, [a, b])
        assert steps.applied_count(healthy) == 3 and steps.applied_count(fragile) == 3
        assert len(read_kafka(kafka_bootstrap, ns)) == 1, "the replay must not dead-letter it again"
    finally:
        for r in (a, b):
            r.stop()
            r.dlt.close()  # the runner does not own its dead-letter publisher (a service shares one)


def test_embedded_log_dead_letters_are_listed_and_replayed(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    original = [("event_id", b"e1"), ("dlt_original_topic", TOPIC.encode()), ("dlt_error_type", b"KeyError")]
    log.append([OutboundMessage(dlt_topic(TOPIC), b"k", b'{"type": "test.step_recorded"}', original)])
    log.close()

    dead = read_embedded(tmp_path)
    assert [(d.ref, d.summary()["error_type"], d.summary()["event_type"]) for d in dead] == [
        (f"{TOPIC}.DLT/0/0", "KeyError", "test.step_recorded")
    ]
    replay_embedded(tmp_path, dead)
    log = EmbeddedLog(tmp_path / "events.db")
    (msg, _at), *rest = log.held(TOPIC)
    log.close()
    assert rest == [] and msg.key == b"k" and msg.value == b'{"type": "test.step_recorded"}'
    assert msg.headers == [("event_id", b"e1"), ("dlt_replayed_from", f"{TOPIC}.DLT/0/0".encode())]


def test_dlt_list_prints_a_table_and_json_for_scripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    headers = [
        ("dlt_original_topic", TOPIC.encode()),
        ("dlt_error_type", b"KeyError"),
        ("dlt_consumer_group", b"case-service"),
    ]
    log.append([OutboundMessage(dlt_topic(TOPIC), b"k", b'{"type": "test.step_recorded"}', headers)])
    log.close()
    main(["dlt", "list", "--data-dir", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ref", "topic", "event", "consumer", "group", "error", "age"]
    assert lines[2].split()[:5] == [
        f"{TOPIC}.DLT/0/0",
        TOPIC,
        "test.step_recorded",
        "case-service",
        "KeyError",
    ]
    assert re.fullmatch(r"\d+[smhd]", lines[2].split()[5]) and lines[-1] == "1 dead-lettered message(s)"
    main(["dlt", "list", "--data-dir", str(tmp_path), "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert [(d["ref"], d["error_type"], d["consumer_group"]) for d in listed] == [
        (f"{TOPIC}.DLT/0/0", "KeyError", "case-service")
    ]
