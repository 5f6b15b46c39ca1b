"""CPU and SQL statements per referral of ``intake.submit``, in process, one thread.

Calls the referral-api's intake service directly (no HTTP, no gateway) on a fresh migrated database,
each referral in its own unit of work with a unique subject, partner reference and Idempotency-Key,
and prints the CPU milliseconds (the process's user + system time from /proc, ``measure.cpu_s``; the
system part and the context switches too) and wall milliseconds per referral, the SQL statements
per referral (cursor executions, BEGIN and COMMIT not counted), and with ``--profile`` the cProfile
top functions by cumulative time (cProfile roughly doubles the CPU figure).

Run: HHPU_TEST_PG_URL=postgresql+psycopg://... .venv/bin/python bench/intake/intake_prof.py pg
     .venv/bin/python bench/intake/intake_prof.py sqlite [--n 300] [--profile] [--top 40]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hhpu_shared.auth import Principal
from hhpu_shared.db import make_engine
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database
from hhpu_shared.uow import unit_of_work
from referral_api.migrations import MIGRATIONS
from referral_api.models import Agency
from referral_api.schemas import REFERRAL_EXAMPLE, ReferralCreate
from referral_api.service import intake
from referral_api.settings import ReferralSettings
from sqlalchemy import event
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import cpu_s, family_name, switches  # noqa: E402


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "pg":
        admin = os.environ["HHPU_TEST_PG_URL"]
        url = create_pg_database(admin, "intake_prof")
        try:
            yield url
        finally:
            drop_pg_database(admin, url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/intake.db"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", choices=("pg", "sqlite"))
    ap.add_argument("--n", type=int, default=300, help="referrals measured (after 20 to warm up)")
    ap.add_argument("--profile", action="store_true", help="run the measured referrals under cProfile")
    ap.add_argument("--top", type=int, default=40, help="functions shown with --profile")
    args = ap.parse_args()
    with database(args.db) as url:
        migrated(MIGRATIONS, url)
        engine = make_engine(url)
        try:
            run(engine, url, args)
        finally:
            engine.dispose()


def run(engine: Any, url: str, args: argparse.Namespace) -> None:
    settings = ReferralSettings(database_url=url)
    agency_id = str(uuid.uuid4())
    with Session(engine) as s:
        s.add(Agency(id=agency_id, name="Probation", agency_type="probation", contact_name="X"))
        s.commit()
    principal = Principal(
        subject=f"agency:{agency_id}", kind="agency", roles=frozenset({"partner_agency"}), agency_id=agency_id
    )
    statements = itertools.count()
    event.listen(engine, "before_cursor_execute", lambda *_a: next(statements))
    counter = itertools.count(1)

    def one() -> None:
        c = next(counter)
        subject = {
            **REFERRAL_EXAMPLE["subject"],
            "given_name": "Huw",
            "family_name": family_name(c * 7919),
            "date_of_birth": f"{1950 + c % 55:04d}-{1 + c % 12:02d}-{1 + c % 28:02d}",
        }
        body = ReferralCreate.model_validate(
            {**REFERRAL_EXAMPLE, "subject": subject, "partner_reference": f"R-{uuid.uuid4().hex}"}
        )
        with unit_of_work(engine, service="referral-api", principal=principal) as uow:
            key = uuid.uuid4().hex
            intake.submit(uow, settings, body, idempotency_key=key, justification="partner: referral")

    for _ in range(20):
        one()
    profiler = cProfile.Profile() if args.profile else None
    first = next(statements)
    pid = os.getpid()
    cpu0, sys0, sw0, wall0 = cpu_s(pid), cpu_s(pid, system_only=True), switches(pid), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for _ in range(args.n):
        one()
    if profiler is not None:
        profiler.disable()
    cpu, wall = cpu_s(pid) - cpu0, time.perf_counter() - wall0
    sys_ms, switched = (cpu_s(pid, system_only=True) - sys0) / args.n * 1000, (switches(pid) - sw0) / args.n
    per = (next(statements) - first - 1) / args.n
    cpu_ms, wall_ms = cpu / args.n * 1000, wall / args.n * 1000
    print(
        f"{args.db}: {args.n} referrals, CPU {cpu_ms:.2f} ms (system {sys_ms:.2f}) and wall {wall_ms:.2f} ms"
        f" per referral, {switched:.1f} context switches,"
        f" {per:.1f} SQL statements per referral"
        f"{' (under cProfile)' if profiler else ''}, load average {os.getloadavg()[0]:.1f}"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
