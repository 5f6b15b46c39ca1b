"""What the ranking API tests share: an analyst's headers, the runs route and a run posted through it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers

ANALYST = identity_headers("analyst", subject="user:ana") | {"X-Justification": "test: ranking review"}
RUNS = "/api/v1/ranking-runs"
TODAY = datetime.now(UTC).date()


def run(client: TestClient, **body: object) -> dict[str, Any]:
    """POST a run as the analyst: 200 for a dry run (nothing kept), 201 for any other."""
    r = client.post(RUNS, json=body, headers=ANALYST)
    assert r.status_code == (200 if body.get("kind") == "dry" else 201), r.text
    return r.json()  # type: ignore[no-any-return]
