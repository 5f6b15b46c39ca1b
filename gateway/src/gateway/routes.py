"""Routing table: public resource prefix -> upstream service.

Services mount everything under ``/api/v1``; the gateway routes by the first segment after it
(``/api/v1/<resource>/...``). Add a resource here and a rule in ``policy.py`` to expose it.
Nothing outside this table is routed, so ``/internal/...`` is never reachable from outside.
"""

from __future__ import annotations

API_PREFIX = "/api/v1/"

ROUTES: dict[str, tuple[str, ...]] = {
    "referral-api": ("referrals", "agencies", "match-reviews"),
    "ranking-service": ("ranking-runs", "offence-imports", "rankings", "harm-weights", "models"),
    "case-service": (
        "people",
        "cases",
        "assessments",
        "risk-assessments",
        "interventions",
        "intervention-types",
        "managers",
        "caseloads",
        "reports",
        "evaluation",
        "notes",
    ),
    "meeting-service": ("meetings", "meeting-types", "actions", "agenda-items", "series"),
}

SERVICES: tuple[str, ...] = tuple(ROUTES)
KEY_SERVICE = "referral-api"  # verifies partner API keys at POST /internal/v1/keys/verify

_BY_RESOURCE: dict[str, str] = {res: svc for svc, resources in ROUTES.items() for res in resources}


def resource_of(path: str) -> str | None:
    """`/api/v1/referrals/123` -> `referrals`; None when the path is not under the API prefix."""
    if not path.startswith(API_PREFIX):
        return None
    end = path.find("/", len(API_PREFIX))
    return path[len(API_PREFIX) :] if end < 0 else path[len(API_PREFIX) : end]


def resolve(path: str) -> str | None:
    """The upstream service for a public path, or None (404)."""
    res = resource_of(path)
    return _BY_RESOURCE.get(res) if res else None


def prefixes_of(service: str) -> list[str]:
    return [API_PREFIX + res for res in ROUTES.get(service, ())]


def path_is_safe(path: str) -> bool:
    """Refuse dot segments and empty segments that an upstream could normalise into another route."""
    return "/." not in path and "//" not in path and "\\" not in path and "%" not in path
