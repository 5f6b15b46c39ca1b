"""The one authorisation table: (methods, path template) -> roles allowed.

Rules are checked in order within a resource; the first rule whose method and template match
decides. A template segment ``{name}`` matches one path segment; a final ``**`` matches any
rest (zero or more segments). A path under a routed prefix that no rule matches is allowed for
administrators only. Services still enforce agency scope (a partner sees only its own data).
The generated test ``test_gateway_policy.py`` walks every rule with every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hhpu_shared.auth import Role

from .routes import DATA_PROTECTION_PATHS, OUTBOX_PATHS, resource_of

P = Role.PARTNER_AGENCY.value
OM = Role.OFFENDER_MANAGER.value
SUP = Role.UNIT_SUPERVISOR.value
AN = Role.ANALYST.value
CH = Role.MEETING_CHAIR.value
AD = Role.ADMINISTRATOR.value
DPO = Role.DATA_PROTECTION_OFFICER.value

ALL_ROLES: tuple[str, ...] = (P, OM, SUP, AN, CH, AD, DPO)
STAFF = frozenset({OM, SUP, AN, CH, AD, DPO})
CASEWORK = frozenset({OM, SUP, AD})  # people who manage cases
CASE_READERS = frozenset({OM, SUP, CH, AD})
ANALYSIS = frozenset({AN, SUP, AD})
MEETING_RUNNERS = frozenset({CH, SUP, AD})
ADMIN = frozenset({AD})
DATA_PROTECTION = frozenset({DPO, SUP})  # audit, subject access, MoPI review, erasure, restriction

READ = ("GET", "HEAD")
WRITE = ("POST", "PUT", "PATCH", "DELETE")
ANY = READ + WRITE


@dataclass(frozen=True)
class Rule:
    methods: tuple[str, ...]
    template: str
    roles: frozenset[str]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))


def rule(methods: str | tuple[str, ...], template: str, roles: frozenset[str] | set[str]) -> Rule:
    ms = (methods,) if isinstance(methods, str) else methods
    return Rule(ms, template, frozenset(roles) | ADMIN)  # administrators may do everything


R = "/api/v1"
# The intended policy, least privilege. Every service grants exactly these roles itself (defence in depth),
# except administrators, who pass the gateway everywhere and whom a service may still refuse: checked by
# tests/contracts/test_contracts_policy.py (gateway/policy_check.py, its commented allow-list).
# Order matters: specific templates before the `**` rule of a resource.
POLICY: tuple[Rule, ...] = (
    # referral-api: partners submit, follow and withdraw their referrals (scope enforced by the service)
    rule("POST", f"{R}/referrals", {P}),
    rule(READ, f"{R}/referrals", {P, OM, SUP, AN}),
    rule(READ, f"{R}/referrals/{{id}}", {P, OM, SUP, AN}),
    rule(READ, f"{R}/referrals/{{id}}/status", {P, OM, SUP, AN}),
    rule("POST", f"{R}/referrals/{{id}}/withdraw", {P}),
    rule(READ, f"{R}/referrals/{{id}}/**", {OM, SUP, AN}),
    rule(WRITE, f"{R}/referrals/{{id}}/**", CASEWORK),
    rule(READ, f"{R}/match-reviews/**", CASEWORK | {AN}),
    rule(WRITE, f"{R}/match-reviews/**", CASEWORK | {AN}),
    # a partner reads its own webhook deliveries (scope enforced by the service; docs/webhooks.md)
    rule(READ, f"{R}/agencies/{{id}}/webhook-attempts", {P, SUP}),
    rule(READ, f"{R}/agencies/**", {SUP}),
    rule(WRITE, f"{R}/agencies/**", ADMIN),  # agencies and their API keys
    # ranking-service
    rule(READ, f"{R}/ranking-runs/{{id}}/comparison", ANALYSIS),
    rule(READ, f"{R}/ranking-runs/{{id}}/fairness", ANALYSIS),
    rule(READ, f"{R}/ranking-runs/**", ANALYSIS | {OM}),
    rule(WRITE, f"{R}/ranking-runs/**", ANALYSIS),
    rule(READ, f"{R}/ranking-history/**", ANALYSIS),
    rule(READ, f"{R}/data-quality/**", ANALYSIS),
    rule(READ, f"{R}/offence-imports/**", ANALYSIS),
    rule(WRITE, f"{R}/offence-imports/**", {AN}),
    rule(READ, f"{R}/imports/**", ANALYSIS),
    rule(WRITE, f"{R}/imports/**", {AN}),
    rule(READ, f"{R}/rankings/**", ANALYSIS | {OM}),
    rule(READ, f"{R}/harm-weights/**", ANALYSIS | {OM}),
    rule(WRITE, f"{R}/harm-weights/**", {SUP}),
    rule(READ, f"{R}/weight-editions/**", ANALYSIS | {OM}),
    rule(WRITE, f"{R}/weight-editions/**", {SUP}),
    rule(READ, f"{R}/models/**", ANALYSIS | {OM}),
    rule(WRITE, f"{R}/models/**", {AN}),
    rule(READ, f"{R}/people/{{person_ref}}/trajectory", ANALYSIS | {OM}),  # routed to ranking-service
    # every service: its audit trail and subject access (data protection officer, supervisors)
    *(rule(READ, path, DATA_PROTECTION) for path, _svc in DATA_PROTECTION_PATHS),
    rule(READ, f"{R}/audit", DATA_PROTECTION),  # the gateway's merge of the four (gateway.fanout)
    rule(READ, f"{R}/subject-access", DATA_PROTECTION),
    # every service: its outbox (administrators: what waits to be published, what the broker refused)
    *(rule(READ, path, ADMIN) for path, _svc in OUTBOX_PATHS),
    # case-service
    rule("POST", f"{R}/people/{{id}}/erasure", DATA_PROTECTION),
    rule("POST", f"{R}/erasures", DATA_PROTECTION),  # by reference: people the case-service does not hold
    rule("POST", f"{R}/people/{{id}}/restriction", DATA_PROTECTION),
    rule(READ, f"{R}/retention-reviews", DATA_PROTECTION),  # the MoPI review queue
    rule(READ, f"{R}/people/{{id}}/retention", DATA_PROTECTION),
    rule(READ, f"{R}/people/{{id}}/retention-reviews", DATA_PROTECTION),
    rule("POST", f"{R}/people/{{id}}/retention-review", DATA_PROTECTION),
    rule("POST", f"{R}/people/{{id}}/merge", {SUP}),
    rule(READ, f"{R}/people/**", CASEWORK),
    rule(WRITE, f"{R}/people/**", CASEWORK),
    rule("POST", f"{R}/cases/{{id}}/allocation", {SUP}),
    rule(READ, f"{R}/cases/**", CASEWORK),
    rule(WRITE, f"{R}/cases/**", CASEWORK),
    rule("POST", f"{R}/assessments/{{id}}/decision", {SUP, CH}),
    rule(READ, f"{R}/assessments/**", CASE_READERS),
    rule(WRITE, f"{R}/assessments/**", CASEWORK),
    rule(READ, f"{R}/risk-assessments/**", CASEWORK),
    rule(WRITE, f"{R}/risk-assessments/**", CASEWORK),
    rule(READ, f"{R}/risk/**", CASEWORK),
    rule(WRITE, f"{R}/risk/**", CASEWORK),
    rule(READ, f"{R}/interventions/**", CASE_READERS),
    rule(WRITE, f"{R}/interventions/**", CASEWORK),
    rule(READ, f"{R}/intervention-types/**", CASEWORK | {AN}),
    rule(WRITE, f"{R}/intervention-types/**", {SUP}),
    rule(READ, f"{R}/managers/me/caseload", CASEWORK),  # the signed-in manager's own caseload
    rule(READ, f"{R}/managers/**", CASEWORK),
    rule(WRITE, f"{R}/managers/**", {SUP}),
    rule(READ, f"{R}/caseloads/**", CASEWORK | {AN}),
    rule(WRITE, f"{R}/caseloads/**", {SUP}),
    rule(READ, f"{R}/reports/suitability", CASEWORK),
    rule(READ, f"{R}/reports/**", ANALYSIS | {OM}),
    rule(WRITE, f"{R}/reports/**", ANALYSIS),
    rule(READ, f"{R}/evaluation/**", ANALYSIS),
    rule(WRITE, f"{R}/evaluation/**", {AN}),
    rule(READ, f"{R}/notes/**", CASE_READERS),
    rule(WRITE, f"{R}/notes/**", CASEWORK | {CH}),
    # meeting-service: partners see the schedule and their invitations, and follow their actions
    rule(READ, f"{R}/meetings", {P} | STAFF),
    rule(READ, f"{R}/meetings/next", {P, AN} | CASE_READERS),
    rule(READ, f"{R}/meetings/{{id}}", {P, AN} | CASE_READERS),
    rule("PATCH", f"{R}/meetings/{{id}}/invitations/{{agency_id}}", {P} | MEETING_RUNNERS),
    rule(READ, f"{R}/meetings/{{id}}/pack", {P, AN} | CASE_READERS),  # a partner: its own version
    rule(READ, f"{R}/meetings/{{id}}/minutes", {P, AN} | CASE_READERS),
    rule(READ, f"{R}/meetings/**", CASE_READERS | {AN}),
    rule(WRITE, f"{R}/meetings/**", MEETING_RUNNERS),
    rule(READ, f"{R}/meeting-agencies/**", STAFF),
    rule(WRITE, f"{R}/meeting-agencies/**", {CH, SUP}),
    rule(READ, f"{R}/meeting-types/**", STAFF),
    rule(WRITE, f"{R}/meeting-types/**", {CH, SUP}),
    rule(READ, f"{R}/actions", {P, AN} | CASE_READERS),
    rule(READ, f"{R}/actions/{{id}}", {P, AN} | CASE_READERS),
    rule("POST", f"{R}/actions/{{id}}/status", {P, AN} | CASE_READERS),
    rule("POST", f"{R}/actions/{{id}}/carry-over", MEETING_RUNNERS),
    rule("POST", f"{R}/actions/overdue-sweep", MEETING_RUNNERS),
    rule(READ, f"{R}/actions/**", CASE_READERS | {AN}),
    rule(WRITE, f"{R}/actions/**", CASE_READERS),
    rule(READ, f"{R}/agenda-items/**", CASE_READERS),
    rule(WRITE, f"{R}/agenda-items/**", MEETING_RUNNERS),
    rule(READ, f"{R}/series/**", CASE_READERS | {AN}),
    rule(WRITE, f"{R}/series/**", {CH, SUP}),
)

_BY_RESOURCE: dict[str, list[Rule]] = {}
for _r in POLICY:
    _BY_RESOURCE.setdefault(resource_of(_r.template.replace("/**", "/x")) or "", []).append(_r)


def _matches(segments: tuple[str, ...], parts: list[str]) -> bool:
    for i, seg in enumerate(segments):
        if seg == "**":
            return True
        if i >= len(parts):
            return False
        if not (seg.startswith("{") or seg == parts[i]):
            return False
    return len(parts) == len(segments)


@lru_cache(maxsize=8192)
def _match_parts(method: str, resource: str, parts: tuple[str, ...]) -> Rule | None:
    lp = list(parts)
    for r in _BY_RESOURCE.get(resource, ()):
        if method in r.methods and _matches(r.segments, lp):
            return r
    return None


def match(method: str, path: str) -> Rule | None:
    """The first rule for this request, or None (then only administrators are allowed)."""
    res = resource_of(path)
    if res is None:
        return None
    if method == "OPTIONS":
        method = "GET"
    return _match_parts(method, res, tuple(path.strip("/").split("/")))


# Partner API keys carry scopes (issued by the referral-api); a resource listed here needs the scope.
KEY_SCOPES: dict[str, tuple[str, str]] = {"referrals": ("referrals:read", "referrals:write")}


def scope_allows(method: str, path: str, scopes: tuple[str, ...]) -> bool:
    """Whether a partner key's scopes cover this request (resources without scopes are role-only)."""
    needed = KEY_SCOPES.get(resource_of(path) or "")
    if needed is None:
        return True
    return (needed[0] if method in READ or method == "OPTIONS" else needed[1]) in scopes


def fallback_template(path: str) -> str:
    """The metrics/log label of a routed path that no rule matches (administrators only)."""
    return "/api/v1/" + (resource_of(path) or "") + "/**"


def allowed(method: str, path: str, roles: frozenset[str]) -> tuple[bool, str]:
    """Whether `roles` may call this route, and the route template (for metrics and logs)."""
    r = match(method, path)
    if r is None:
        return bool(roles & ADMIN), fallback_template(path)
    return bool(roles & r.roles), r.template
