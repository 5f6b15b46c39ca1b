"""The audit trail and subject access across all four services through the gateway, over real HTTP
(the single-process system served by uvicorn on 127.0.0.1), and `hhpu audit` / `hhpu sar` run as
commands against it.

A ranking candidate becomes known to every service (ranking, case, meeting and referral-api through
the candidate event); staff consult them in three services; then the data protection officer asks:

- `GET /api/v1/audit?person=<any one reference>` merges the four trails, with `person` expanded to
  every reference of the person, and the filters `user`, `operation`, `since`, `until`; `format=csv`;
- `GET /api/v1/subject-access?person=` as JSON (every service contributes), a readable HTML page
  (tables, no JSON dump) and a PDF; each service audits it as a disclosure to the data subject;
- looking up a person's references is a consultation, never a disclosure (G5);
- a client's `X-Correlation-ID` is kept as `client_correlation_id`; `correlation_id` is the platform's;
- the merged query is itself audited by each service; bad input is problem+json and changes nothing.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from gateway.tokens import mint_dev_token
from hhpu.distributed import free_port
from hhpu.system import System, build_system
from hhpu.testing import bearer, eventually
from hhpu_shared.audit import AuditEntry
from ranking_service.synthetic import generate, write_force
from sqlmodel import Session, col, select

SERVICES = {"referral-api", "ranking-service", "case-service", "meeting-service"}
WHY = "SAR-2026-014 (data protection officer)"
HHPU = str(Path(sys.executable).parent / "hhpu")


class Served:
    def __init__(self, system: System, url: str) -> None:
        self.system, self.url = system, url
        self.http = httpx.Client(base_url=url, timeout=120)

    def rows(self, service: str, **where: Any) -> list[AuditEntry]:
        with Session(self.system.runtime(service).engine) as s:
            q = select(AuditEntry).order_by(col(AuditEntry.id))
            for k, v in where.items():
                q = q.where(getattr(AuditEntry, k) == v)
            return list(s.exec(q).all())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    system = build_system(tmp_path_factory.mktemp("dp") / "single")  # the schedule is off in tests
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(system.gateway, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout_s=60, what="the gateway to listen")
    s = Served(system, f"http://127.0.0.1:{port}")
    try:
        yield s
    finally:
        s.http.close()
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def person(served: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A ranking candidate known to all four services, consulted by staff in three of them."""
    today = datetime.now(UTC).date()
    force = generate(
        60, 600, seed=3, start=today - timedelta(days=3 * 365), split=today - timedelta(days=30), end=today
    )
    people_file, offences_file = write_force(force, tmp_path_factory.mktemp("force"))
    gw, analyst = served.http, bearer("analyst", sub="analyst-kim")
    for kind, path in (("people", people_file), ("offences", offences_file)):
        r = gw.post(
            f"/api/v1/imports/{kind}",
            params={"filename": path.name},
            content=path.read_bytes(),
            headers={**analyst, "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text
    run = gw.post("/api/v1/ranking-runs", json={"kind": "production", "top_n": 2}, headers=analyst)
    assert run.status_code == 201, run.text
    served.system.settle()
    ref = gw.get(f"/api/v1/ranking-runs/{run.json()['id']}/entries?top_only=true", headers=analyst).json()
    records_id = ref["items"][0]["person_ref"]
    sup = bearer("unit_supervisor", sub="di-morgan")
    page = gw.get("/api/v1/assessments", params={"limit": 50}, headers=sup).json()
    asm = next(a for a in page["items"] if any(records_id in t["ref"] for t in a["triggers"]))
    person_id = asm["person_id"]
    family = gw.get(f"/api/v1/people/{person_id}", headers=sup).json()["family_name"]
    chair = bearer("meeting_chair", sub="chair-lou")
    meeting = next(
        m["id"]
        for m in gw.get("/api/v1/meetings", headers=chair).json()["items"]
        if person_id in gw.get(f"/api/v1/meetings/{m['id']}/agenda", headers=chair).text
    )
    return {"person_id": person_id, "records_id": records_id, "family": family, "meeting": meeting}


def dpo(why: str | None = WHY, **extra: str) -> dict[str, str]:
    h = bearer("data_protection_officer", sub="dpo-sam")
    if why is None:
        h.pop("X-Justification")
    else:
        h["X-Justification"] = why
    return {**h, **extra}


def test_the_merged_audit_covers_every_service_by_any_reference_and_filters(
    served: Served, person: dict[str, str]
) -> None:
    gw = served.http
    # By the records id alone: the gateway expands it to the case-service person id too.
    r = gw.get("/api/v1/audit", params={"person": person["records_id"], "limit": 500}, headers=dpo())
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["references"]) >= {person["person_id"], person["records_id"]}
    assert {e["service"] for e in body["items"]} == SERVICES
    assert set(body["services"]) == SERVICES and body["total"] == sum(body["services"].values())
    seen = {(e["service"], e["actor"], e["operation"]) for e in body["items"]}
    assert ("ranking-service", "analyst-kim", "consult") in seen
    assert ("case-service", "di-morgan", "consult") in seen
    assert ("meeting-service", "chair-lou", "consult") in seen
    times = [e["at"] for e in body["items"]]
    assert times == sorted(times)
    # Filters, each through the gateway to every service.
    by_user = gw.get(
        "/api/v1/audit", params={"person": person["person_id"], "user": "chair-lou"}, headers=dpo()
    )
    assert {e["actor"] for e in by_user.json()["items"]} == {"chair-lou"}
    assert {e["service"] for e in by_user.json()["items"]} == {"meeting-service"}
    by_op = gw.get(
        "/api/v1/audit", params={"person": person["person_id"], "operation": "disclose"}, headers=dpo()
    )
    assert by_op.json()["items"] and {e["operation"] for e in by_op.json()["items"]} == {"disclose"}
    middle = times[len(times) // 2]
    since = gw.get("/api/v1/audit", params={"person": person["person_id"], "since": middle}, headers=dpo())
    until = gw.get("/api/v1/audit", params={"person": person["person_id"], "until": middle}, headers=dpo())
    assert all(e["at"] >= middle for e in since.json()["items"])
    assert all(e["at"] <= middle for e in until.json()["items"])
    key = lambda e: (e["service"], e["id"])  # noqa: E731
    later = {key(e) for e in body["items"] if e["at"] >= middle}
    assert later <= {key(e) for e in since.json()["items"]}  # and the audit of these queries since
    assert {key(e) for e in until.json()["items"]} == {key(e) for e in body["items"] if e["at"] <= middle}
    # A page of the merge, and CSV for a court.
    page = gw.get(
        "/api/v1/audit", params={"person": person["person_id"], "limit": 3, "offset": 2}, headers=dpo()
    )
    assert [e["id"] for e in page.json()["items"]] == [e["id"] for e in body["items"][2:5]]
    out = gw.get("/api/v1/audit", params={"person": person["person_id"], "format": "csv"}, headers=dpo())
    assert out.status_code == 200 and out.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(out.text)))
    assert rows and {"at", "service", "actor", "justification", "operation"} <= set(rows[0])
    # Each entry with its own hash and its place in its service's chain (linked when it committed).
    assert all(len(r["row_hash"]) == len(r["entry_hash"]) == 64 and int(r["chain_seq"]) > 0 for r in rows)
    assert all(e["entry_hash"] and e["chain_seq"] for e in body["items"])


