"""Every service is built through the one skeleton, so its safety checks cannot be skipped.

- Each of the eight processes (four APIs, four consumers) refuses to start outside development with
  the committed development internal secret.
- Every service refuses an identity assertion presented twice (a replay) or living too long.
- Every collection GET of every service pages (limit/offset, the one page shape) and answers 422
  problem+json, never 500, to out-of-range paging.
- A consumer built from today's contracts handles an event from a newer producer carrying an extra
  field (rolling deploys).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hhpu.services import SERVICES, spec
from hhpu_shared.auth import IDENTITY_HEADER, STAFF_ROLES, Principal, mint_identity
from hhpu_shared.service import ServiceSpec
from hhpu_shared.settings import DEV_INTERNAL_SECRET
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers

PROCESSES = [(pkg, entry) for pkg, _ in SERVICES.values() for entry in (pkg, f"{pkg}.consumer")]


@pytest.mark.parametrize(("pkg", "module"), PROCESSES)
def test_development_secret_refused_in_production(pkg: str, module: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("INTERNAL_SECRET")}
    env.update(
        HHPU_ENVIRONMENT="production",
        HHPU_INTERNAL_SECRET=DEV_INTERNAL_SECRET,
        HHPU_DATA_DIR=str(tmp_path),
        HHPU_TRANSPORT="inprocess",
    )
    proc = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    out = proc.stdout.decode() + proc.stderr.decode()
    assert proc.returncode != 0, out
    assert "development internal secret is refused" in out
    assert not list(tmp_path.glob("*.db")), "nothing may be created before the check"


def _app(service: ServiceSpec, tmp_path: Path) -> TestClient:
    url = migrated(service.migrations, f"sqlite:///{tmp_path}/{service.package}.db")
    return TestClient(service.create_app(service.settings(database_url=url), run_consumer=False))


def _list_operations(client: TestClient) -> list[str]:
    """Every GET of the app's routes under /api/v1 that takes `limit` and `offset` (a paged list)."""
    return [path for path, paged in _gets(client.app) if paged]  # type: ignore[arg-type]


def _gets(app: FastAPI) -> list[tuple[str, bool]]:
    """Every GET of the app's routes under /api/v1, and whether it takes `limit` and `offset`."""
    found = []
    for route in iter_route_contexts(app.routes):  # routers included lazily too
        path = route.path_format or ""
        if isinstance(route.original_route, APIRoute) and "GET" in (route.methods or ()):
            if path.startswith("/api/v1/"):
                found.append((path, {"limit", "offset"} <= _query_names(route.dependant)))
    assert found, "no GET under /api/v1: the walk over the app's routes found nothing"
    return found


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route, its dependencies' included (PageDep's limit and offset)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


# GETs that answer neither one resource's record (a path ending in its id) nor a document (HTML, PDF,
# PNG), and are still not lists: each answers one object whose inner lists are bounded by nature.
# Any other GET is a collection and must page; a new unpaged GET fails until it pages or is named here.
NOT_LISTS: dict[str, str] = {
    "/api/v1/audit/{service}/verify": "the verdict on one service's audit chain",
    "/api/v1/audit/{service}/references": "one person's references in one service (at most 50)",
    "/api/v1/referrals/{referral_id}/status": "one referral's status and its own history",
    "/api/v1/ranking-runs/schedule": "the schedule's state",
    "/api/v1/ranking-runs/{run_id}/fairness": "one run's groups of three recorded characteristics",
    "/api/v1/ranking-runs/{run_id}/evaluation": "one run's back-test (ten deciles, ten bands)",
    "/api/v1/ranking-history/summary": "one figure per back-test measure (per-run rows: /ranking-history)",
    "/api/v1/data-quality": "a report over the offence codes of one weight edition",
    "/api/v1/people/{person_id}/retention": "one person's retention status",
    "/api/v1/cases/{case_id}/allocation-suggestion": "one suggestion (the team considered: /managers)",
    "/api/v1/assessments/checklist": "the fixed suitability checklist (reference data)",
    "/api/v1/reports/evaluation": "aggregate figures (months, cohorts, intervention categories)",
    "/api/v1/meetings/next": "one meeting",
    "/api/v1/meetings/{meeting_id}/agenda": "one meeting's agenda plan, cut to its time limit",
}


