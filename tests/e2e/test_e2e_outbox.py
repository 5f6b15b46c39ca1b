"""An administrator asks each service's outbox through the gateway (distributed mode, PostgreSQL, the
real broker): each of the four answers for its own, with what waits and what the broker refused;
another role is refused by the gateway."""

from __future__ import annotations

import httpx
from hhpu.distributed import SERVICES
from hhpu.testing import bearer


def test_an_administrator_reads_every_services_outbox_through_the_gateway(gw: httpx.Client) -> None:
    admin = bearer("administrator", sub="ops-alex")
    for service in SERVICES:
        r = gw.get(f"/api/v1/outbox/{service}", headers=admin)
        assert r.status_code == 200, (service, r.text)
        body = r.json()
        assert body["service"] == service
        assert body["pending"] >= 0 and body["failing"] == []  # a healthy broker refused nothing
    refused = gw.get("/api/v1/outbox/case-service", headers=bearer("unit_supervisor", sub="di-morgan"))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
