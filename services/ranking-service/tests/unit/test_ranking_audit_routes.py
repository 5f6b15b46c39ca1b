"""Must-show 1 for the ranking-service: every route is in one of two tables. A route that returns a
person's data (here: their records reference, with a score or rank) writes one audit entry per person
shown, with actor, time, justification and operation (`SHOWS`); every other route says why it shows
no one (`NO_PERSON`). Staff imports and production runs record the caller's justification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.testing.audit_routes import SKELETON_NO_PERSON, Shown, exercise, unlisted
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.synthetic import SyntheticForce, generate, write_force
from sqlmodel import Session, select

API = "/api/v1"
WHY = "audit coverage: fortnightly ranking review"
RUNS = f"{API}/ranking-runs"
DPO = "data_protection_officer"


@pytest.fixture(scope="module")
def small_force() -> SyntheticForce:
    today = datetime.now(UTC).date()
    return generate(
        120, 900, seed=14, start=today - timedelta(days=3 * 365), split=today - timedelta(days=200), end=today
    )


@pytest.fixture(scope="module")
def force_files(small_force: SyntheticForce, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_force(small_force, tmp_path_factory.mktemp("force"))


def headers(role: str) -> dict[str, str]:
    return identity_headers(role, subject=f"user:{role}") | {"X-Justification": WHY}


def upload(client: TestClient, kind: str, path: Path) -> None:
    r = client.post(
        f"{API}/imports/{kind}",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers=headers("analyst"),
    )
    assert r.status_code == 201, r.text


def base(client: TestClient, files: tuple[Path, Path]) -> dict[str, Any]:
    """The force imported, a production run with a top five and a second with a top ten (five
    entrants in its comparison)."""
    upload(client, "people", files[0])
    upload(client, "offences", files[1])
    runs = []
    for n in (5, 10):
        r = client.post(RUNS, json={"kind": "production", "top_n": n}, headers=headers("analyst"))
        assert r.status_code == 201, r.text
        runs.append(r.json())
    first, second = runs
    top = client.get(f"{RUNS}/{second['id']}/entries?top_only=true", headers=headers("analyst")).json()[
        "items"
    ]
    compared = {
        p["person_ref"] for k in ("entrants", "leavers", "big_movers") for p in second["comparison"][k]
    }
    assert compared, "the second run's comparison names people"
    return {
        "run": second["id"],
        "first": first["id"],
        "top": [e["person_ref"] for e in top],
        "compared": compared,
    }


def refs_in_run(run: dict[str, Any]) -> set[str | None]:
    return {
        p["person_ref"] for k in ("entrants", "leavers", "big_movers") for p in run["comparison"].get(k, [])
    }


def differences(c: dict[str, Any]) -> set[str | None]:
    out: set[str | None] = set()
    for d in c["response"]["first_differences"]:
        for side in (d["stored"], d["recomputed"]):
            out |= {side[0]} if isinstance(side, list) else ({side} if side else set())
    return out or {None}


RUN = "/api/v1/ranking-runs/{run_id}"
SHOWS: dict[str, Shown] = {
    "POST /api/v1/ranking-runs": Shown(
        lambda c: RUNS,
        lambda c: {e["person_ref"] for e in c["response"]["top"]} | refs_in_run(c["response"]),
        "analyst",
        body=lambda c: {"kind": "dry", "top_n": 5},
    ),
    "GET /api/v1/ranking-runs": Shown(
        lambda c: f"{RUNS}?kind=production",
        lambda c: set().union(*(refs_in_run(r) for r in c["response"]["items"])),
        "offender_manager",
    ),
    f"GET {RUN}": Shown(lambda c: f"{RUNS}/{c['run']}", lambda c: c["compared"], "unit_supervisor"),
    f"GET {RUN}/entries": Shown(
        lambda c: f"{RUNS}/{c['run']}/entries?top_only=true", lambda c: set(c["top"]), "analyst"
    ),
    f"GET {RUN}/entries/{{person_ref}}": Shown(
        lambda c: f"{RUNS}/{c['run']}/entries/{c['top'][0]}", lambda c: {c["top"][0]}, "offender_manager"
    ),
    f"POST {RUN}/reproduce": Shown(lambda c: f"{RUNS}/{c['run']}/reproduce", differences, "analyst"),
    f"GET {RUN}/comparison": Shown(
        lambda c: f"{RUNS}/{c['run']}/comparison?with={c['first']}", lambda c: c["compared"], "analyst"
    ),
    f"GET {RUN}/fairness": Shown(lambda c: f"{RUNS}/{c['run']}/fairness", lambda c: {None}, "analyst"),
    "GET /api/v1/people/{person_ref}/trajectory": Shown(
        lambda c: f"{API}/people/{c['top'][0]}/trajectory", lambda c: {c["top"][0]}, "analyst"
    ),
    "GET /api/v1/data-quality": Shown(lambda c: f"{API}/data-quality", lambda c: {None}, "analyst"),
    "POST /api/v1/imports/{kind}": Shown(
        lambda c: f"{API}/imports/people?filename=again.csv",
        lambda c: {None},
        "analyst",
        "collect",
        status=201,
        extra={"content": b"records_id,given_name,family_name\nR-NEW-1,Kim,Ray\n"},
    ),
    "GET /api/v1/audit/{service}": Shown(
        lambda c: f"{API}/audit/ranking-service?person={c['top'][0]}", lambda c: {c["top"][0]}, DPO
    ),
    "GET /api/v1/audit/{service}/references": Shown(
        lambda c: f"{API}/audit/ranking-service/references?person={c['top'][0]}", lambda c: {c["top"][0]}, DPO
    ),
    "GET /api/v1/subject-access/{service}": Shown(
        lambda c: f"{API}/subject-access/ranking-service?person={c['top'][0]}",
        lambda c: {c["top"][0]},
        DPO,
        "disclose",
    ),
}

NO_PERSON: dict[str, str] = {
    **SKELETON_NO_PERSON,
    "GET /api/v1/models": "the ranking models and their parameters",
    "GET /api/v1/weight-editions": "the harm weight editions",
    "GET /api/v1/weight-editions/{edition}": "one harm weight edition: offence codes and weights",
    "GET /api/v1/ranking-runs/schedule": "the fortnightly schedule: dates and run ids",
    f"POST {RUN}/evaluations": "a back-test: correlations, precision, deciles with intervals, no person",
    f"GET {RUN}/evaluation": "a back-test's figures, no person",
    f"GET {RUN}/evaluation.png": "a decile chart",
    "GET /api/v1/ranking-history/summary": "back-test and stability figures across runs",
    "POST /api/v1/ranking-runs/model-comparisons": "models' back-test figures on a common population",
    "GET /api/v1/ranking-history": "each run's stability and back-test figures, no person",
    "GET /api/v1/imports": "the import ledger: files, hashes, row counts",
    "GET /api/v1/imports/{import_id}/rejections": "rejected rows: row numbers and error codes, no values",
}


def test_every_route_is_classified(rank_client: TestClient) -> None:
    assert unlisted(rank_client.app, SHOWS, NO_PERSON) == {  # type: ignore[arg-type]
        "unclassified": [],
        "stale": [],
        "both": [],
        "unexplained": [],
    }


@pytest.mark.parametrize("route", sorted(SHOWS))
def test_each_person_shown_is_audited_with_actor_time_justification_operation(
    rank_client: TestClient, force_files: tuple[Path, Path], route: str
) -> None:
    case = SHOWS[route]
    ctx = base(rank_client, force_files)
    engine = rank_client.app.state.runtime.engine  # type: ignore[attr-defined]
    actor = f"user:{case.role}"
    assert exercise(rank_client, engine, route, case, ctx, headers(case.role), actor, WHY) == []


def test_a_staff_import_and_production_run_record_the_callers_justification(
    rank_client: TestClient, force_files: tuple[Path, Path]
) -> None:
    ctx = base(rank_client, force_files)
    engine = rank_client.app.state.runtime.engine  # type: ignore[attr-defined]
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.actor == "user:analyst")).all()
    by_op = {(r.operation, r.subject_type): r.justification for r in rows}
    assert by_op[("collect", "records_import")] == WHY
    assert by_op[("combine", "ranking_run")] == WHY
    disclosed = [r for r in rows if r.operation == "disclose"]  # the candidates sent for assessment
    assert disclosed and {r.justification for r in disclosed} == {WHY}
    assert {r.person_ref for r in disclosed} <= set(ctx["top"]) | set(ctx["compared"])
    bare = identity_headers("analyst", subject="user:analyst")
    for method, path in (("POST", RUNS), ("POST", f"{API}/imports/people?filename=x.csv")):
        r = rank_client.request(
            method, path, json={"kind": "production"} if path == RUNS else None, headers=bare
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "X-Justification", path
