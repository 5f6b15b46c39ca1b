"""/docs covers every service's operations through the gateway, with shapes and examples.

The document is the REAL merged one: the single-process system as `make run` builds it
(`build_system`), its gateway asked for `/openapi.json`. Checked against the services' own routes:

- every operation a service routes under /api/v1 is reachable through the gateway and published
  (a per-service path such as `/api/v1/audit/{service}` as that service's own path);
- every 2xx JSON response has a schema (a model, not a free-form object);
- every request body has an example of the whole body, and each example is valid input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from gateway.routes import resolve
from hhpu.system import build_system
from pydantic import BaseModel

API = "/api/v1/"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, FastAPI], dict[str, Any]]]:
    sysm = build_system(tmp_path_factory.mktemp("docs") / "single")
    with TestClient(sysm.gateway, base_url="http://127.0.0.1") as client:
        r = client.get("/openapi.json")
        assert r.status_code == 200, r.text
        doc = r.json()
    assert not doc["info"].get("x-unavailable-services"), doc["info"]
    yield sysm.services, doc


def _routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, path template, route) of every published operation of a service under /api/v1."""
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        path = ctx.path_format or ""
        if isinstance(route, APIRoute) and route.include_in_schema and path.startswith(API):
            for method in sorted((ctx.methods or set()) - {"HEAD"}):
                yield method.lower(), path, route


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _shaped(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A schema that says what comes back: not empty and not a bare object of anything."""
    s = _resolved(schema, schemas)
    if not s:
        return False
    if "anyOf" in s or "oneOf" in s:
        return all(_shaped(x, schemas) for x in s.get("anyOf", s.get("oneOf", [])))
    if s.get("type") == "object" and not s.get("properties"):
        extra = s.get("additionalProperties")
        return isinstance(extra, dict) and bool(extra)  # a map of something (e.g. string -> string)
    return True


def _body_examples(body: dict[str, Any], schemas: dict[str, Any]) -> list[Any]:
    media = body.get("content", {}).get("application/json", {})
    found = list(media.get("examples", {}).values()) if isinstance(media.get("examples"), dict) else []
    if "example" in media:
        found.append(media["example"])
    schema = media.get("schema", {})
    for s in [schema, *schema.get("anyOf", [])]:
        found += _resolved(s, schemas).get("examples", [])
    return found


def test_every_routed_operation_is_published(system: tuple[dict[str, FastAPI], dict[str, Any]]) -> None:
    services, doc = system
    expected = set()
    for name, app in services.items():
        for method, template, _route in _routes(app):
            path = template.replace("{service}", name)
            concrete = "/".join("x" if seg.startswith("{") else seg for seg in path.split("/"))
            assert resolve(concrete) == name, (
                f"{method.upper()} {template} of {name}: the gateway sends it elsewhere"
            )
            expected.add((method, path))
    published = {(m, p) for p, item in doc["paths"].items() for m in item if isinstance(item[m], dict)}
    assert len(expected) > 120
    assert sorted(expected - published) == []
    assert not any("{service}" in p for p in doc["paths"])


def test_every_2xx_json_response_has_a_schema(system: tuple[dict[str, FastAPI], dict[str, Any]]) -> None:
    _services, doc = system
    schemas = doc["components"]["schemas"]
    untyped = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, response in op.get("responses", {}).items():
                media = response.get("content", {}).get("application/json")
                if (
                    status.startswith("2")
                    and media is not None
                    and not _shaped(media.get("schema", {}), schemas)
                ):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert untyped == []


def test_every_request_body_has_a_valid_example(system: tuple[dict[str, FastAPI], dict[str, Any]]) -> None:
    services, doc = system
    schemas = doc["components"]["schemas"]
    bodies = [
        (f"{m.upper()} {p}", op["requestBody"])
        for p, item in doc["paths"].items()
        for m, op in item.items()
        if "requestBody" in op and "application/json" in op["requestBody"].get("content", {})
    ]
    assert len(bodies) > 40
    assert [op for op, body in bodies if not _body_examples(body, schemas)] == []
    # each example is accepted by the model the route validates its body with
    checked = 0
    for _name, app in services.items():
        for method, path, route in _routes(app):
            if route.body_field is None:
                continue
            annotation = route.body_field.field_info.annotation
            models = [
                t
                for t in (annotation, *get_args(annotation))
                if isinstance(t, type) and issubclass(t, BaseModel)
            ]
            assert models, f"{method.upper()} {path}: the body is not a model"
            for model in models:
                for example in model.model_json_schema().get("examples", []):
                    model.model_validate(example)  # raises on an example the API would refuse
                    checked += 1
    assert checked >= len(bodies)
