"""Defence in depth: does every service allow exactly the roles the gateway's policy table allows?

Builds every service app in-process (SQLite in a temporary directory), calls each operation of its
OpenAPI document once per role with a verified identity, and counts a 403 problem+json with code
``forbidden`` as "refused by the service". The probe carries nothing else that would let the request
through: no ``X-Justification``, a body that never validates (``[]``), an out-of-range ``limit``. A
refused role must get its 403 before any of those is looked at, so a service that checks the role
after the justification or the body shows up here as granting the role.

A path parameter is ``x1``, except ``{service}``, which is the service's own name (the gateway routes
``/api/v1/audit/<service>`` and ``/api/v1/subject-access/<service>`` to that service). A partner's
identity belongs to agency ``x1``, so routes a partner may call for its own agency are reached.

Every difference must be in ``ALLOWED`` (commented, one by one): ``tests/contracts/test_contracts_policy.py``
fails on any other, and on an allowance that no longer matches a difference. Development tool: the
services are imported only when ``probe`` runs; the running gateway never imports this module.

    .venv/bin/python gateway/scripts/policy_vs_services.py
"""

from __future__ import annotations

import importlib
import logging
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import policy
from .routes import SERVICES, resolve

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
PARTNER_AGENCY = "x1"  # the partner's own agency is the placeholder id of every path


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    template: str  # as in the service's OpenAPI document
    path: str  # the concrete path probed
    service_allows: frozenset[str]

    @property
    def key(self) -> str:
        return f"{self.service} {self.method} {self.template}"

    @property
    def routed_to(self) -> str | None:
        return resolve(self.path)

    @property
    def gateway_allows(self) -> frozenset[str]:
        rule = policy.match(self.method, self.path)
        return rule.roles if rule else policy.ADMIN


@dataclass(frozen=True)
class Difference:
    key: str
    routed_to: str | None  # None: the gateway does not route the path
    gateway_only: tuple[str, ...]  # roles the gateway lets through and the service refuses
    service_only: tuple[str, ...]  # roles the service grants and the gateway refuses

    def line(self) -> str:
        svc, method, template = self.key.split(" ", 2)
        routed = "ok" if self.routed_to == svc else self.routed_to
        return (
            f"{svc:16s} {method:6s} {template:60s} routed->{routed} "
            f"gateway-only:{list(self.gateway_only)} service-only:{list(self.service_only)}"
        )


def difference(op: Operation) -> Difference | None:
    gw = op.gateway_allows
    if op.service_allows == gw and op.routed_to == op.service:
        return None
    return Difference(
        key=op.key,
        routed_to=op.routed_to,
        gateway_only=tuple(sorted(gw - op.service_allows)),
        service_only=tuple(sorted(op.service_allows - gw)),
    )


# -- the allow-list ---------------------------------------------------------------------------------
# Class (a), the only class allowed: administrators pass the gateway everywhere by design (policy.rule
# adds them to every rule), and a service refuses them where its work is not theirs. Each entry below is
# "gateway-only: administrator", nothing else: any other difference fails the contract test.
# Class (c), the per-service data protection endpoints: nothing to allow. The gateway routes
# /audit/<service>, /audit/<service>/verify and /subject-access/<service> to that service
# (routes.DATA_PROTECTION_PATHS) under the same rule as the service (data protection officer,
# supervisors), and the service checks the role before the justification, so a refused role is 403.
ADMIN_GATEWAY_ONLY = (policy.AD,)
_DATA_PROTECTION = (
    # The audit trail and subject access are the data protection officer's and the supervisors' (DPA
    # 2018 s.45, s.62); an administrator runs the system, not the disclosures.
    f"GET {API}/audit/{{service}}",
    f"GET {API}/audit/{{service}}/verify",
    f"GET {API}/audit/{{service}}/references",
    f"GET {API}/subject-access/{{service}}",
)
ALLOWED: frozenset[str] = frozenset(
    {
        # referral-api: submitting and withdrawing are a partner agency's acts, on its own referrals; an
        # administrator belongs to no agency.
        f"referral-api POST {API}/referrals",
        f"referral-api POST {API}/referrals/{{referral_id}}/withdraw",
        *(f"referral-api {op}" for op in _DATA_PROTECTION),
        # ranking-service: rankings, their evaluation and the offence data behind them are personal data
        # for analysts, supervisors and offender managers; an administrator only imports
        # (POST /imports/..., granted by both sides).
        *(
            f"ranking-service {op}"
            for op in (
                f"GET {API}/models",
                f"GET {API}/weight-editions",
                f"GET {API}/weight-editions/{{edition}}",
                f"POST {API}/ranking-runs",
                f"GET {API}/ranking-runs",
                f"GET {API}/ranking-runs/schedule",
                f"GET {API}/ranking-runs/{{run_id}}",
                f"GET {API}/ranking-runs/{{run_id}}/entries",
                f"GET {API}/ranking-runs/{{run_id}}/entries/{{person_ref}}",
                f"POST {API}/ranking-runs/{{run_id}}/reproduce",
                f"GET {API}/ranking-runs/{{run_id}}/comparison",
                f"GET {API}/ranking-runs/{{run_id}}/fairness",
                f"POST {API}/ranking-runs/{{run_id}}/evaluations",
                f"GET {API}/ranking-runs/{{run_id}}/evaluation",
                f"GET {API}/ranking-runs/{{run_id}}/evaluation.png",
                f"GET {API}/ranking-history/summary",
                f"POST {API}/ranking-runs/model-comparisons",
                f"GET {API}/ranking-history",
                f"GET {API}/people/{{person_ref}}/trajectory",
                f"GET {API}/data-quality",
                f"GET {API}/imports",
                f"GET {API}/imports/{{import_id}}/rejections",
                *_DATA_PROTECTION,
            )
        ),
        # case-service: erasure, restriction and MoPI review and retention are decided by the data
        # protection officer or a supervisor (s.47, APP), never by an administrator.
        f"case-service POST {API}/people/{{person_id}}/erasure",
        f"case-service POST {API}/erasures",
        f"case-service POST {API}/people/{{person_id}}/restriction",
        f"case-service GET {API}/retention-reviews",
        f"case-service GET {API}/people/{{person_id}}/retention",
        f"case-service POST {API}/people/{{person_id}}/retention-review",
        f"case-service GET {API}/people/{{person_id}}/retention-reviews",
        *(f"case-service {op}" for op in _DATA_PROTECTION),
        # meeting-service: administrators are meeting managers there; only the data protection endpoints.
        *(f"meeting-service {op}" for op in _DATA_PROTECTION),
    }
)


