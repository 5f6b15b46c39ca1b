"""Per-referral cost of the referral-api's consumer process's handlers, as `case_prof.py` measures
the case-service's: the real ConsumerRunner over an in-memory source, on a fresh PostgreSQL
database (or SQLite with ``--sqlite``).

What the referral-api's consumer handles for each referral of the pipeline:

- group ``referral-api``: the case-service's ``assessment.opened`` (the referral goes under
  assessment: status, history, ``referral.status_changed``, audit);
- group ``referral-api-webhooks``: the referral topic, i.e. per referral two
  ``referral.status_changed`` (submitted -> screened at intake, screened -> under_assessment from the
  first group) handled outside any transaction, and ``referral.submitted`` and ``referral.screened``,
  which it ignores. The agency has no webhook (as in the pipeline benchmark: nothing is posted).

``--group main|webhooks|both`` picks what is timed (both: the whole consumer's handling per
referral). Referral rows (status ``screened``) are written before the clock starts. Reports per
referral: CPU ms, wall ms, SQL statements by kind. ``--json FILE --label L`` appends the figures to
FILE (``bench/results/referral_prof.json``), for before/after runs of two trees (one on PYTHONPATH).

Run: HHPU_TEST_PG_URL=... .venv/bin/python bench/pipeline/referral_prof.py [N] [--group both]
     [--batch K] [--sqlite] [--profile] [--trace] [--json FILE --label L]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.referral import ReferralStatusChanged, ReferralSubmitted
from hhpu_shared.events.registry import EventData
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.transport import InboundMessage
from hhpu_shared.testing.databases import migrated
from sqlalchemy import Engine, insert

sys.path.insert(0, str(Path(__file__).parent))
from case_prof import ListSource, NoDLT, Statements, message, on_fresh_database, screened  # noqa: E402
from prof_loop import measure  # noqa: E402


def seed(engine: Engine, n: int) -> tuple[str, list[str]]:
    """An agency without a webhook and `n` referrals of it in status `screened`."""
    from referral_api.models import Agency, Referral

    agency, now = str(uuid.uuid4()), datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(n)]
    rows: list[dict[str, object]] = [
        {
            "id": rid, "agency_id": agency, "partner_reference": None, "status": "screened",
            "status_reason": "eligible", "subject_given_name": "Huw", "subject_family_name": "Bench",
            "subject_dob": None, "domains_key": ",domestic_abuse,", "urgency": "high",
            "route": "partner", "statutory_status": "unconvicted_suspect", "legal_gateway": "s115",
            "payload": {}, "eligible": True, "screening_reasons": [], "match_grade": "none",
            "submitted_by": "bench", "submitted_at": now, "updated_at": now,
        }
        for rid in ids
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(Agency.__table__),  # type: ignore[attr-defined]
            {"id": agency, "name": f"Bench {agency[:8]}", "agency_type": "probation",
             "contact_name": "Bench", "active": True, "created_at": now, "updated_at": now},
        )  # fmt: skip
        conn.execute(insert(Referral.__table__), rows)  # type: ignore[attr-defined]
    return agency, ids


def main_events(agency: str, ids: list[str]) -> list[EventData]:
    return [
        AssessmentOpened(
            assessment_id=str(uuid.uuid4()),
            person_id=str(uuid.uuid4()),
            records_id=None,
            person_label="Huw Bench",
            urgency="high",
            summary="referral: domestic abuse",
            triggers=(Trigger(source="referral", ref=rid, detail="Probation: domestic abuse"),),
        )  # fmt: skip
        for rid in ids
    ]


def webhook_events(agency: str, ids: list[str]) -> list[EventData]:
    out: list[EventData] = []
    for i, rid in enumerate(ids):
        out.append(  # ignored by the group
            ReferralSubmitted(
                referral_id=rid, agency_id=agency, partner_reference=None, domains=("domestic_abuse",),
                urgency="high", route="partner_referral", submitted_at=datetime.now(UTC),
            )
        )  # fmt: skip
        for old, new, why in (
            ("submitted", "screened", "eligible"),
            ("screened", "under_assessment", "assessment_opened"),
        ):
            change = ReferralStatusChanged(
                referral_id=rid, agency_id=agency, from_status=old, to_status=new, reason_code=why
            )
            out.append(change)
            if new == "screened":
                out.append(screened(i, agency))  # ignored by the group
    return out


def run(args: argparse.Namespace, url: str) -> None:
    from referral_api.handlers import handlers, webhook_handlers
    from referral_api.migrations import MIGRATIONS
    from referral_api.service import webhooks
    from referral_api.settings import ReferralSettings

    migrated(MIGRATIONS, url)
    engine = make_engine(url)
    webhooks._SETTINGS[engine] = ReferralSettings(database_url=url)
    stmts = Statements(engine)
    groups: list[tuple[str, HandlerRegistry, object]] = []
    if args.group in ("main", "both"):
        groups.append(("referral-api", handlers, main_events))
    if args.group in ("webhooks", "both"):
        groups.append(("referral-api-webhooks", webhook_handlers, webhook_events))

    def apply(n: int) -> None:
        agency, ids = seed(engine, n)
        for group, registry, make in groups:
            data = make(agency, ids)  # type: ignore[operator]
            msgs: list[InboundMessage] = [message(d, i) for i, d in enumerate(data)]
            runner = ConsumerRunner(
                service="referral-api", group=group, engine=engine, source=ListSource(msgs, args.batch),
                registry=registry, dlt_publisher=NoDLT(),
            )  # fmt: skip
            while runner.run_once(0):
                pass

    def timed(n: int) -> tuple[float, float]:
        agency, ids = seed(engine, n)
        runs = []
        for group, registry, make in groups:
            data = make(agency, ids)  # type: ignore[operator]
            msgs = [message(d, i) for i, d in enumerate(data)]
            runs.append(ConsumerRunner(
                service="referral-api", group=group, engine=engine, source=ListSource(msgs, args.batch),
                registry=registry, dlt_publisher=NoDLT(),
            ))  # fmt: skip
        stmts.counts.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        for runner in runs:
            while runner.run_once(0):
                pass
        return time.process_time() - cpu, time.perf_counter() - wall

    title = f"referral-api consumer, group {args.group}, {args.n} referrals, batch {args.batch}"
    title += f", {engine.dialect.name}"
    figures = measure(args, stmts, title=title, unit="referral", apply=apply, timed=timed)
    if args.json:
        record = {
            "label": args.label, "group": args.group, "referrals": args.n, "batch": args.batch,
            "database": engine.dialect.name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "load": figures["load_average"], "cpu_ms_per_referral": figures["cpu_ms"],
            "wall_ms_per_referral": figures["wall_ms"],
            "statements_per_referral": {"all": figures["statements"], **figures["statement_kinds"]},
        }  # fmt: skip
        path = Path(args.json)
        doc = json.loads(path.read_text()) if path.exists() else {"runs": []}
        doc["runs"].append(record)
        path.write_text(json.dumps(doc, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=200)
    ap.add_argument("--group", choices=("main", "webhooks", "both"), default="both")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--profile", action="store_true", help="a CPU profile of N more referrals")
    ap.add_argument("--lines", type=int, default=40)
    ap.add_argument("--sort", default="cumulative")
    ap.add_argument("--trace", action="store_true", help="print the statements of one more referral")
    ap.add_argument("--json", default="", help="append the figures to this JSON file")
    ap.add_argument("--label", default="", help="the run's label in the JSON file (before, after...)")
    on_fresh_database(run, ap.parse_args(), "refprof")


if __name__ == "__main__":
    main()
