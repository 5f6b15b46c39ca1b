"""The outbox forgets: an erasure deletes the rows about the person (published or not) and erases
their reference where a row only mentions it; published rows are deleted after the retention period.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.case import PersonErased
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified, RankingRunCompleted
from hhpu_shared.events.envelope import Envelope, SubjectRef
from hhpu_shared.messaging.outbox import OutboxRecord, PendingEvent
from hhpu_shared.messaging.outbox_care import OUTBOX_RETENTION, prune_task
from hhpu_shared.protection_api import DataProtectionHooks, apply_erasure
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import update
from sqlmodel import Session, col, select


def _candidate(ref: str, family: str, born: date = date(1984, 5, 6)) -> PendingEvent:
    subject = PersonDetails(given_name="Lowri", family_name=family, date_of_birth=born)
    data = CandidateIdentified(
        run_id="run-1", person_ref=ref, rank=1, score=9.5, as_of=date(2026, 1, 1), provisional=False,
        subject=subject,
    )  # fmt: skip
    return PendingEvent(data, "run-1", SubjectRef(type="records_person", id=ref))


def _run_completed() -> PendingEvent:
    data = RankingRunCompleted(
        run_id="run-1", kind="production", model="m", model_version="1", weight_edition="e",
        as_of=date(2026, 1, 1), people_scored=3, top_bracket_size=2, provisional=False, fingerprint="f",
        big_movers=("R-1", "R-12"),
    )  # fmt: skip
    return PendingEvent(data, "run-1")


def _rows(engine) -> dict[str, list[dict]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        rows = s.exec(select(OutboxRecord).order_by(col(OutboxRecord.seq))).all()
    out: dict[str, list[dict]] = {}
    for r in rows:
        env = Envelope.from_bytes(bytes(r.payload))  # still a valid envelope after a rewrite
        out.setdefault(r.type, []).append(env.model_dump(mode="json"))
    return out


def test_an_erasure_deletes_the_rows_about_the_person_and_erases_mentions(engine) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, service="ranking-service", principal=system_principal("t")) as uow:
        uow.emit_many(
            [
                _candidate("R-1", "Quarrington", date(1931, 2, 17)),
                _candidate("R-12", "Vexford"),
                _run_completed(),
            ]
        )
    with Session(engine) as s:  # the first one was already sent, the others are pending
        first = s.exec(select(OutboxRecord).order_by(col(OutboxRecord.seq))).first()
        assert first is not None
        s.exec(
            update(OutboxRecord)
            .where(col(OutboxRecord.seq) == first.seq)
            .values(published_at=datetime.now(UTC))
        )  # type: ignore[call-overload]
        s.commit()

    erased = PersonErased(
        person_id="R-1", references=("R-1",), decision_id="d1", decided_by="user:dpo",
        reason_code="erasure_request", reason="s.47 request upheld",
    )  # fmt: skip
    hooks = DataProtectionHooks(export=lambda _u, _r: {}, erase=lambda _u, _r: {"people": 1})
    with unit_of_work(engine, service="ranking-service", principal=system_principal("t")) as uow:
        removed = apply_erasure(uow, hooks, erased)
        uow.emit(erased, aggregate_id="R-1")  # the erasure event itself is never scrubbed
    assert removed == {"people": 1, "outbox_events": 2}  # one row deleted, one rewritten

    rows = _rows(engine)
    text = json.dumps(rows)
    assert "Quarrington" not in text and "1931-02-17" not in text
    assert [c["data"]["person_ref"] for c in rows["ranking.candidate_identified"]] == ["R-12"]
    assert "Vexford" in text  # another person's row stays as it was ("R-1" is in "R-12": no match)
    assert rows["ranking.run_completed"][0]["data"]["big_movers"] == ["[erased]", "R-12"]
    assert rows["person.erased"][0]["data"]["references"] == ["R-1"]

    with unit_of_work(engine, service="ranking-service", principal=system_principal("t")) as uow:
        again = apply_erasure(uow, hooks, erased)
    assert again["outbox_events"] == 0  # nothing left about them


def test_published_rows_are_deleted_after_the_retention_period(engine) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, service="ranking-service", principal=system_principal("t")) as uow:
        uow.emit_many([_candidate(f"R-{i}", "Vexford") for i in range(4)])
    now = datetime.now(UTC)
    with Session(engine) as s:
        seqs = list(s.exec(select(OutboxRecord.seq).order_by(col(OutboxRecord.seq))).all())
        ages = {seqs[0]: now - timedelta(days=10), seqs[1]: now - timedelta(days=6), seqs[2]: None}
        ages[seqs[3]] = now - timedelta(days=30)
        for seq, at in ages.items():
            s.exec(update(OutboxRecord).where(col(OutboxRecord.seq) == seq).values(published_at=at))  # type: ignore[call-overload]
        # A pending row is never deleted, however old.
        s.exec(
            update(OutboxRecord)
            .where(col(OutboxRecord.seq) == seqs[2])
            .values(created_at=now - timedelta(days=90))
        )  # type: ignore[call-overload]
        s.commit()

    runtime = SimpleNamespace(
        engine=engine, settings=ServiceSettings(environment="test", outbox_retention_days=7)
    )
    assert prune_task(runtime) == 2  # type: ignore[arg-type]
    with Session(engine) as s:
        left = list(s.exec(select(OutboxRecord.seq).order_by(col(OutboxRecord.seq))).all())
    assert left == [seqs[1], seqs[2]]

    runtime.settings = ServiceSettings(environment="test", outbox_retention_days=1)
    assert prune_task(runtime) == 1  # type: ignore[arg-type]


def test_every_runtime_runs_the_retention_worker_on_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HHPU_OUTBOX_RETENTION_DAYS", "3")
    monkeypatch.setenv("HHPU_OUTBOX_PRUNE_INTERVAL_S", "120")
    settings = ServiceSettings(environment="test")
    assert (settings.outbox_retention_days, settings.outbox_prune_interval_s) == (3, 120)
    eng = make_engine("sqlite://")
    steps.create_tables(eng)
    rt = ServiceRuntime(settings, migrations=steps.TestDomainSchema(), engine=eng)  # type: ignore[arg-type]
    assert OUTBOX_RETENTION in rt.workers and OUTBOX_RETENTION.interval(rt) == 120
    with pytest.raises(ValueError):
        ServiceSettings(environment="test", outbox_retention_days=0)
