"""`hhpu dlt`: list, inspect and replay dead-lettered events.

A consumer sends a message it cannot handle (after its bounded retries) to ``<topic>.DLT`` with its
origin and the error in ``dlt_*`` headers (see hhpu_shared.messaging.consumer). Once the cause is
fixed, `replay` republishes the message, as it was, to its original topic. Every consumer group of
that topic sees it again, and only the groups that have not processed it act: the others find the
event id in their inbox and skip it. A replay is therefore safe to repeat.

Distributed mode reads Kafka (``--bootstrap``, ``--namespace``, defaults from ``HHPU_KAFKA_BOOTSTRAP``
and ``HHPU_TOPIC_NAMESPACE``). Single-process mode reads the embedded log (``--data-dir``, e.g.
``.run/demo``): a running ``hhpu run`` picks replayed messages up on its next poll.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hhpu_shared.events.base import dlt_topic
from hhpu_shared.events.registry import all_topics
from hhpu_shared.messaging.transport import OutboundMessage

DLT_SUFFIX = ".DLT"


@dataclass(frozen=True)
class DeadLetter:
    topic: str  # the dead-letter topic, without the namespace
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    at: float  # when it was dead-lettered (seconds since the epoch)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None

    @property
    def original_topic(self) -> str:
        return self.header("dlt_original_topic") or self.topic.removesuffix(DLT_SUFFIX)

    @property
    def ref(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"

    def envelope(self) -> dict[str, Any] | None:
        try:
            body = json.loads(self.value)
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def summary(self) -> dict[str, Any]:
        env = self.envelope() or {}
        return {
            "ref": self.ref,
            "dead_lettered_at": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds"),
            "original_topic": self.original_topic,
            "original_partition": self.header("dlt_original_partition"),
            "original_offset": self.header("dlt_original_offset"),
            "consumer_group": self.header("dlt_consumer_group"),
            "error_type": self.header("dlt_error_type"),
            "event_type": env.get("type"),
            "event_id": env.get("event_id"),
            "replayed_from": self.header("dlt_replayed_from"),
        }

    def for_replay(self) -> OutboundMessage:
        """The message as first published (the dead-letter headers dropped), marked as a replay."""
        headers = [(k, v) for k, v in self.headers if not k.startswith("dlt_")]
        headers.append(("dlt_replayed_from", self.ref.encode()))
        return OutboundMessage(self.original_topic, self.key or b"", self.value, headers)


def dead_letter_topics(only: str | None = None) -> list[str]:
    if only:
        return [only if only.endswith(DLT_SUFFIX) else dlt_topic(only)]
    return [dlt_topic(t) for t in all_topics()]


# -- Kafka -------------------------------------------------------------------------------------------
def read_kafka(
    bootstrap: str, namespace: str = "", topics: list[str] | None = None, timeout_s: float = 15.0
) -> list[DeadLetter]:
    """Every message held in the dead-letter topics, oldest first per partition (no group, no commit)."""
    from hhpu_shared.messaging.kafka import RECONNECT
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        client_id="hhpu-dlt",
        **RECONNECT,
    )
    try:
        if topics is None:  # every dead-letter topic of this namespace the broker holds
            held = consumer.topics()
            topics = sorted(
                t[len(namespace) :] for t in held if t.startswith(namespace) and t.endswith(DLT_SUFFIX)
            )
        tps = []
        for t in topics:
            for p in sorted(consumer.partitions_for_topic(namespace + t) or []):
                tps.append(TopicPartition(namespace + t, p))
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        out: list[DeadLetter] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError("the dead-letter topics could not be read to their end")
            for tp, records in consumer.poll(timeout_ms=500).items():
                for r in records:
                    if r.offset < end[tp]:
                        out.append(
                            DeadLetter(
                                topic=r.topic[len(namespace) :],
                                partition=r.partition,
                                offset=r.offset,
                                key=r.key,
                                value=r.value,
                                headers=list(r.headers or []),
                                at=r.timestamp / 1000,
                            )
                        )
        return sorted(out, key=lambda d: (d.topic, d.partition, d.offset))
    finally:
        consumer.close()


def replay_kafka(bootstrap: str, namespace: str, letters: list[DeadLetter]) -> None:
    from hhpu_shared.messaging.kafka import KafkaPublisher

    publisher = KafkaPublisher(bootstrap, client_id="hhpu-dlt", namespace=namespace)
    try:
        errors = publisher.publish_batch([d.for_replay() for d in letters])
    finally:
        publisher.close()
    failed = [(d.ref, e) for d, e in zip(letters, errors, strict=True) if e is not None]
    if failed:
        raise RuntimeError(f"replay failed for {failed}")


# -- the embedded log (single-process mode) ------------------------------------------------------------
def read_embedded(data_dir: Path, topics: list[str] | None = None) -> list[DeadLetter]:
    from hhpu_shared.messaging.embedded import EmbeddedLog

    path = data_dir / "events.db"
    if not path.exists():
        raise FileNotFoundError(f"no embedded log at {path}")
    log = EmbeddedLog(path)
    try:
        out: list[DeadLetter] = []
        for t in topics or dead_letter_topics():
            for m, at in log.held(t):
                out.append(DeadLetter(t, 0, m.offset, m.key, m.value, m.headers, at))
        return out
    finally:
        log.close()


def replay_embedded(data_dir: Path, letters: list[DeadLetter]) -> None:
    from hhpu_shared.messaging.embedded import EmbeddedLog

    log = EmbeddedLog(data_dir / "events.db")
    try:
        log.append([d.for_replay() for d in letters])
    finally:
        log.close()


# -- the command -------------------------------------------------------------------------------------
def _read(args: argparse.Namespace) -> list[DeadLetter]:
    topics = dead_letter_topics(args.topic) if getattr(args, "topic", None) else None
    if args.data_dir:
        return read_embedded(Path(args.data_dir), topics)
    return read_kafka(args.bootstrap, args.namespace, topics)


def _pick(args: argparse.Namespace, letters: list[DeadLetter]) -> list[DeadLetter]:
    if args.all:
        return letters
    if not args.ref:
        raise SystemExit("name a message (TOPIC/PARTITION/OFFSET, as `hhpu dlt list` prints it) or --all")
    by_ref = {d.ref: d for d in letters}
    missing = [r for r in args.ref if r not in by_ref]
    if missing:
        raise SystemExit(f"not in the dead-letter topics: {', '.join(missing)}")
    return [by_ref[r] for r in args.ref]


def _age(seconds: float) -> str:
    """How long ago, in the largest whole unit: '45s', '12m', '3h', '2d'."""
    s = max(0, int(seconds))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def cmd_list(args: argparse.Namespace) -> None:
    """A table (ref, original topic, event, consumer group, error, age); --json: a JSON list."""
    from hhpu.cli.common import table

    letters = _read(args)
    if args.json:
        print(json.dumps([d.summary() for d in letters], indent=2))
        return
    now = time.time()
    rows = [
        [
            d.ref,
            d.original_topic,
            d.summary()["event_type"],
            d.header("dlt_consumer_group"),
            d.header("dlt_error_type"),
            _age(now - d.at),
        ]
        for d in letters
    ]
    print(table(["ref", "topic", "event", "consumer group", "error", "age"], rows, width=64))
    print(f"{len(letters)} dead-lettered message(s)")


def cmd_show(args: argparse.Namespace) -> None:
    letters = _pick(args, _read(args))
    for d in letters:
        headers = {k: v.decode(errors="replace") for k, v in d.headers}
        body = d.envelope() if d.envelope() is not None else d.value.decode(errors="replace")
        print(json.dumps({**d.summary(), "headers": headers, "message": body}, indent=2, default=str))


def cmd_replay(args: argparse.Namespace) -> None:
    letters = _pick(args, _read(args))
    if args.data_dir:
        replay_embedded(Path(args.data_dir), letters)
    else:
        replay_kafka(args.bootstrap, args.namespace, letters)
    for d in letters:
        print(f"replayed {d.ref} to {d.original_topic}")


def add_parser(sub: Any) -> None:
    d = sub.add_parser(
        "dlt",
        help="list, inspect and replay dead-lettered events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dsub = d.add_subparsers(dest="dlt_cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--bootstrap", default=os.environ.get("HHPU_KAFKA_BOOTSTRAP", "127.0.0.1:19092"))
        sp.add_argument("--namespace", default=os.environ.get("HHPU_TOPIC_NAMESPACE", ""))
        sp.add_argument("--data-dir", help="single-process mode: read the embedded log in this directory")
        sp.add_argument("--topic", help="only this topic's dead letters (hhpu.x.events or hhpu.x.events.DLT)")

    ls = dsub.add_parser("list", help="the dead-lettered messages as a table (--json for scripts)")
    common(ls)
    ls.add_argument("--json", action="store_true", help="a JSON list of the messages, for scripts")
    ls.set_defaults(fn=cmd_list)
    for name, fn, helptext in (
        ("show", cmd_show, "headers, error and the event of each named message"),
        ("replay", cmd_replay, "republish each named message to its original topic"),
    ):
        sp = dsub.add_parser(name, help=helptext)
        sp.add_argument("ref", nargs="*", help="TOPIC/PARTITION/OFFSET as `hhpu dlt list` prints it")
        sp.add_argument("--all", action="store_true", help="every dead-lettered message (of --topic)")
        common(sp)
        sp.set_defaults(fn=fn)
