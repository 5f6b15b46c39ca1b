"""What every service's shared HTTP layer answers and logs: 405 with Allow as problem+json, route
templates (never ids or query strings) in the access log and the metrics, 500 as problem+json, and
control characters in a path or query string refused before any route."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hhpu_shared.errors import install_error_handlers
from hhpu_shared.http import ControlCharacterGuard, ObservabilityMiddleware
from hhpu_shared.logging import JsonFormatter
from prometheus_client import generate_latest

PERSON = "p-5f2a9c"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/people/{person_id}")
    def person(person_id: str, q: str | None = None) -> dict[str, str]:
        return {"id": person_id}

    @app.put("/api/v1/people/{person_id}")
    def change(person_id: str) -> dict[str, str]:
        return {"id": person_id}

    @app.get("/api/v1/boom/{person_id}")
    def boom(person_id: str) -> None:
        raise RuntimeError(f"failed for {person_id}")

    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(ObservabilityMiddleware, service="hygiene-test")
    return TestClient(app, raise_server_exceptions=False)


def test_405_names_the_allowed_methods_as_problem_json(client: TestClient) -> None:
    r = client.delete(f"/api/v1/people/{PERSON}")
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "method_not_allowed"
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "PUT"}


def test_access_log_and_metrics_carry_the_route_template_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hhpu.access"):
        assert client.get(f"/api/v1/people/{PERSON}?q=Dean+Marsh").status_code == 200
    [record] = [r for r in caplog.records if r.name == "hhpu.access"]
    line = JsonFormatter("hygiene-test").format(record)
    assert json.loads(line)["route"] == "/api/v1/people/{person_id}"
    assert PERSON not in line and "Dean" not in line and "q=" not in line
    text = generate_latest().decode()
    assert 'route="/api/v1/people/{person_id}",service="hygiene-test"' in text and PERSON not in text


def test_unexpected_error_is_problem_json_and_logged_without_the_path(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="hhpu.errors"):
        r = client.get(f"/api/v1/boom/{PERSON}")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal_error" and PERSON not in r.json().get("detail", "")
    [record] = [r for r in caplog.records if r.name == "hhpu.errors"]
    assert PERSON not in record.getMessage()


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/people/p%00x", "path"),
        ("/api/v1/people/p%1Fx", "path"),
        ("/api/v1/people/p%7fx", "path"),
        ("/api/v1/people/p-1?q=a%00b", "query"),
        ("/api/v1/people/p-1?q=a%0Ab", "query"),
        ("/api/v1/people/p-1?q=a%09b", "query"),
    ],
)
def test_control_characters_in_path_or_query_are_refused(client: TestClient, url: str, field: str) -> None:
    r = client.get(url)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [(field, "control_character")]
    assert r.headers["x-request-id"]  # answered inside the observability middleware: logged, counted


def test_ordinary_escapes_still_pass(client: TestClient) -> None:
    r = client.get("/api/v1/people/p%20x?q=Dean%20Marsh%2C%20Zo%C3%AB&x=%25")
    assert r.status_code == 200 and r.json() == {"id": "p x"}
