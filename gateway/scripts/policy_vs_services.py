"""Compare the gateway's policy table and routing with what the services themselves allow.

Builds every service app in-process (SQLite in a temporary directory), calls each operation of its
OpenAPI document once per role with a verified identity, and counts a 403 `forbidden` as "refused by the
service". Prints every operation where the gateway and the service disagree, or where the gateway routes the
path to another service. Administrators pass the gateway everywhere by design, so "gateway-only:
['administrator']" is expected where a service does not grant them.

    .venv/bin/python gateway/scripts/policy_vs_services.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import warnings
from typing import Any

from fastapi.testclient import TestClient
from gateway.routes import resolve
from hhpu_shared.testing.plugin import identity_headers

from gateway import policy


def build_apps(tmp: str) -> dict[str, Any]:
    import importlib

    from case_service.app import create_app as case
    from case_service.settings import CaseSettings
    from meeting_service.app import create_app as mtg
    from meeting_service.settings import MeetingSettings
    from ranking_service.app import create_app as rank
    from ranking_service.settings import RankingSettings
    from referral_api.app import create_app as ref
    from referral_api.settings import ReferralSettings

    def db(name: str, package: str) -> str:
        url = f"sqlite:///{tmp}/{name}.db"
        importlib.import_module(f"{package}.migrations").MIGRATIONS.upgrade(
            url
        )  # services never create tables
        return url

    return {
        "referral-api": ref(ReferralSettings(database_url=db("ref", "referral_api")), run_consumer=False),
        "ranking-service": rank(
            RankingSettings(database_url=db("rank", "ranking_service")), run_consumer=False
        ),
        "case-service": case(CaseSettings(database_url=db("case", "case_service")), run_consumer=False),
        "meeting-service": mtg(
            MeetingSettings(database_url=db("mtg", "meeting_service")), run_consumer=False
        ),
    }


def service_roles(client: TestClient, method: str, path: str) -> set[str]:
    allowed = set()
    for role in policy.ALL_ROLES:
        partner = role == policy.P
        headers = identity_headers(
            role,
            subject=f"check-{role}",
            kind="agency" if partner else "staff",
            agency_id="ag1" if partner else None,
        )
        body = {} if method in ("POST", "PUT", "PATCH") else None
        r = client.request(method, path, headers=headers, json=body)
        refused = r.status_code == 403 and r.headers.get("content-type", "").startswith(
            "application/problem+json"
        )
        if not (refused and r.json().get("code") == "forbidden"):
            allowed.add(role)
    return allowed


def main() -> int:
    warnings.filterwarnings("ignore")
    differences = 0
    with tempfile.TemporaryDirectory() as tmp:
        for svc, app in build_apps(tmp).items():
            with TestClient(app, raise_server_exceptions=False) as client:
                for path, item in app.openapi()["paths"].items():
                    if path.startswith("/internal"):
                        continue
                    concrete = re.sub(r"\{[^}]+\}", "x1", path)
                    for method in (m.upper() for m in item if m in ("get", "post", "put", "patch", "delete")):
                        svc_allowed = service_roles(client, method, concrete)
                        rule = policy.match(method, concrete)
                        gw_allowed = set(rule.roles) if rule else set(policy.ADMIN)
                        routed = resolve(concrete)
                        if svc_allowed != gw_allowed or routed != svc:
                            differences += 1
                            sys.stdout.write(
                                f"{svc:16s} {method:6s} {path:55s} "
                                f"routed->{'ok' if routed == svc else routed} "
                                f"gateway-only:{sorted(gw_allowed - svc_allowed)} "
                                f"service-only:{sorted(svc_allowed - gw_allowed)}\n"
                            )
    sys.stdout.write(f"{differences} differences\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
