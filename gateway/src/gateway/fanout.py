"""The gateway's own answers across every service: the merged audit trail and subject access.

Each service answers for its own trail and holdings (``/api/v1/audit/<service>``,
``/api/v1/subject-access/<service>``). ``GET /api/v1/audit`` and ``GET /api/v1/subject-access`` ask all
four with the caller's own identity (a fresh assertion per call, bound to that call's method and
path) and the caller's ``X-Justification`` and ``X-Correlation-ID``, so every service checks the role
and the justification itself and audits the query as if the caller had asked it directly. Nothing is
stored here. A person is found by every reference the platform knows them by: the case-service's
``/api/v1/audit/case-service/references`` (audited as a consultation) expands ``person``.

A service's refusal (403, 422) is relayed as it is; a service that cannot answer makes the whole
answer a 503 (an audit or an export missing a service would look complete and be wrong).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hhpu_shared.auth import IDENTITY_HEADER, Principal
from hhpu_shared.documents import to_pdf
from hhpu_shared.subject_access import merge_timeline, sar_html, timeline_csv
from starlette.types import Scope, Send

from .breaker import BadGateway, UpstreamUnavailable
from .identity import IdentityMinter
from .routes import API_PREFIX, SERVICES
from .upstream import Headers, Upstream, response_headers

AUDIT_PATH = API_PREFIX + "audit"
SAR_PATH = API_PREFIX + "subject-access"
FANOUT_PATHS = frozenset({AUDIT_PATH, SAR_PATH})
RESOLVER = "case-service"  # holds every reference of a person (its id, the records id, referral ids)
SERVICE_PAGE = 500  # the services' largest page
MAX_WINDOW = 10_000  # offset + limit of a merged page: each service is read up to that far
AUDIT_FILTERS = ("user", "operation", "since", "until")
PASSED_HEADERS = (b"x-justification", b"x-correlation-id", b"x-request-id")
TIMEOUT_S = 60.0


class Problem(Exception):
    """An answer the gateway makes itself (problem+json)."""

    def __init__(self, status: int, title: str, detail: str, code: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.code, self.extra = status, title, detail, code, extra


class Relayed(Exception):
    """A service's own refusal, passed on as it is."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _invalid(field: str, code: str, message: str) -> Problem:
    errors = [{"field": field, "code": code, "message": message}]
    return Problem(
        422,
        "Invalid request",
        "The request did not pass validation; see errors.",
        "validation_failed",
        errors=errors,
    )


