"""Data protection, distributed (real Kafka, PostgreSQL, processes, the gateway): a ranking
candidate known to all four services (referred by a partner too, the match confirmed by a reviewer,
deferred at a meeting with reasons in free text) is consulted, found in every service's audit,
exported by subject access, then erased on a data protection officer's decision; afterwards no
service returns their name, date of birth or PNC number, and no column of any table of the four
databases stores them (outbox, audit and free text included); each service's audit keeps who erased
them and why, with its hash chain intact. People the case-service never held (a referral screened
out, someone only in the ranking's people file) are erased by reference the same way."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import bearer, create_agency, db_scalar, eventually
from hhpu_shared.testing.plugin import unique
from hhpu_shared.testing.scan import find_strings
from ranking_service.synthetic import generate, write_force
from referral_api.schemas import REFERRAL_EXAMPLE
from sqlalchemy import create_engine

from hhpu import protection as dp

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
SERVICES = ("referral-api", "ranking-service", "case-service", "meeting-service")
PEOPLE = pa.schema(
    [(c, pa.string()) for c in ("records_id", "given_name", "middle_names", "family_name")]
    + [("date_of_birth", pa.date32()), ("sex", pa.string()), ("ethnicity", pa.string())]
)
ERASE = {"reason_code": "erasure_request", "reason": "s.47 request upheld (DPO ref SAR-2026-001)"}


def _letters(n: int = 9) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n)).capitalize()


@dataclass(frozen=True)
class Someone:
    """A person only this test knows: names, a birth date and a PNC number nobody else has."""

    records_id: str
    given: str
    family: str
    born: date
    pnc: str

    @classmethod
    def make(cls, born_in: int) -> Someone:
        born = date(born_in, 1, 1) + timedelta(days=secrets.randbelow(365))
        digits, letter = secrets.randbelow(900000) + 100000, secrets.choice(string.ascii_uppercase)
        pnc = f"{born_in % 100:02d}/{digits}{letter}"
        return cls(unique("DP-X-"), _letters(), _letters(11), born, pnc)

    @property
    def needles(self) -> list[str]:
        return [self.given, self.family, self.born.isoformat(), self.pnc]

    def person_row(self) -> dict[str, Any]:
        return {
            "records_id": self.records_id, "given_name": self.given, "middle_names": None,
            "family_name": self.family, "date_of_birth": self.born, "sex": "M", "ethnicity": "White",
        }  # fmt: skip

    def subject(self) -> dict[str, Any]:
        return {
            "given_name": self.given, "family_name": self.family, "date_of_birth": self.born.isoformat(),
            "pnc_number": self.pnc, "aliases": [], "area": "Guildford",
        }  # fmt: skip


def _force(tmp_path: Path, today: date, top: Someone) -> tuple[Path, Path]:
    """A synthetic force plus `top`, whose recent homicides put them at the head of the ranking."""
    force = generate(150, 1500, seed=5, start=today - timedelta(days=3 * 365),
                     split=today - timedelta(days=30), end=today, id_prefix="DP-")  # fmt: skip
    codes = ("001/01", "001/01", "002/00", "002/00", "005/01", "008/01#serious")
    offences = [
        {"person_id": top.records_id, "offence_code": code,
         "offence_date": today - timedelta(days=20 + 30 * i),
         "recorded_date": today - timedelta(days=15 + 30 * i), "outcome": "under_investigation",
         "domestic_abuse": False, "hate_crime": False, "victim_ref": f"V-DP-{i}"}
        for i, code in enumerate(codes)
    ]  # fmt: skip
    crafted = pa.Table.from_pylist([top.person_row()], schema=PEOPLE).cast(force.people.schema)
    force.people = pa.concat_tables([force.people, crafted])
    force.offences = pa.concat_tables(
        [force.offences, pa.Table.from_pylist(offences).cast(force.offences.schema)]
    )
    return write_force(force, tmp_path)


def _import(gw: httpx.Client, kind: str, path: Path) -> None:
    r = gw.post(
        f"/api/v1/imports/{kind}",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={**bearer("analyst"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def _stored(cluster: Cluster, needles: list[str]) -> dict[str, dict[str, list[str]]]:
    """service -> needle -> the columns (of every table of its database) that hold it."""
    out = {}
    for svc in SERVICES:
        eng = create_engine(cluster.database_urls[svc])
        try:
            found = find_strings(eng, needles)
        finally:
            eng.dispose()
        if found:
            out[svc] = found
    return out


def _referral(who: Someone, **changes: Any) -> dict[str, Any]:
    body = {**REFERRAL_EXAMPLE, "partner_reference": unique("DP-REF-"), "subject": who.subject(), **changes}
    body["concern"] = {
        **REFERRAL_EXAMPLE["concern"],
        "reason": f"{who.given} {who.family} followed a former partner",
    }
    return body


def _erased_everywhere(cluster: Cluster, who: Someone, what: str) -> None:
    last: list[dict[str, Any]] = []

    def gone() -> bool:
        last[:] = [_stored(cluster, who.needles)]
        return not last[0]

    try:
        eventually(gone, what=what, timeout_s=90)
    except AssertionError as e:
        raise AssertionError(f"{what}: still stored {last[0]}") from e


def test_audit_subject_access_and_erasure_across_every_service(
    cluster: Cluster, gw: httpx.Client, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    top = Someone.make(1931)
    people_file, offences_file = _force(tmp_path, today, top)
    _import(gw, "people", people_file)
    _import(gw, "offences", offences_file)
    analyst = {**bearer("analyst", sub="analyst-kim"), "X-Justification": "fortnightly ranking review"}
    run = gw.post("/api/v1/ranking-runs", json={"kind": "production", "top_n": 3}, headers=analyst)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    entries = gw.get(f"/api/v1/ranking-runs/{run_id}/entries", params={"top_only": True}, headers=analyst)
    ref = top.records_id
    assert ref in [e["person_ref"] for e in entries.json()["items"]], entries.text
    supervisor = {**bearer("unit_supervisor", sub="di-morgan"), "X-Justification": "suitability review"}

    def assessment() -> dict | None:
        page = gw.get(
            "/api/v1/assessments", params={"status": "open", "limit": 50}, headers=supervisor
        ).json()
        return next((a for a in page["items"] if any(ref in t["ref"] for t in a["triggers"])), None)

    found = eventually(assessment, what="the candidate's assessment")
    person_id = found["person_id"]
    person = gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()
    assert person["family_name"] == top.family
    dbs = cluster.database_urls
    item_sql = "SELECT {} FROM mtg_agenda_item WHERE person_id = :p"
    eventually(lambda: db_scalar(dbs["meeting-service"], item_sql.format("count(*)"), p=person_id),
               what="the candidate on an agenda")  # fmt: skip
    eventually(
        lambda: db_scalar(
            dbs["referral-api"], "SELECT count(*) FROM ref_known_person WHERE person_ref = :r", r=ref
        ),
        what="the referral-api knows the candidate",
    )

    # A partner refers them too (names, date of birth, PNC, a legal gateway in words); a reviewer
    # confirms the probable match, naming them in the note; the referral joins their assessment.
    _agency, key = create_agency(gw, unique("DP Housing "), "housing")
    gateway = f"Information-sharing agreement covering {top.given} {top.family}"
    r = gw.post("/api/v1/referrals", json=_referral(top, legal_gateway="other", legal_gateway_detail=gateway),
                headers={"X-API-Key": key})  # fmt: skip
    assert r.status_code == 201, r.text
    rid = r.json()["id"]

    def review() -> str | None:
        items = gw.get("/api/v1/match-reviews", params={"limit": 100}, headers=supervisor).json()["items"]
        return next((rv["id"] for rv in items if rv["referral_id"] == rid), None)

    note = {"note": f"Same {top.given} {top.family}: birth date and PNC agree"}
    r = gw.post(f"/api/v1/match-reviews/{eventually(review, what='the match review')}/confirm", json=note,
                headers=supervisor)  # fmt: skip
    assert r.status_code == 200, r.text
    eventually(lambda: any(t["ref"] == rid for t in (assessment() or {}).get("triggers", [])),
               what="the referral joins the assessment")  # fmt: skip

    # The meeting defers them, giving a reason that names them; the reason reaches every service.
    chair = {**bearer("meeting_chair", sub="chair-lou"), "X-Justification": "preparing the monthly meeting"}
    meeting_id = db_scalar(dbs["meeting-service"], item_sql.format("meeting_id"), p=person_id)
    item_id = db_scalar(dbs["meeting-service"], item_sql.format("id"), p=person_id)
    defer = {"kind": "decision", "decision": "defer", "decided_by": "DI Morgan Hale",
             "reason": f"{top.family} to be reviewed with the probation report"}  # fmt: skip
    r = gw.post(f"/api/v1/meetings/{meeting_id}/agenda/items/{item_id}/outcomes", json=defer, headers=chair)
    assert r.status_code == 201, r.text
    eventually(lambda: set(_stored(cluster, [top.family])) == set(SERVICES), what="the name in every service")
    assert "ref_status_history.note" in _stored(cluster, [top.family])["referral-api"][top.family]
    # A search by name, birth date and PNC: the audit keeps no search term.
    search = {"family_name": top.family, "date_of_birth": top.born.isoformat(), "pnc": top.pnc}
    assert gw.get("/api/v1/people", params=search, headers=supervisor).json()["total"] == 1

    agenda = gw.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=chair)
    assert agenda.status_code == 200 and top.family in agenda.text
    analyst_agenda = gw.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=analyst)
    assert analyst_agenda.status_code == 200 and top.family not in analyst_agenda.text  # least privilege

    dpo = {**bearer("data_protection_officer", sub="dpo-sam"), "X-Justification": "SAR-2026-001"}
    with httpx.Client(
        base_url=cluster.gateway_url, headers={"Authorization": dpo["Authorization"]}, timeout=60
    ) as c:
        # The audit across services: who saw this person, when and why.
        refs = dp.references(c, person_id, "SAR-2026-001")
        assert set(refs) >= {person_id, ref, rid}
        timeline = dp.audit_timeline(c, refs, "SAR-2026-001")
        seen = {(e["service"], e["actor"], e["operation"], e["justification"]) for e in timeline}
        assert ("ranking-service", "analyst-kim", "consult", "fortnightly ranking review") in seen
        assert ("meeting-service", "chair-lou", "consult", "preparing the monthly meeting") in seen
        assert all(e["at"] and e["correlation_id"] for e in timeline)
        assert "analyst-kim" in dp.timeline_text(timeline) and "justification" in dp.timeline_csv(timeline)
        # Subject access: every service contributes.
        sar = dp.subject_access(c, person_id, "SAR-2026-001")
        held = sar["services"]
        assert held["case-service"]["data"]["people"][0]["family_name"] == top.family
        assert held["ranking-service"]["data"]["people"][0]["records_id"] == ref
        assert held["meeting-service"]["data"]["agenda_items"]
        assert held["referral-api"]["data"]["referrals"][0]["submission"]["subject"]["pnc_number"] == top.pnc
        assert top.family in dp.sar_html(sar)

    # Bad input changes nothing: no justification, an unknown person, a role that may not decide.
    no_why = {"Authorization": dpo["Authorization"]}
    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=ERASE, headers=no_why)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = gw.post("/api/v1/people/nobody-known/erasure", json=ERASE, headers=dpo)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=ERASE, headers=analyst)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = gw.post("/api/v1/erasures", json={**ERASE, "references": [rid]}, headers=dpo)
    assert r.status_code == 409 and r.json()["code"] == "person_known"  # held here: erase the person
    assert gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()["family_name"] == top.family

    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=ERASE, headers=dpo)
    assert r.status_code == 200, r.text

    # Nothing stores them any more: every text, JSON and binary column (and every date column for
    # the birth date) of every table of the four databases, outbox and audit included.
    _erased_everywhere(cluster, top, "every service erased the person")
    # Their records id is left only in the audit (who saw them; the erasure itself) and in the
    # case-service's erasure event (references only, deleted with the outbox's published rows).
    left = {svc: f[ref] for svc, f in _stored(cluster, [ref]).items()}
    assert all(c.startswith("audit_log.") or c == "outbox.payload" for cols in left.values() for c in cols), (
        left
    )
    mentions = (
        "SELECT count(*) FROM outbox WHERE strpos(convert_from(payload, 'UTF8'), :r) > 0 AND type <> :t"
    )
    assert all(db_scalar(dbs[svc], mentions, r=ref, t="person.erased") == 0 for svc in SERVICES)
    assert gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()["family_name"] == "[erased]"
    assert gw.get(f"/api/v1/ranking-runs/{run_id}/entries/{ref}", headers=analyst).status_code == 404
    after = gw.get(f"/api/v1/referrals/{rid}", headers=supervisor)
    assert after.status_code == 200, after.text
    assert after.json()["subject"]["family_name"] == "[erased]"
    assert after.json()["legal_gateway_detail"] == "[erased]"

    # Each service's audit keeps who erased and why, and its chain is intact.
    for svc in SERVICES:
        page = gw.get(f"/api/v1/audit/{svc}", params={"operation": "erase"}, headers=dpo).json()
        mine = [e for e in page["items"] if e["person_ref"] == person_id or e["person_ref"] == ref]
        assert mine, svc
        assert mine[0]["justification"].startswith("erasure_request: s.47 request upheld"), svc
        assert mine[0]["detail"]["decided_by"] == "dpo-sam", svc
        v = gw.get(f"/api/v1/audit/{svc}/verify", headers=dpo).json()
        assert v["ok"] and v["checked"] > 0, (svc, v)
    csv_text = gw.get(
        "/api/v1/audit/case-service", params={"format": "csv", "operation": "erase"}, headers=dpo
    )
    assert csv_text.headers["content-type"].startswith("text/csv") and "dpo-sam" in csv_text.text


def test_people_the_case_service_never_held_are_erased_by_reference(
    cluster: Cluster, gw: httpx.Client, tmp_path: Path
) -> None:
    """A referral screened out (the subject is under the age of criminal responsibility) and a person only in
    the ranking's people file: erased by referral id and records id through the gateway, applied by
    every service on Kafka, then stored nowhere."""
    today = datetime.now(UTC).date()
    young, ranked = Someone.make(today.year - 8), Someone.make(1932)
    people = tmp_path / "people.parquet"
    pq.write_table(pa.Table.from_pylist([ranked.person_row()], schema=PEOPLE), people)
    _import(gw, "people", people)
    _agency, key = create_agency(gw, unique("DP Youth Service "), "childrens_services")
    r = gw.post("/api/v1/referrals", json=_referral(young), headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    status = eventually(
        lambda: (
            (s := gw.get(f"/api/v1/referrals/{rid}/status", headers={"X-API-Key": key}).json())["eligible"]
            is not None
            and s
        ),
        what="the referral screened",
    )
    assert status["eligible"] is False and "below_minimum_age" in status["reasons"]
    for who in (young, ranked):
        assert _stored(cluster, who.needles), who  # held before the erasure
    assert "case-service" not in _stored(cluster, young.needles)  # never held there

    dpo = {**bearer("data_protection_officer", sub="dpo-sam"), "X-Justification": "SAR-2026-002"}
    for refs in ([rid], [ranked.records_id]):
        r = gw.post("/api/v1/erasures", json={**ERASE, "references": refs}, headers=dpo)
        assert r.status_code == 202 and r.json()["references"] == refs, r.text
    r = gw.post("/api/v1/erasures", json={**ERASE, "references": [rid]}, headers=dpo)
    assert r.status_code == 409 and r.json()["code"] == "already_erased"
    _erased_everywhere(cluster, young, "the screened-out referral's subject erased")
    _erased_everywhere(cluster, ranked, "the ranking-only person erased")
    for svc in SERVICES:
        page = gw.get(
            f"/api/v1/audit/{svc}", params={"operation": "erase", "person": rid}, headers=dpo
        ).json()
        assert page["items"] and page["items"][0]["detail"]["decided_by"] == "dpo-sam", svc
