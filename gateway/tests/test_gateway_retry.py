"""A connect that failed is retried after the platform's one backoff rule (hhpu_shared.background),
by both upstream clients: base, doubled each retry, capped."""

from __future__ import annotations

from typing import Any

import pytest
from gateway.testing import bearer, free_port
from gateway.upstream import Upstream
from hhpu_shared.background import backoff

from gateway import policy


def test_connect_retries_wait_by_the_shared_backoff(
    gateway_client: Any, upstream_client: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[tuple[int, float]] = []
    real = Upstream.retry_delay

    def recorded(self: Upstream, retry: int) -> float:
        waits.append((retry, real(self, retry)))
        return 0.0  # no real wait in the test

    monkeypatch.setattr(Upstream, "retry_delay", recorded)
    client = gateway_client(
        upstream_client=upstream_client,
        upstreams={"referral-api": f"http://127.0.0.1:{free_port()}"},
        retries=3,
        retry_backoff_s=0.05,
        retry_backoff_max_s=0.15,
    )
    r = client.get("/api/v1/referrals", headers=bearer(policy.OM))
    assert r.status_code == 503 and r.json()["code"] == "upstream_unavailable"
    assert waits == [(1, 0.05), (2, 0.1), (3, 0.15)]  # doubled, then capped
    assert [d for _, d in waits] == [backoff(n, base_s=0.05, cap_s=0.15) for n in (1, 2, 3)]
