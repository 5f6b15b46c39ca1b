"""Per-event cost of a consumer's handler: the case-service's ``referral.screened`` (person, case,
suitability assessment, retention, events) and ``ranking.candidate_identified``, or the
meeting-service's ``assessment.opened`` (agenda item), applied through the real ConsumerRunner from an
in-memory source, on a fresh PostgreSQL database (or SQLite with ``--sqlite``).

Workloads of the case handler (``--workload``): ``new`` a referral about a person new to the unit (the
pipeline's case); ``known`` a second referral about a person known by a first one (records id, open
assessment); ``candidate`` a ranking candidate not known yet; ``candidate-known`` the next run's
candidate for the same person. The people a measured run needs are written before the clock starts.

Reports per event: CPU ms (this process: Python and driver), wall ms, SQL statements, SAVEPOINTs and
audit flushes (one ``pg_advisory_xact_lock`` each on PostgreSQL, one chain-head read on both).
``--batch 1`` is the runner's one-event-per-transaction path; a larger batch is its one-transaction
path with a savepoint per event (as when the consumer is behind). ``--profile`` adds a cProfile,
``--trace`` the statements of one event. ``--compare R`` measures every workload R rounds, the
general (ORM) path as ``before`` (the plain paths of known people and candidates switched off; a new
person's referral keeps its own) interleaved with ``after``, and writes bench/results/case_prof.json.

Run: HHPU_TEST_PG_URL=... .venv/bin/python bench/pipeline/case_prof.py [N] [--handler case|meeting]
     [--workload new|known|candidate|candidate-known] [--batch K] [--sqlite] [--profile] [--trace]
     [--compare ROUNDS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import PersonDetails, Trigger
from hhpu_shared.events.contracts.ranking import CandidateIdentified, Contribution
from hhpu_shared.events.contracts.referral import ReferralScreened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.consumer import ConsumerRunner
from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database
from prof_loop import measure
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
    aggregate_id = str(
        getattr(data, "referral_id", None)
        or getattr(data, "assessment_id", None)
        or getattr(data, "person_ref", "")
    )
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


def candidate(i: int, run_id: str) -> CandidateIdentified:
    return CandidateIdentified(
        run_id=run_id, person_ref=f"R{i}", rank=1 + i % 500, score=812.5, as_of=date(2026, 11, 1),
        provisional=False, subject=subject(i, f"R{i}"),
        top_contributions=(Contribution(offence_code="008/66", offence_name="Stalking",
                                        offence_date=date(2026, 6, 1), harm=252.0, weighted=230.1),),
    )  # fmt: skip


def subject(i: int, records_id: str | None = None) -> PersonDetails:
    return PersonDetails(
        given_name="Huw", family_name=family(i * 7919), records_id=records_id,
        date_of_birth=date(1950 + i % 55, 1 + i % 12, 1 + i % 28),
    )  # fmt: skip


def known(i: int, agency_id: str) -> ReferralScreened:
    """A referral naming person R<i> (a certain match), as `screened` otherwise."""
    first = screened(i, agency_id)
    return first.model_copy(
        update={"match_grade": "certain", "matched_person_ref": f"R{i}", "subject": subject(i, f"R{i}")}
    )


Prepare = Callable[[Callable[[list[EventData]], None], int], list[EventData]]


def workloads(agency: str) -> dict[str, Prepare]:
    """name -> prepare(apply, n): the n events to time (what they need written first by `apply`)."""
    counter = iter(range(1, 10**9))

    def new(_apply: Callable[[list[EventData]], None], n: int) -> list[EventData]:
        return [screened(next(counter), agency) for _ in range(n)]

    def known_people(apply: Callable[[list[EventData]], None], n: int) -> list[EventData]:
        ids = [next(counter) for _ in range(n)]
        apply([known(i, agency) for i in ids])
        return [known(i, agency) for i in ids]  # new referral ids: a second referral each

    def candidates(_apply: Callable[[list[EventData]], None], n: int) -> list[EventData]:
        return [candidate(next(counter), "run-1") for _ in range(n)]

    def known_candidates(apply: Callable[[list[EventData]], None], n: int) -> list[EventData]:
        ids = [next(counter) for _ in range(n)]
        apply([candidate(i, "run-1") for i in ids])
        return [candidate(i, "run-2") for i in ids]

    return {"new": new, "known": known_people, "candidate": candidates, "candidate-known": known_candidates}


def general_path_only() -> Callable[[], None]:
    """Switch the plain paths of known people and candidates off (`before`); returns the undo."""
    from case_service.service import known as known_path
    from case_service.service import newcomers

    saved = [(known_path, "referral"), (known_path, "candidate"), (newcomers, "candidate")]
    originals = [(m, name, getattr(m, name)) for m, name in saved]
    for m, name in saved:
        setattr(m, name, lambda *_a, **_k: False)

    def undo() -> None:
        for m, name, f in originals:
            setattr(m, name, f)

    return undo


def run(args: argparse.Namespace, url: str) -> None:
    if args.handler == "meeting":
        from meeting_service.handlers import bind
        from meeting_service.migrations import MIGRATIONS as MEETING
        from meeting_service.settings import MeetingSettings

        migrated(MEETING, url)
        service, registry = "meeting-service", bind(MeetingSettings(database_url=url))
    else:
        from case_service.handlers import handlers as case_handlers
        from case_service.migrations import MIGRATIONS as CASE

        migrated(CASE, url)
        service, registry = "case-service", case_handlers
    engine = make_engine(url)
    stmts = Statements(engine)
    agency = str(uuid.uuid4())
    counter = iter(range(1, 10**9))
    loads = workloads(agency)
    if args.handler == "meeting":
        loads = {"opened": lambda _apply, n: [opened(next(counter), agency) for _ in range(n)]}

    def handle(events: list[EventData]) -> None:
        msgs = [message(e, i) for i, e in enumerate(events)]
        runner = ConsumerRunner(
            service=service, group=f"{service}-bench", engine=engine, source=ListSource(msgs, args.batch),
            registry=registry, dlt_publisher=NoDLT(),
        )  # fmt: skip
        while runner.run_once(0):
            pass
        assert runner.processed == len(msgs), f"{runner.processed} of {len(msgs)} applied"

    def one(workload: str) -> dict[str, Any]:
        prepare = loads[workload]

        def timed(n: int) -> tuple[float, float]:
            events = prepare(handle, n)
            stmts.counts.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            handle(events)
            return time.process_time() - cpu, time.perf_counter() - wall

        title = (
            f"{args.handler} handler, {workload}, {args.n} events, batch {args.batch}, {engine.dialect.name}"
        )
        got: dict[str, Any] = measure(
            args, stmts, title=title, unit="event", apply=lambda n: handle(prepare(handle, n)), timed=timed
        )
        return got

    if not args.compare:
        one(args.workload if args.handler == "case" else "opened")
        return
    figures: list[dict[str, Any]] = []
    for r in range(1, args.compare + 1):
        for workload in loads:
            for code in ("before", "after"):
                undo = general_path_only() if code == "before" else None
                print(f"== round {r} {workload} {code}")
                try:
                    got = one(workload)
                finally:
                    if undo is not None:
                        undo()
                figures.append({"round": r, "workload": workload, "code": code, **got})
    summary = {}
    for workload in loads:
        for code in ("before", "after"):
            mine = [f for f in figures if f["workload"] == workload and f["code"] == code]
            cpu = sorted(f["cpu_ms"] for f in mine)
            summary[f"{workload} {code}"] = {
                "cpu_ms_median": statistics.median(cpu), "cpu_ms_range": [cpu[0], cpu[-1]],
                "wall_ms_median": statistics.median(f["wall_ms"] for f in mine),
                "statements": mine[-1]["statements"],
            }  # fmt: skip
        b, a = summary[f"{workload} before"], summary[f"{workload} after"]
        print(f"{workload}: cpu ms/event {b['cpu_ms_median']:.2f} -> {a['cpu_ms_median']:.2f}, "
              f"statements {b['statements']} -> {a['statements']}")  # fmt: skip
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from common import write_result

    write_result(
        "case_prof",
        {"handler": args.handler, "events_per_run": args.n, "batch": args.batch,
         "database": engine.dialect.name, "rounds": args.compare, "summary": summary, "runs": figures,
         "before": "plain paths of known people and candidates switched off (the general ORM path); "
                   "a new person's referral keeps its plain path in both"},
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--handler", choices=("case", "meeting"), default="case")
    ap.add_argument("--workload", choices=("new", "known", "candidate", "candidate-known"), default="new")
    ap.add_argument("--compare", type=int, default=0, help="rounds of before/after, every workload")
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
