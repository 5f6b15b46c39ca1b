"""One OpenAPI document for all services, merged from each upstream's ``/openapi.json``, and a docs page."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import logging
import time
from typing import Any

from . import policy
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
            "schemas": {},
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
        for path, item in (doc.get("paths") or {}).items():
            if resolve(path) != service:
                continue  # internal or foreign paths are never published
            for method in METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                op["x-hhpu-service"] = service
                rule = policy.match(method.upper(), _example(path))
                op["x-hhpu-roles"] = sorted(rule.roles) if rule else [policy.AD]
                oid = op.get("operationId")
                if oid in op_ids:
                    op["operationId"] = f"{service}_{oid}"
                op_ids.add(op.get("operationId", ""))
            merged["paths"][path] = item
        for tag in doc.get("tags") or []:
            if tag.get("name") not in seen_tags:
                seen_tags.add(tag.get("name"))
                merged["tags"].append(tag)
    if unavailable:
        merged["info"]["x-unavailable-services"] = unavailable
    return merged


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


def docs_page(cdn: str, nonce: str) -> tuple[str, str]:
    """(HTML, Content-Security-Policy). Swagger UI from `cdn` when reachable, else a built-in list."""
    cdn = cdn.rstrip("/")
    cdn_tags = (
        f'<link rel="stylesheet" href="{html.escape(cdn)}/swagger-ui.css">'
        f'<script src="{html.escape(cdn)}/swagger-ui-bundle.js" nonce="{nonce}"></script>'
        if cdn
        else ""
    )
    src = f" {cdn}/" if cdn else ""  # a trailing slash: the CSP source covers the files below it
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'{src}; style-src 'unsafe-inline'{src}; "
        f"img-src 'self' data:{src}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HHPU Platform API</title>{cdn_tags}
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}code{{background:#eee;padding:0 .3em}}
td{{padding:.2em .6em;vertical-align:top}} .m{{font-weight:bold;text-transform:uppercase}}</style></head>
<body><div id="swagger"></div><div id="fallback"><h1>HHPU Platform API</h1>
<p>Machine-readable document: <a href="/openapi.json">/openapi.json</a></p><table id="ops"></table></div>
<script nonce="{nonce}">
(async function () {{
  if (window.SwaggerUIBundle) {{
    document.getElementById("fallback").remove();
    window.SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger"}});
    return;
  }}
  const doc = await (await fetch("/openapi.json")).json();
  const table = document.getElementById("ops");
  for (const [path, item] of Object.entries(doc.paths || {{}})) {{
    for (const [method, op] of Object.entries(item)) {{
      if (typeof op !== "object" || !op["x-hhpu-service"]) continue;
      const row = table.insertRow();
      row.insertCell().textContent = method; row.cells[0].className = "m";
      const c = document.createElement("code"); c.textContent = path; row.insertCell().appendChild(c);
      row.insertCell().textContent = op.summary || "";
      row.insertCell().textContent = (op["x-hhpu-roles"] || []).join(", ");
      row.insertCell().textContent = op["x-hhpu-service"];
    }}
  }}
}})();
</script></body></html>"""
    return page, csp