def test_the_merged_query_is_itself_audited_in_every_service(served: Served, person: dict[str, str]) -> None:
    before = {s: len(served.rows(s, subject_type="audit_log")) for s in SERVICES}
    r = served.http.get("/api/v1/audit", params={"person": person["person_id"], "user": "x"}, headers=dpo())
    assert r.status_code == 200, r.text
    for svc in SERVICES:
        new = served.rows(svc, subject_type="audit_log")[before[svc] :]
        assert new, svc
        assert {e.person_ref for e in new} >= {person["person_id"], person["records_id"]}, svc
        assert all((e.actor, e.operation, e.justification) == ("dpo-sam", "consult", WHY) for e in new), svc


def test_finding_a_persons_references_is_a_consultation_not_a_disclosure(
    served: Served, person: dict[str, str]
) -> None:
    before = len(served.rows("case-service"))
    r = served.http.get(
        "/api/v1/audit/case-service/references", params={"person": person["records_id"]}, headers=dpo()
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["references"]) >= {person["person_id"], person["records_id"]}
    assert person["family"] not in r.text
    new = served.rows("case-service")[before:]
    assert new and {e.operation for e in new} == {"consult"}
    assert {e.subject_type for e in new} == {"person_references"} and all(e.recipient is None for e in new)
    # Someone the platform does not know: echoed back, nothing consulted, nothing written.
    before = len(served.rows("case-service"))
    r = served.http.get(
        "/api/v1/audit/case-service/references", params={"person": "no-one-14"}, headers=dpo()
    )
    assert r.status_code == 200 and r.json()["references"] == ["no-one-14"]
    assert len(served.rows("case-service")) == before


