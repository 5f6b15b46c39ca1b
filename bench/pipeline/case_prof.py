"""Per-event cost of a consumer's handler: the case-service's ``referral.screened`` (person, case,
suitability assessment, retention, events) or the meeting-service's ``assessment.opened`` (agenda
item), applied through the real ConsumerRunner from an in-memory source, on a fresh PostgreSQL
database (or SQLite with ``--sqlite``).

Reports per event: CPU ms (this process: Python and driver), wall ms, SQL statements, SAVEPOINTs and
audit flushes (one ``pg_advisory_xact_lock`` each on PostgreSQL, one chain-head read on both).
``--batch 1`` is the runner's one-event-per-transaction path; a larger batch is its one-transaction
path with a savepoint per event (as when the consumer is behind). ``--profile`` adds a cProfile,
``--trace`` the statements of one event.

Run: HHPU_TEST_PG_URL=... .venv/bin/python bench/pipeline/case_prof.py [N] [--handler case|meeting]
     [--batch K] [--sqlite] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import PersonDetails, Trigger
from hhpu_shared.events.contracts.referral import ReferralScreened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database
from sqlalchemy import Engine, event

SYLLABLES = ("bar", "cen", "dol", "fen", "gar", "hul", "kir", "lom", "mor", "nes", "pol", "rud", "sal", "tor")


def family(n: int) -> str:
    out = ""
    for _ in range(5):
        out += SYLLABLES[n % 14]
        n //= 14
    return out.capitalize()


def screened(i: int, agency_id: str) -> ReferralScreened:
    return ReferralScreened(
        referral_id=str(uuid.uuid4()), agency_id=agency_id, eligible=True, reasons=(),
        domains=("domestic_abuse",), urgency="high", statutory_status="unconvicted_suspect",
        match_grade="none", agency_name="Probation",
        subject=PersonDetails(given_name="Huw", family_name=family(i * 7919),
                              date_of_birth=date(1950 + i % 55, 1 + i % 12, 1 + i % 28)),
    )  # fmt: skip


def opened(i: int, _agency_id: str) -> AssessmentOpened:
    return AssessmentOpened(
        assessment_id=str(uuid.uuid4()), person_id=str(uuid.uuid4()), records_id=None,
        person_label=f"Huw {family(i * 7919)}", urgency="high", summary="referral: domestic abuse",
        triggers=(Trigger(source="referral", ref=str(uuid.uuid4()), detail="Probation: domestic abuse"),),
    )  # fmt: skip


def message(data: EventData, offset: int) -> InboundMessage:
    spec = event_spec(type(data))
    aggregate_id = str(getattr(data, "referral_id", None) or getattr(data, "assessment_id", ""))
    env = Envelope(
        type=spec.name, version=spec.version, producer="bench", correlation_id=str(uuid.uuid4()),
        aggregate_type=spec.aggregate_type, aggregate_id=aggregate_id, data=data.model_dump(mode="json"),
    )  # fmt: skip
    return InboundMessage(spec.topic, 0, offset, aggregate_id.encode(), env.to_bytes(), [])


class ListSource:
    """A MessageSource over a list, `batch` messages per poll."""

    def __init__(self, messages: list[InboundMessage], batch: int) -> None:
        self.messages, self.batch = list(messages), batch

    def poll(self, timeout_s: float, max_records: int = 100) -> list[InboundMessage]:
        out, self.messages = self.messages[: self.batch], self.messages[self.batch :]
        return out

    def commit(self, messages: list[InboundMessage]) -> None:
        pass

    def rewind(self, messages: list[InboundMessage]) -> None:
        self.messages = list(messages) + self.messages

    def lag(self) -> int:
        return len(self.messages)

    def close(self) -> None:
        pass


class NoDLT:
    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        raise AssertionError("a bench event was dead-lettered")

    def close(self) -> None:
        pass


class Statements:
    """Counts the SQL statements an engine runs, by their first word (and audit flushes)."""

    def __init__(self, engine: Engine) -> None:
        self.counts: Counter[str] = Counter()
        self.trace: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.counts["all"] += 1
        if self.trace is not None:
            self.trace.append(" ".join(statement.split())[:160])
        self.counts[statement.split(None, 1)[0].upper()] += 1
        if "FROM audit_log ORDER BY" in statement:
            self.counts["audit flush"] += 1


def setup(handler: str, url: str) -> tuple[str, HandlerRegistry, Callable[[int, str], EventData]]:
    if handler == "case":
        from case_service.handlers import handlers as case_handlers
        from case_service.migrations import MIGRATIONS as CASE

        migrated(CASE, url)
        return "case-service", case_handlers, screened
    from meeting_service.handlers import bind
    from meeting_service.migrations import MIGRATIONS as MEETING
    from meeting_service.settings import MeetingSettings

    migrated(MEETING, url)
    return "meeting-service", bind(MeetingSettings(database_url=url)), opened


def run(args: argparse.Namespace, url: str) -> None:
    service, registry, make = setup(args.handler, url)
    engine = make_engine(url)
    stmts = Statements(engine)
    agency = str(uuid.uuid4())
    counter = iter(range(1, 10**9))

    def apply(n: int) -> None:
        msgs = [message(make(next(counter), agency), i) for i in range(n)]
        runner = ConsumerRunner(
            service=service, group=f"{service}-bench", engine=engine, source=ListSource(msgs, args.batch),
            registry=registry, dlt_publisher=NoDLT(),
        )  # fmt: skip
        while runner.run_once(0):
            pass
        assert runner.processed == n, f"{runner.processed} of {n} applied"

    apply(20)  # warm-up: imports, caches, the first meeting
    stmts.counts.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    apply(args.n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = args.n
    load = os.getloadavg()
    print(
        f"{args.handler} handler, {n} events, batch {args.batch}, {engine.dialect.name}, "
        f"load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}"
    )
    print(f"  per event: cpu {cpu / n * 1000:.2f} ms, wall {wall / n * 1000:.2f} ms")
    kinds = ", ".join(f"{k} {v / n:.2f}" for k, v in stmts.counts.most_common() if k != "all")
    print(f"  statements per event: {stmts.counts['all'] / n:.2f} ({kinds})")
    if args.trace:
        stmts.trace = []
        apply(1)
        print("\n".join(stmts.trace))
    if args.profile:
        prof = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
        prof.enable()
        apply(n)
        prof.disable()
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--handler", choices=("case", "meeting"), default="case")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--profile", action="store_true", help="a CPU profile of N more events")
    ap.add_argument("--lines", type=int, default=40, help="how many lines of the profile")
    ap.add_argument("--sort", default="cumulative", help="the profile's order (cumulative, tottime...)")
    ap.add_argument("--trace", action="store_true", help="print the statements of one more event")
    on_fresh_database(run, ap.parse_args(), "caseprof")


def on_fresh_database(
    fn: Callable[[argparse.Namespace, str], None], args: argparse.Namespace, name: str
) -> None:
    """``fn(args, url)`` on a new SQLite file (``--sqlite``) or PostgreSQL database, dropped after."""
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            fn(args, f"sqlite:///{tmp}/prof.db")
        return
    admin = os.environ["HHPU_TEST_PG_URL"]
    url = create_pg_database(admin, name)
    try:
        fn(args, url)
    finally:
        drop_pg_database(admin, url)


if __name__ == "__main__":
    main()
