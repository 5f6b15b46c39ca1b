"""Agency isolation: another agency cannot read, list or withdraw a referral, nor learn it exists."""

from __future__ import annotations

from hhpu_shared.audit import AuditEntry
from hhpu_shared.testing.plugin import identity_headers
from sqlmodel import Session, select

STAFF = {**identity_headers("analyst", subject="user:analyst"), "X-Justification": "test: review"}


def test_agency_b_cannot_read_list_or_withdraw_agency_a_referrals(ref_env, make_body) -> None:
    a, b = ref_env.agency(), ref_env.agency()
    rid = ref_env.submit(a, make_body()).json()["id"]
    ref_env.submit(b, make_body())

    for path in (f"/api/v1/referrals/{rid}", f"/api/v1/referrals/{rid}/status"):
        r = ref_env.client.get(path, headers=b.headers)
        assert r.status_code == 404, path
        assert r.json()["code"] == "not_found"
        assert ref_env.client.get(path, headers=a.headers).status_code == 200
    missing = ref_env.client.get("/api/v1/referrals/does-not-exist", headers=b.headers)
    assert (
        missing.json()["detail"]
        == ref_env.client.get(f"/api/v1/referrals/{rid}", headers=b.headers).json()["detail"]
    )  # an existing referral of another agency looks exactly like a missing one

    listed = ref_env.client.get("/api/v1/referrals", headers=b.headers).json()
    assert listed["total"] == 1
    assert {i["agency_id"] for i in listed["items"]} == {b.id}
    # a partner cannot widen its scope with the staff filter
    sneaky = ref_env.client.get(f"/api/v1/referrals?agency_id={a.id}", headers=b.headers).json()
    assert {i["agency_id"] for i in sneaky["items"]} == {b.id}

    w = ref_env.client.post(
        f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=b.headers
    )
    assert w.status_code == 404
    assert ref_env.status(rid) == "screened"


def test_staff_see_every_agency_and_can_filter_by_agency(ref_env, make_body) -> None:
    a, b = ref_env.agency(), ref_env.agency()
    ra = ref_env.submit(a, make_body()).json()["id"]
    ref_env.submit(b, make_body())
    everything = ref_env.client.get("/api/v1/referrals", headers=STAFF).json()
    assert everything["total"] == 2
    only_a = ref_env.client.get(f"/api/v1/referrals?agency_id={a.id}", headers=STAFF).json()
    assert [i["id"] for i in only_a["items"]] == [ra]
    one = ref_env.client.get(f"/api/v1/referrals/{ra}", headers=STAFF).json()
    assert one["match_grade"] == "none"  # staff see the match grade, partners do not


def test_reads_are_audited_with_actor_and_justification(ref_env, make_body) -> None:
    a = ref_env.agency()
    rid = ref_env.submit(a, make_body()).json()["id"]
    ref_env.client.get(f"/api/v1/referrals/{rid}", headers={**STAFF, "X-Justification": "case review 42"})
    ref_env.client.get(f"/api/v1/referrals/{rid}/status", headers=a.headers)
    ref_env.client.get(
        f"/api/v1/referrals/{rid}/status", headers={**a.headers, "X-Justification": "our file"}
    )
    no_reason = ref_env.client.get(f"/api/v1/referrals/{rid}", headers={**STAFF, "X-Justification": ""})
    assert no_reason.status_code == 422  # staff always give the reason
    with Session(ref_env.runtime.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.subject_id == rid)).all()
    consult = [e for e in rows if e.operation == "consult"]
    disclose = [e for e in rows if e.operation == "disclose"]
    assert [(e.actor, e.justification) for e in consult] == [("user:analyst", "case review 42")]
    assert [e.recipient for e in disclose] == [a.id, a.id]
    # a partner's stated purpose is recorded; without one, the shared rule's purpose naming the agency
    assert a.id in disclose[0].justification and disclose[1].justification == "our file"


def test_roles_are_checked_by_the_service(ref_env, make_body) -> None:
    a = ref_env.agency()
    nobody = identity_headers(subject="user:nobody")  # no role at all
    assert ref_env.client.get("/api/v1/referrals", headers=nobody).status_code == 403
    gateway = identity_headers("system", subject="system:gateway", kind="system")
    assert ref_env.client.get("/api/v1/referrals", headers=gateway).status_code == 403
    assert ref_env.client.post("/api/v1/referrals", json=make_body(), headers=STAFF).status_code == 403
    assert ref_env.client.get("/api/v1/match-reviews", headers=a.headers).status_code == 403
    assert ref_env.client.get("/api/v1/referrals").status_code == 401
    forged = {"x-hhpu-identity": "not-a-token"}
    assert ref_env.client.get("/api/v1/referrals", headers=forged).status_code == 401


def test_list_pagination_and_filters(ref_env, make_body) -> None:
    a = ref_env.agency()
    ids = [ref_env.submit(a, make_body()).json()["id"] for _ in range(5)]
    ref_env.submit(a, make_body(concern__domains=["hate_crime"]))
    ref_env.submit(a, make_body(subject__date_of_birth="2019-05-05"))  # declined: too young
    page1 = ref_env.client.get("/api/v1/referrals?limit=3&offset=0", headers=a.headers).json()
    page3 = ref_env.client.get("/api/v1/referrals?limit=3&offset=6", headers=a.headers).json()
    assert (page1["total"], len(page1["items"]), len(page3["items"])) == (7, 3, 1)
    assert "subject" not in page1["items"][0]  # lists carry no personal data

    hate = ref_env.client.get("/api/v1/referrals?domain=hate_crime", headers=a.headers).json()
    assert hate["total"] == 1 and hate["items"][0]["domains"] == ["hate_crime"]
    stalking = ref_env.client.get("/api/v1/referrals?domain=stalking", headers=a.headers).json()
    assert stalking["total"] == 6
    declined = ref_env.client.get("/api/v1/referrals?status=declined", headers=a.headers).json()
    assert declined["total"] == 1
    screened = ref_env.client.get("/api/v1/referrals?status=screened", headers=a.headers).json()
    assert set(ids) <= {i["id"] for i in screened["items"]}

    today = ref_env.client.get(f"/api/v1/referrals?submitted_from={_today()}", headers=a.headers).json()
    assert today["total"] == 7
    past = ref_env.client.get("/api/v1/referrals?submitted_to=2020-01-01", headers=a.headers).json()
    assert past["total"] == 0

    too_big = ref_env.client.get("/api/v1/referrals?limit=501", headers=a.headers)
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "query.limit"
    bad_status = ref_env.client.get("/api/v1/referrals?status=lost", headers=a.headers)
    assert bad_status.status_code == 422 and bad_status.json()["errors"][0]["code"] == "invalid_choice"


def _today() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).date().isoformat()
