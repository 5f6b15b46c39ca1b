"""The gateway's HTML pages: `/` (where to go), `/docs` (Swagger UI), `/redoc` (ReDoc).

The Swagger UI and ReDoc scripts come from the `fastapi-offline` package installed by the pins, served
under `/docs/assets/`; nothing is fetched from outside. Each page has its own Content-Security-Policy:
scripts only from this origin or with the page's nonce, styles inline (both UIs style themselves),
ReDoc's search worker from a blob URL, and no framing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

ASSET_PREFIX = "/docs/assets/"
_TYPES = {
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "swagger-ui.css": b"text/css; charset=utf-8",
    "redoc.standalone.js": b"text/javascript; charset=utf-8",
    "favicon.png": b"image/png",
}
ASSET_PATHS = tuple(ASSET_PREFIX + name for name in _TYPES)


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: bytes


# ReDoc's sidebar credit loads its logo from the vendor's site; point it at the packaged icon instead, so
# the page fetches nothing from outside and the CSP reports nothing.
_REDOC_LOGO = re.compile(rb'(alt:"redocly logo",[^}]{0,80}?src:)"https://[^"]+"')


@cache
def asset(name: str) -> Asset | None:
    """One of the packaged UI files by name, or None (read once, kept in memory)."""
    ctype = _TYPES.get(name)
    if ctype is None:
        return None
    body = (files("fastapi_offline") / "static" / name).read_bytes()
    if name == "redoc.standalone.js":
        body = _REDOC_LOGO.sub(rb'\1"' + ASSET_PREFIX.encode() + rb'favicon.png"', body)
    return Asset(body, ctype)


def _csp(nonce: str, *, worker: bool = False) -> str:
    return (
        f"default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        + ("worker-src blob:; " if worker else "")
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


_HEAD = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f'<link rel="icon" type="image/png" href="{ASSET_PREFIX}favicon.png">'
)


def swagger_page(nonce: str) -> tuple[str, str]:
    """(HTML, CSP) of the interactive docs: every operation with its shapes, examples and 'Try it out'."""
    page = f"""{_HEAD}<title>HHPU Platform API: interactive docs</title>
<link rel="stylesheet" href="{ASSET_PREFIX}swagger-ui.css"></head>
<body><div id="swagger"></div>
<script src="{ASSET_PREFIX}swagger-ui-bundle.js" nonce="{nonce}"></script>
<script nonce="{nonce}">
window.ui = SwaggerUIBundle({{
  url: "/openapi.json", dom_id: "#swagger", deepLinking: true, persistAuthorization: false,
  displayRequestDuration: true, filter: true, tryItOutEnabled: false, docExpansion: "none",
  validatorUrl: null
}});
</script></body></html>"""
    return page, _csp(nonce)


def redoc_page(nonce: str) -> tuple[str, str]:
    """(HTML, CSP) of the reference documentation rendered by ReDoc."""
    page = f"""{_HEAD}<title>HHPU Platform API: reference</title>
<style>body{{margin:0;padding:0}}</style></head>
<body><div id="redoc"></div>
<script src="{ASSET_PREFIX}redoc.standalone.js" nonce="{nonce}"></script>
<script nonce="{nonce}">
Redoc.init("/openapi.json", {{hideDownloadButton: false, expandResponses: "200,201",
  jsonSampleExpandLevel: 2}}, document.getElementById("redoc"));
</script></body></html>"""
    return page, _csp(nonce, worker=True)


_LINKS = (
    ("/docs", "Interactive API docs", "every operation of every service, with shapes, examples and roles"),
    ("/redoc", "API reference", "the same document as a readable reference"),
    ("/openapi.json", "OpenAPI document", "machine-readable, merged from the four services"),
    ("/healthz", "Health", "the gateway is up"),
    ("/readyz", "Readiness", "every service answers"),
    ("/metrics", "Metrics", "Prometheus text format"),
)


def index_page(nonce: str) -> tuple[str, str]:
    """(HTML, CSP) of `/`: where the docs, health and metrics are."""
    items = "\n".join(
        f'<li><a href="{href}">{html.escape(title)}</a> <code>{href}</code>: {html.escape(what)}</li>'
        for href, title, what in _LINKS
    )
    page = f"""{_HEAD}<title>HHPU Platform</title>
<style nonce="{nonce}">body{{font-family:system-ui,sans-serif;margin:2rem;max-width:50rem}}
code{{background:#eee;padding:0 .3em}} li{{margin:.4em 0}}</style></head>
<body><h1>HHPU Platform</h1>
<p>The gateway of the High Harm Perpetrator Unit's services. Partners call the API with
<code>X-API-Key</code>, staff with <code>Authorization: Bearer &lt;JWT&gt;</code>; every call is under
<code>/api/v1/</code>.</p>
<ul>
{items}
</ul></body></html>"""
    return page, _csp(nonce)
