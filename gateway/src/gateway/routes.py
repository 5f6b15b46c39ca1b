"""Routing table: public resource prefix -> upstream service.

Services mount everything under ``/api/v1``; the gateway routes by the first segment after it
(``/api/v1/<resource>/...``). Add a resource here and a rule in ``policy.py`` to expose it.
Nothing outside this table is routed, so ``/internal/...`` is never reachable from outside.
"""

from __future__ import annotations

API_PREFIX = "/api/v1/"

ROUTES: dict[str, tuple[str, ...]] = {
    "referral-api": ("referrals", "agencies", "match-reviews"),
    "ranking-service": (
        "ranking-runs",
        "offence-imports",
        "imports",
        "rankings",
        "harm-weights",
        "weight-editions",
        "models",
        "ranking-history",
        "data-quality",
    ),
    "case-service": (
        "people",
        "erasures",
        "retention-reviews",
        "cases",
        "assessments",
        "risk-assessments",
        "risk",
        "interventions",
        "intervention-types",
        "managers",
        "caseloads",
        "reports",
        "evaluation",
        "notes",
    ),
    "meeting-service": ("meetings", "meeting-types", "meeting-agencies", "actions", "agenda-items", "series"),
}

# Every service answers for its own audit trail and subject access: /api/v1/audit/<service>,
# /api/v1/audit/<service>/verify, /api/v1/audit/<service>/references and
# /api/v1/subject-access/<service> go to that service. /api/v1/audit and /api/v1/subject-access are
# the gateway's own: it asks all four and merges the answers (gateway.fanout; docs/data-protection.md).
DATA_PROTECTION_PATHS: tuple[tuple[str, str], ...] = tuple(
    (tpl.format(svc=svc), svc)
    for svc in ROUTES
    for tpl in (
        "/api/v1/audit/{svc}",
        "/api/v1/audit/{svc}/verify",
        "/api/v1/audit/{svc}/references",
        "/api/v1/subject-access/{svc}",
    )
)

# Every service answers for its own outbox (administrators: what waits to be published, what the broker
# refused): /api/v1/outbox/<service> goes to that service.
OUTBOX_PATHS: tuple[tuple[str, str], ...] = tuple((f"/api/v1/outbox/{svc}", svc) for svc in ROUTES)

# More specific paths that go elsewhere than their resource (segment templates as in policy.py).
OVERRIDES: tuple[tuple[str, str], ...] = (
    ("/api/v1/people/{person_ref}/trajectory", "ranking-service"),
    *DATA_PROTECTION_PATHS,
    *OUTBOX_PATHS,
)

# Routes the upstream deduplicates by the client's Idempotency-Key: only these may be sent again after
# the request may have reached the upstream (safe methods aside). Exact (method, path) pairs.
IDEMPOTENT_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/api/v1/referrals")})

SERVICES: tuple[str, ...] = tuple(ROUTES)
KEY_SERVICE = "referral-api"  # verifies partner API keys at POST /internal/v1/keys/verify

_BY_RESOURCE: dict[str, str] = {res: svc for svc, resources in ROUTES.items() for res in resources}


def resource_of(path: str) -> str | None:
    """`/api/v1/referrals/123` -> `referrals`; None when the path is not under the API prefix."""
    if not path.startswith(API_PREFIX):
        return None
    end = path.find("/", len(API_PREFIX))
    return path[len(API_PREFIX) :] if end < 0 else path[len(API_PREFIX) : end]


_OVERRIDES: dict[str, list[tuple[list[str], str]]] = {}
for _tpl, _svc in OVERRIDES:
    _OVERRIDES.setdefault(resource_of(_tpl) or "", []).append((_tpl.strip("/").split("/"), _svc))


def resolve(path: str) -> str | None:
    """The upstream service for a public path, or None (404)."""
    res = resource_of(path)
    if not res:
        return None
    special = _OVERRIDES.get(res)
    if special:
        parts = path.strip("/").split("/")
        for segs, svc in special:
            if len(segs) == len(parts) and all(
                s[0] == "{" or s == p for s, p in zip(segs, parts, strict=True)
            ):
                return svc
    return _BY_RESOURCE.get(res)


def prefixes_of(service: str) -> list[str]:
    return [API_PREFIX + res for res in ROUTES.get(service, ())] + [t for t, s in OVERRIDES if s == service]


def path_is_safe(path: str) -> bool:
    """Refuse dot segments and empty segments that an upstream could normalise into another route."""
    return "/." not in path and "//" not in path and "\\" not in path and "%" not in path
