"""One OpenAPI document for all services, merged from each upstream's ``/openapi.json``.

Every published operation is told which roles may call it and which problem+json errors it answers
(RFC 9457, with per-field codes on 422), so `/docs` and `/redoc` show them.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

from . import fanout, policy
from .routes import SERVICES, resolve
from .upstream import Upstream

log = logging.getLogger("hhpu.gateway.openapi")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
REF_PREFIX = "#/components/schemas/"


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if (
                k == "$ref"
                and isinstance(v, str)
                and v.startswith(REF_PREFIX)
                and v[len(REF_PREFIX) :] in renames
            ):
                out[k] = REF_PREFIX + renames[v[len(REF_PREFIX) :]]
            else:
                out[k] = _rewrite_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def merge(docs: dict[str, dict[str, Any]], unavailable: list[str]) -> dict[str, Any]:
    """Merge service documents: only publicly routed paths, schema name clashes renamed per service."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "HHPU Platform API",
            "version": "1",
            "description": "All HHPU services behind the gateway. Partners authenticate with `X-API-Key`, "
            "staff with `Authorization: Bearer <JWT>`. Each operation lists the roles allowed "
            "(`x-hhpu-roles`) and the service answering it (`x-hhpu-service`).",
        },
        "paths": {},
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA, "FieldError": FIELD_ERROR_SCHEMA},
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"ApiKey": []}, {"Bearer": []}],
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    seen_tags: set[str] = set()
    op_ids: set[str] = set()
    for service in SERVICES:
        doc = docs.get(service)
        if not doc:
            continue
        renames: dict[str, str] = {}
        for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{service.replace('-', '_')}__{name}"
        doc = _rewrite_refs(doc, renames) if renames else copy.deepcopy(doc)
        for name, schema in (doc.get("components", {}).get("schemas") or {}).items():
            schemas[renames.get(name, name)] = schema
        for template, item in (doc.get("paths") or {}).items():
            path, item = _own_path(template, item, service)
            if resolve(path) != service:
                continue  # internal or foreign paths are never published
            for method in METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                op["x-hhpu-service"] = service
                rule = policy.match(method.upper(), _example(path))
                op["x-hhpu-roles"] = sorted(rule.roles) if rule else [policy.AD]
                _describe(op)
                oid = op.get("operationId")
                if oid in op_ids:
                    op["operationId"] = f"{service}_{oid}"
                op_ids.add(op.get("operationId", ""))
            merged["paths"][path] = item
        for tag in doc.get("tags") or []:
            if tag.get("name") not in seen_tags:
                seen_tags.add(tag.get("name"))
                merged["tags"].append(tag)
    for path, item in fanout.openapi_paths().items():  # the gateway's own, across every service
        for op in item.values():
            op["x-hhpu-service"] = "gateway"
            rule = policy.match("GET", path)
            op["x-hhpu-roles"] = sorted(rule.roles) if rule else [policy.AD]
            _describe(op)
        merged["paths"][path] = item
    used = {
        t
        for item in merged["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for t in op.get("tags", [])
    }
    merged["tags"] = [t for t in merged["tags"] if t.get("name") in used]  # no empty sections
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
    return merged


FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {"type": "string", "examples": ["subject.date_of_birth"]},
        "code": {"type": "string", "examples": ["date_in_future"]},
        "message": {"type": "string"},
    },
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is machine-readable, `errors` lists invalid fields.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:hhpu:problem:validation_failed"]},
        "title": {"type": "string", "examples": ["Invalid request"]},
        "status": {"type": "integer", "examples": [422]},
        "code": {"type": "string", "examples": ["validation_failed"]},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": REF_PREFIX + "FieldError"}},
    },
}
_ERRORS = {
    "401": ("Unauthenticated: no or bad credentials", "unauthenticated"),
    "403": ("Forbidden: the caller's role or agency may not do this", "forbidden"),
    "404": ("Not found, or not visible to the caller's agency", "not_found"),
    "409": ("Conflict with the current state", "conflict"),
    "422": ("Invalid request: `errors` names each field with its code", "validation_failed"),
    "429": ("Too many requests: see Retry-After", "rate_limited"),
}


def _describe(op: dict[str, Any]) -> None:
    """Add the roles to the text and the problem+json errors to the responses of one operation."""
    roles = ", ".join(f"`{r}`" for r in op.get("x-hhpu-roles", []))
    text = op.get("description") or ""
    if "**Roles:**" not in text:
        op["description"] = f"{text}\n\n**Roles:** {roles}".strip()
    responses: dict[str, Any] = op.setdefault("responses", {})
    writes = "requestBody" in op or any(p.get("in") == "query" for p in op.get("parameters", []))
    for status, (what, code) in _ERRORS.items():
        if status == "409" and status not in responses:
            continue  # only where the service itself declares a conflict
        if status == "422" and not writes and status not in responses:
            continue
        responses[status] = {
            "description": (responses.get(status) or {}).get("description") or what,
            "content": {
                "application/problem+json": {
                    "schema": {"$ref": REF_PREFIX + "Problem"},
                    "example": {
                        "type": f"urn:hhpu:problem:{code}",
                        "title": what.split(":")[0],
                        "status": int(status),
                        "code": code,
                    },
                }
            },
        }


def _own_path(template: str, item: dict[str, Any], service: str) -> tuple[str, dict[str, Any]]:
    """`/api/v1/audit/{service}` as this service's own path (`/api/v1/audit/case-service`), which is
    the one the gateway routes to it, with the `service` parameter gone; any other path unchanged."""
    if "{service}" not in template:
        return template, item
    out: dict[str, Any] = {}
    for key, op in item.items():
        if isinstance(op, dict) and "parameters" in op:
            op = {**op, "parameters": [p for p in op["parameters"] if p.get("name") != "service"]}
        if key == "parameters" and isinstance(op, list):
            op = [p for p in op if p.get("name") != "service"]
        out[key] = op
    return template.replace("{service}", service), out


def _example(path: str) -> str:
    return "/".join("x" if seg.startswith("{") else seg for seg in path.split("/"))


class OpenApiAggregator:
    def __init__(self, upstreams: dict[str, Upstream], cache_s: float) -> None:
        self.upstreams = upstreams
        self.cache_s = cache_s
        self._doc: bytes | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, name: str, up: Upstream) -> dict[str, Any] | None:
        try:
            status, data = await up.call("GET", "/openapi.json", {"accept": "application/json"}, timeout=5.0)
            if status == 200:
                doc = json.loads(data)
                return doc if isinstance(doc, dict) else None
        except Exception as exc:
            log.warning("openapi fetch failed", extra={"upstream": name, "error": type(exc).__name__})
        return None

    async def document(self) -> bytes:
        if self._doc is not None and time.monotonic() < self._until:
            return self._doc
        async with self._lock:
            if self._doc is not None and time.monotonic() < self._until:
                return self._doc
            names = list(self.upstreams)
            results = await asyncio.gather(*(self._fetch(n, self.upstreams[n]) for n in names))
            docs = {n: d for n, d in zip(names, results, strict=True) if d is not None}
            missing = [n for n in names if n not in docs]
            self._doc = json.dumps(merge(docs, missing)).encode()
            # retry soon when a service was missing, so the document completes as services come up
            self._until = time.monotonic() + (min(self.cache_s, 5.0) if missing else self.cache_s)
            return self._doc