def _is_page(schema: dict[str, Any], schemas: dict[str, Any], depth: int = 0) -> bool:
    """The schema is the shared page shape, or holds one (inner lists paged, up to two levels down)."""
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    props = schema.get("properties") or {}
    if {"items", "total", "limit", "offset"} <= set(props):
        return True
    return depth < 2 and any(_is_page(v, schemas, depth + 1) for v in props.values())


@pytest.mark.parametrize("name", list(SERVICES))
def test_replayed_or_long_lived_assertion_refused(name: str, tmp_path: Path) -> None:
    service = spec(name)
    staff = Principal(subject="user:replay", kind="staff", roles=frozenset(STAFF_ROLES))
    with _app(service, tmp_path) as client:
        path = "/api/v1" + _list_operations(client)[0].removeprefix("/api/v1")
        path = path.replace("{", "").replace("}", "")

        def get(token: str) -> int:
            headers = {IDENTITY_HEADER: token, "X-Justification": "test: replay"}
            return client.get(path, headers=headers).status_code

        once = mint_identity(staff, DEV_INTERNAL_SECRET, ttl_s=30, method="GET", path=path)
        assert get(once) != 401
        assert get(once) == 401, "the same assertion was accepted twice"
        assert get(mint_identity(staff, DEV_INTERNAL_SECRET, ttl_s=30, method="GET", path=path)) != 401
        year = mint_identity(staff, DEV_INTERNAL_SECRET, ttl_s=365 * 86400, method="GET", path=path)
        assert get(year) == 401


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_list_endpoint_refuses_bad_paging_with_422(name: str, tmp_path: Path) -> None:
    """Walks every GET of the service's routes: a collection takes `limit` and `offset` (PageDep),
    answers the shared page shape (or pages each of its lists) and refuses out-of-range paging with
    a 422 problem; a GET that does not page is one record, a document, or named in NOT_LISTS."""
    service = spec(name)
    headers = {**identity_headers(*STAFF_ROLES), "X-Justification": "test: paging bounds"}
    with _app(service, tmp_path) as client:
        doc = client.get("/openapi.json").json()
        schemas = doc.get("components", {}).get("schemas", {})
        unpaged = []
        for template, paged in _gets(client.app):  # type: ignore[arg-type]
            ok = doc["paths"][template]["get"]["responses"].get("200", {}).get("content", {})
            if not paged:
                if "application/json" in ok and not template.endswith("}") and template not in NOT_LISTS:
                    unpaged.append(template)
                continue
            assert _is_page(ok["application/json"]["schema"], schemas), f"{template}: not the page shape"
            path = template.replace("{", "").replace("}", "")  # any id: paging is checked first
            path = path.replace("service", service.package.replace("_", "-"))
            for params in ({"offset": 2**70}, {"limit": -1}, {"limit": 10**9}, {"limit": 0}):
                r = client.get(path, params=params, headers=headers)
                assert r.status_code == 422, (template, params, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert {e["field"] for e in r.json()["errors"]} & {"query.limit", "query.offset"}
    assert unpaged == [], "collections without paging (page them, or say in NOT_LISTS why not)"


@pytest.mark.parametrize("name", list(SERVICES))
def test_no_list_is_a_bare_array(name: str, tmp_path: Path) -> None:
    """Every list (a GET) answers one page shape (items, total, limit, offset), never a bare array."""
    service = spec(name)
    with _app(service, tmp_path) as client:
        spec_json = client.get("/openapi.json").json()
    bare = []
    for path, ops in spec_json["paths"].items():
        for method, op in ops.items():
            if method != "get":
                continue
            content = op.get("responses", {}).get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if schema.get("type") == "array":
                bare.append(f"{method.upper()} {path}")
    assert bare == []
