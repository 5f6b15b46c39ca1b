"""The gateway's pages: `/`, `/docs` (Swagger UI), `/redoc` (ReDoc) from packaged assets, with their CSP."""

from __future__ import annotations

import re

from gateway import docs


def _nonce(csp: str) -> str:
    found = re.search(r"'nonce-([^']+)'", csp)
    assert found, csp
    return found.group(1)


def test_root_leads_to_docs_health_and_metrics(gateway_client) -> None:  # type: ignore[no-untyped-def]
    r = gateway_client().get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for href in ("/docs", "/redoc", "/openapi.json", "/healthz", "/readyz", "/metrics"):
        assert f'href="{href}"' in r.text, href
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_swagger_ui_from_the_package_under_a_nonce_csp(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle(" in r.text and '"/openapi.json"' in r.text
    csp = r.headers["content-security-policy"]
    nonce = _nonce(csp)
    # every script on the page is either from this origin or carries the page's nonce
    for tag in re.findall(r"<script[^>]*>", r.text):
        assert f'nonce="{nonce}"' in tag, tag
    assert "https:" not in csp and "http:" not in r.text.replace('"/openapi.json"', "")
    assert csp.count("default-src") == 1 and "script-src 'self'" in csp
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in js.content and len(js.content) > 500_000
    assert js.headers["cache-control"] == "public, max-age=86400"
    css = client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # a second page load gets a fresh nonce
    assert _nonce(client.get("/docs").headers["content-security-policy"]) != nonce


def test_redoc_from_the_package_with_its_worker(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    r = client.get("/redoc")
    assert r.status_code == 200 and "Redoc.init(" in r.text
    assert "worker-src blob:" in r.headers["content-security-policy"]
    js = client.get("/docs/assets/redoc.standalone.js")
    assert js.status_code == 200 and b"Redoc" in js.content[:2000]
    assert b'alt:"redocly logo",onError:()=>t(!1),src:"/docs/assets/favicon.png"' in js.content
    assert client.get("/docs/assets/../settings.py").status_code == 404
    assert client.get("/docs/assets/nothing.js").status_code == 404


def test_asset_lookup_is_by_listed_name_only() -> None:
    assert docs.asset("swagger-ui.css") is not None
    assert docs.asset("../core.py") is None and docs.asset("consts.py") is None