def _int(params: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name, [str(default)])[-1]
    if not raw.isdigit():
        raise _invalid(name, "not_an_integer", f"{name} is a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise _invalid(name, "out_of_range", f"{name} is {low}..{high}")
    return value


def _choice(params: dict[str, list[str]], name: str, choices: tuple[str, ...]) -> str:
    value = params.get(name, [choices[0]])[-1]
    if value not in choices:
        raise _invalid(name, "invalid_choice", f"{name} is one of {', '.join(choices)}")
    return value


class FanOut:
    def __init__(self, upstreams: dict[str, Upstream], minter: IdentityMinter) -> None:
        self.upstreams = upstreams
        self.minter = minter

    async def serve(
        self,
        scope: Scope,
        send: Send,
        fwd: Headers,
        extra: Headers,
        principal: Principal,
        problem: Callable[..., Awaitable[None]],
    ) -> int:
        """Answer one request to a fan-out path; `problem(scope, send, extra, status, title, detail,
        code, **kw)` sends the gateway's own problem+json. Returns the status sent."""
        try:
            status, body, ctype, more = await self.answer(
                scope["method"], scope["path"], scope.get("query_string") or b"", fwd, principal
            )
        except Problem as p:
            if p.status == 405:
                extra = [*extra, (b"allow", b"GET")]
            await problem(scope, send, extra, p.status, p.title, p.detail, p.code, **p.extra)
            return p.status
        length = str(len(body)).encode()
        headers = response_headers([(b"content-type", ctype), (b"content-length", length)], [*more, *extra])
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return status

    async def answer(
        self, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], principal: Principal
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        """(status, body, content type, extra headers) of one request to a fan-out path."""
        if method != "GET":
            raise Problem(405, "Method not allowed", f"{method} is not allowed here", "method")
        params: dict[str, list[str]] = {}
        for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            params.setdefault(k, []).append(v)
        passed = {k.decode(): v.decode("latin-1") for k, v in headers if k in PASSED_HEADERS}
        try:
            if path == AUDIT_PATH:
                return await self._audit(params, passed, principal)
            return await self._subject_access(params, passed, principal)
        except Relayed as r:
            return r.status, r.body, b"application/problem+json", []

    async def _get(
        self,
        service: str,
        path: str,
        query: list[tuple[str, str]],
        passed: dict[str, str],
        principal: Principal,
    ) -> tuple[int, bytes]:
        upstream = self.upstreams.get(service)
        if upstream is None:
            raise UpstreamUnavailable(service, f"{service} is not configured; the answer would be incomplete")
        headers = {**passed, IDENTITY_HEADER: self.minter.token(principal, "GET", path).decode()}
        headers["accept"] = "application/json"
        target = f"{path}?{urlencode(query)}" if query else path
        return await upstream.call("GET", target, headers, timeout=TIMEOUT_S)

    async def _json(
        self,
        service: str,
        path: str,
        query: list[tuple[str, str]],
        passed: dict[str, str],
        principal: Principal,
        keys: tuple[str, ...],
    ) -> dict[str, Any]:
        """A service's JSON answer holding `keys`; its refusal is relayed, anything else is a 502."""
        status, body = await self._get(service, path, query, passed, principal)
        if status != 200:
            raise Relayed(status, body)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or any(k not in doc for k in keys):
            raise BadGateway(service, f"{service} gave an invalid answer to {path}")
        return doc

    async def references(self, persons: list[str], passed: dict[str, str], principal: Principal) -> list[str]:
        """Every reference of the person(s), the ones given first (an audited consultation)."""
        path = f"{API_PREFIX}audit/{RESOLVER}/references"
        query = [("person", p) for p in persons]
        doc = await self._json(RESOLVER, path, query, passed, principal, ("references",))
        return list(dict.fromkeys([*persons, *map(str, doc["references"])]))

    async def _audit(
        self, params: dict[str, list[str]], passed: dict[str, str], principal: Principal
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        limit = _int(params, "limit", 50, 1, SERVICE_PAGE)
        offset = _int(params, "offset", 0, 0, MAX_WINDOW - limit)
        fmt = _choice(params, "format", ("json", "csv"))
        persons = [p.strip() for p in params.get("person", []) if p.strip()]
        refs = await self.references(persons, passed, principal) if persons else []
        filters = [(k, v) for k in AUDIT_FILTERS for v in params.get(k, [])[-1:]]
        window = offset + limit

        async def one(service: str) -> tuple[list[dict[str, Any]], int]:
            path = f"{API_PREFIX}audit/{service}"
            items: list[dict[str, Any]] = []
            total = 0
            for start in range(0, window, SERVICE_PAGE):  # bounded: MAX_WINDOW / SERVICE_PAGE pages
                size = min(SERVICE_PAGE, window - start)
                query = (
                    [("person", r) for r in refs] + filters + [("limit", str(size)), ("offset", str(start))]
                )
                doc = await self._json(service, path, query, passed, principal, ("items", "total"))
                items += doc["items"]
                total = int(doc["total"])
                if start + size >= total:
                    break
            return items, total

        answers = await asyncio.gather(*(one(s) for s in SERVICES))
        merged = merge_timeline(items for items, _ in answers)[offset:window]
        totals = {s: total for s, (_, total) in zip(SERVICES, answers, strict=True)}
        if fmt == "csv":
            disposition = (b"content-disposition", b'attachment; filename="audit.csv"')
            return 200, timeline_csv(merged).encode(), b"text/csv; charset=utf-8", [disposition]
        body = {
            "items": merged,
            "total": sum(totals.values()),
            "limit": limit,
            "offset": offset,
            "references": refs,
            "services": totals,
        }
        return 200, json.dumps(body).encode(), b"application/json", []

    async def _subject_access(
        self, params: dict[str, list[str]], passed: dict[str, str], principal: Principal
    ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        fmt = _choice(params, "format", ("json", "html", "pdf"))
        persons = [p.strip() for p in params.get("person", []) if p.strip()]
        if not persons:
            raise _invalid("person", "required", "give the person's reference")
        refs = await self.references(persons, passed, principal)

        async def one(service: str) -> dict[str, Any] | None:
            path = f"{API_PREFIX}subject-access/{service}"
            status, body = await self._get(service, path, [("person", r) for r in refs], passed, principal)
            if status == 404:
                return None
            if status != 200:
                raise Relayed(status, body)
            try:
                held = json.loads(body)
            except ValueError:
                held = None
            if not isinstance(held, dict) or "data" not in held:
                raise BadGateway(service, f"{service} gave an invalid subject access answer")
            return held

        answers = await asyncio.gather(*(one(s) for s in SERVICES))
        if not any(answers):
            raise Problem(404, "Not found", "No service holds anything on that person.", "not_found")
        doc = {
            "person": persons[0] if len(persons) == 1 else persons,
            "references": refs,
            "services": dict(zip(SERVICES, answers, strict=True)),
        }
        if fmt == "json":
            return 200, json.dumps(doc).encode(), b"application/json", []
        page = sar_html(doc)
        if fmt == "html":
            return 200, page.encode(), b"text/html; charset=utf-8", []
        pdf = await asyncio.to_thread(to_pdf, page)
        disposition = (b"content-disposition", b'inline; filename="subject-access.pdf"')
        return 200, pdf, b"application/pdf", [disposition]


def _param(name: str, description: str, schema: dict[str, Any], *, many: bool = False) -> dict[str, Any]:
    if many:
        schema = {"type": "array", "items": schema}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_WHY = {
    "name": "X-Justification",
    "in": "header",
    "required": True,
    "description": "why the data protection officer or supervisor asks (recorded by every service)",
    "schema": {"type": "string", "maxLength": 500},
}
_PERSON = _param(
    "person",
    "a person reference (case-service person id, records id or referral id); expanded to every "
    "reference the platform knows the person by",
    {"type": "string", "maxLength": 128},
    many=True,
)


_ENTRY = {
    "type": "object",
    "description": "one audit entry, as `GET /api/v1/audit/{service}` gives it (with its `service`)",
    "additionalProperties": True,
}
_MERGED_AUDIT: dict[str, Any] = {
    "type": "object",
    "required": ["items", "total", "limit", "offset", "references", "services"],
    "properties": {
        "items": {"type": "array", "items": _ENTRY, "description": "entries in time order"},
        "total": {"type": "integer", "description": "entries matching, all services"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "references": {"type": "array", "items": {"type": "string"}, "description": "the person's"},
        "services": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "entries matching, per service",
        },
    },
}
_MERGED_SAR: dict[str, Any] = {
    "type": "object",
    "required": ["person", "references", "services"],
    "properties": {
        "person": {"description": "the reference (or references) asked for"},
        "references": {"type": "array", "items": {"type": "string"}},
        "services": {
            "type": "object",
            "description": "each service's export (`GET /api/v1/subject-access/{service}`), null when it "
            "holds nothing",
            "additionalProperties": {"type": ["object", "null"]},
        },
    },
}


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI path items of the fan-out operations (merged into the gateway's document)."""
    ops = "collect, alter, consult, disclose, combine, erase, restrict"
    audit = {
        "get": {
            "tags": ["data protection"],
            "operationId": "read_audit_all_services",
            "summary": "The audit trail of every service, merged",
            "description": "Who collected, changed, consulted, disclosed, combined or erased whose data, "
            "when and why, across the four services in time order (DPA 2018 s.62); `format=csv` for a "
            "complaint or a court. Each service checks the role and the justification and audits the "
            "query itself. `person` is expanded to all of the person's references. `services` gives "
            "each service's count; `total` is their sum.",
            "parameters": [
                _WHY,
                _PERSON,
                _param("user", "who consulted or changed (actor)", {"type": "string", "maxLength": 128}),
                _param("operation", f"one of {ops}", {"type": "string"}),
                _param("since", "from this time (ISO 8601)", {"type": "string", "format": "date-time"}),
                _param("until", "up to this time (ISO 8601)", {"type": "string", "format": "date-time"}),
                _param("limit", "entries per page", {"type": "integer", "minimum": 1, "maximum": 500}),
                _param("offset", "entries to skip", {"type": "integer", "minimum": 0, "maximum": 9999}),
                _param("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]}),
            ],
            "responses": {
                "200": {
                    "description": "one page of the merged trail (or all of it as CSV)",
                    "content": {"application/json": {"schema": _MERGED_AUDIT}, "text/csv": {}},
                }
            },
        }
    }
    sar = {
        "get": {
            "tags": ["data protection"],
            "operationId": "subject_access_all_services",
            "summary": "Subject access export from every service",
            "description": "Everything each service holds on the person, with the audit of who consulted "
            "it and to whom it was disclosed (DPA 2018 s.45): JSON, a readable HTML page or a PDF. Each "
            "service audits it as a disclosure to the data subject. 404 when no service holds anything.",
            "parameters": [
                _WHY,
                {**_PERSON, "required": True},
                _param(
                    "format",
                    "json (default), html or pdf",
                    {"type": "string", "enum": ["json", "html", "pdf"]},
                ),
            ],
            "responses": {
                "200": {
                    "description": "the export",
                    "content": {
                        "application/json": {"schema": _MERGED_SAR},
                        "text/html": {},
                        "application/pdf": {},
                    },
                }
            },
        }
    }
    return {AUDIT_PATH: audit, SAR_PATH: sar}