def allowed(d: Difference) -> bool:
    """Whether a difference is an allowance exactly: listed, routed to its service, administrators only."""
    svc = d.key.split(" ", 1)[0]
    exact = d.routed_to == svc and d.gateway_only == ADMIN_GATEWAY_ONLY and not d.service_only
    return d.key in ALLOWED and exact


# -- probing ----------------------------------------------------------------------------------------
@contextmanager
def quiet() -> Iterator[None]:
    """No log records while probing (the access log would print a JSON line per request)."""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)


def build_apps(tmp: str) -> dict[str, Any]:
    """Every service's app on a fresh SQLite database at head (no consumer)."""
    # The test plugin: a test environment (the development internal secret accepted) and test clients
    # that bind each stand-in identity to its request, as the gateway does.
    import hhpu_shared.testing.plugin  # noqa: F401
    from hhpu_shared.testing.databases import migrated

    apps: dict[str, Any] = {}
    for svc in SERVICES:
        spec = importlib.import_module(f"{svc.replace('-', '_')}.app").SERVICE
        url = migrated(spec.migrations, f"sqlite:///{tmp}/{spec.package}.db")
        apps[svc] = spec.create_app(spec.settings(database_url=url), run_consumer=False)
    return apps


def _headers(role: str) -> dict[str, str]:
    from hhpu_shared.testing.plugin import identity_headers

    if role == policy.P:
        return identity_headers(role, subject=f"check-{role}", kind="agency", agency_id=PARTNER_AGENCY)
    return identity_headers(role, subject=f"check-{role}", kind="staff")


def _refused(r: Any) -> bool:
    if r.status_code != 403 or not r.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    return bool(r.json().get("code") == "forbidden")


def probe_service(service: str, app: Any) -> list[Operation]:
    """Every public operation of one service app, with the roles it does not refuse."""
    from fastapi.testclient import TestClient

    ops: list[Operation] = []
    headers = {role: _headers(role) for role in policy.ALL_ROLES}
    with TestClient(app, raise_server_exceptions=False) as client:
        for template, item in app.openapi()["paths"].items():
            if not template.startswith(API + "/"):
                continue  # /internal/v1 is never routed by the gateway
            path = re.sub(r"\{[^}]+\}", "x1", template.replace("{service}", service))
            for method in (m.upper() for m in item if m in METHODS):
                body: list[Any] | None = [] if method in ("POST", "PUT", "PATCH") else None
                grants = frozenset(
                    role
                    for role in policy.ALL_ROLES
                    if not _refused(
                        client.request(method, path, params={"limit": 0}, headers=headers[role], json=body)
                    )
                )
                ops.append(Operation(service, method, template, path, grants))
    return ops


def probe() -> list[Operation]:
    """Every public operation of every service (a few seconds per service; logging silenced)."""
    with quiet(), tempfile.TemporaryDirectory(prefix="hhpu-policy-") as tmp:
        return [op for svc, app in build_apps(tmp).items() for op in probe_service(svc, app)]


def differences(ops: list[Operation]) -> list[Difference]:
    return [d for d in map(difference, ops) if d is not None]