def test_subject_access_from_every_service_as_json_html_and_pdf(
    served: Served, person: dict[str, str]
) -> None:
    gw = served.http
    r = gw.get("/api/v1/subject-access", params={"person": person["records_id"]}, headers=dpo())
    assert r.status_code == 200, r.text
    doc = r.json()
    assert {s for s, held in doc["services"].items() if held} == SERVICES
    assert doc["services"]["case-service"]["data"]["people"][0]["family_name"] == person["family"]
    assert doc["services"]["ranking-service"]["data"]["people"][0]["records_id"] == person["records_id"]
    assert doc["services"]["meeting-service"]["data"]["agenda_items"]
    assert doc["services"]["referral-api"]["data"]["known_person_records"]
    page = gw.get(
        "/api/v1/subject-access", params={"person": person["person_id"], "format": "html"}, headers=dpo()
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<pre>" not in page.text and "<table>" in page.text and person["family"] in page.text
    assert "Who consulted or received it" in page.text and "chair-lou" in page.text
    pdf = gw.get(
        "/api/v1/subject-access", params={"person": person["person_id"], "format": "pdf"}, headers=dpo()
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    disclosed = served.rows("meeting-service", subject_type="subject_access")
    assert disclosed and {e.operation for e in disclosed} == {"disclose"}
    assert {e.recipient for e in disclosed} == {"the data subject (subject access request)"}


def test_bad_input_is_a_problem_and_writes_nothing(served: Served, person: dict[str, str]) -> None:
    gw = served.http
    before = {s: len(served.rows(s)) for s in SERVICES}
    for path, params, headers, status in (
        ("/api/v1/audit", {"person": person["person_id"]}, dpo(why=None), 422),  # no justification
        ("/api/v1/subject-access", {"person": person["person_id"]}, bearer("analyst"), 403),
        ("/api/v1/subject-access", {}, dpo(), 422),  # no person
        ("/api/v1/subject-access", {"person": person["person_id"], "format": "doc"}, dpo(), 422),
        ("/api/v1/audit", {"limit": "0"}, dpo(), 422),
        ("/api/v1/audit", {"operation": "peek"}, dpo(), 422),
    ):
        r = gw.get(path, params=params, headers=headers)
        assert r.status_code == status, (path, params, r.text)
        assert r.headers["content-type"] == "application/problem+json", (path, params)
    assert {s: len(served.rows(s)) for s in SERVICES} == before
    assert gw.post("/api/v1/audit", headers=dpo()).status_code == 403  # a read-only role
    assert gw.post("/api/v1/audit", headers=bearer("administrator")).status_code == 405
    unknown = gw.get("/api/v1/subject-access", params={"person": "nobody-known"}, headers=dpo())
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


def test_a_client_correlation_id_is_kept_apart_from_the_platforms(
    served: Served, person: dict[str, str]
) -> None:
    chair = {**bearer("meeting_chair", sub="chair-cid"), "X-Correlation-ID": "ticket-4711.client"}
    r = served.http.get(f"/api/v1/meetings/{person['meeting']}/agenda", headers=chair)
    assert r.status_code == 200, r.text
    rows = served.rows("meeting-service", actor="chair-cid")
    assert rows and {e.client_correlation_id for e in rows} == {"ticket-4711.client"}
    assert all(e.correlation_id and e.correlation_id != "ticket-4711.client" for e in rows)
    odd = {**bearer("meeting_chair", sub="chair-odd"), "X-Correlation-ID": "<script>alert(1)</script>"}
    served.http.get(f"/api/v1/meetings/{person['meeting']}/agenda", headers=odd)
    assert {e.client_correlation_id for e in served.rows("meeting-service", actor="chair-odd")} == {None}


def test_the_merged_operations_are_documented(served: Served) -> None:
    paths = served.http.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/audit", "/api/v1/subject-access"):
        op = paths[path]["get"]
        assert op["x-hhpu-service"] == "gateway" and "data_protection_officer" in op["x-hhpu-roles"], path
        assert {p["name"] for p in op["parameters"]} >= {"person", "format", "X-Justification"}, path


def run_hhpu(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    token = mint_dev_token("dpo-cli", ["data_protection_officer"], name="DPO by command")
    env = {**os.environ, "HHPU_URL": served.url, "HHPU_TOKEN": token}
    return subprocess.run([HHPU, *args], capture_output=True, text=True, timeout=180, env=env, check=False)


def test_hhpu_audit_csv_and_hhpu_sar_as_commands(
    served: Served, person: dict[str, str], tmp_path: Path
) -> None:
    done = run_hhpu(served, "audit", "--person", person["records_id"], "--csv", "--why", "complaint C-77")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["service"] for r in rows} == SERVICES
    assert {"analyst-kim", "chair-lou"} <= {r["actor"] for r in rows}
    text = run_hhpu(served, "audit", "--person", person["person_id"], "--user", "chair-lou", "--why", "C-77")
    assert text.returncode == 0 and "meeting-service" in text.stdout and "case-service" not in text.stdout
    html, pdf = tmp_path / "sar.html", tmp_path / "sar.pdf"
    sar = run_hhpu(
        served, "sar", person["person_id"], "--why", "SAR-9", "--html", str(html), "--pdf", str(pdf)
    )
    assert sar.returncode == 0, sar.stderr
    assert '"case-service"' in sar.stdout and person["family"] in sar.stdout
    assert person["family"] in html.read_text() and pdf.read_bytes().startswith(b"%PDF")
    # The command's own lookups were audited with its justification, as the data protection officer.
    mine = served.rows("case-service", actor="dpo-cli")
    assert {e.justification for e in mine} == {"complaint C-77", "C-77", "SAR-9"}
    assert {e.operation for e in mine if e.justification == "SAR-9"} == {"disclose", "consult"}
    # Looking a person up for the audit records no disclosure anywhere (G5: it used to).
    for svc in SERVICES:
        looked = [
            e for e in served.rows(svc, actor="dpo-cli") if e.justification in ("complaint C-77", "C-77")
        ]
        assert looked and {e.operation for e in looked} == {"consult"}, svc
    missing = run_hhpu(served, "sar", "nobody-known", "--why", "SAR-10")
    assert missing.returncode != 0 and "No service holds anything" in missing.stderr
