"""`hhpu audit` and `hhpu sar`: the data protection officer's view across the four services.

The gateway answers both across every service (``GET /api/v1/audit``, ``GET /api/v1/subject-access``:
it asks each service as the caller and merges the answers, ``gateway.fanout``); a person is found
everywhere by every reference the platform knows them by (its person id, the records id, each
referral id), which the case-service resolves without disclosing anything
(``/api/v1/audit/case-service/references``, audited as a consultation).
"""

from __future__ import annotations

from typing import Any

import httpx
from hhpu_shared.subject_access import sar_html, timeline_csv

__all__ = [
    "DataProtectionError",
    "audit_timeline",
    "references",
    "sar_html",
    "subject_access",
    "timeline_csv",
    "timeline_text",
]


class DataProtectionError(Exception):
    pass


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise DataProtectionError(f"{resp.request.url.path}: {resp.status_code} {resp.text[:300]}")
    return resp.json()


def references(client: httpx.Client, person: str, why: str) -> list[str]:
    """Every reference of the person (the one given first): a consultation, not a disclosure."""
    data = _check(
        client.get(
            "/api/v1/audit/case-service/references",
            params={"person": person},
            headers={"X-Justification": why},
        )
    )
    return list(dict.fromkeys([person, *data["references"]]))


def audit_timeline(
    client: httpx.Client,
    refs: list[str],
    why: str,
    *,
    user: str | None = None,
    operation: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page_size: int = 500,
    max_pages: int = 20,
) -> list[dict[str, Any]]:
    """Every service's entries for these references (each expanded to all of the person's
    references by the gateway) and filters, in time order."""
    params: dict[str, Any] = {"person": refs} if refs else {}
    params.update(
        {k: v for k, v in {"user": user, "operation": operation, "since": since, "until": until}.items() if v}
    )
    out: list[dict[str, Any]] = []
    for page in range(max_pages):  # bounded: the gateway merges up to 10,000 entries
        body = _check(
            client.get(
                "/api/v1/audit",
                params={**params, "limit": page_size, "offset": page * page_size},
                headers={"X-Justification": why},
            )
        )
        out += body["items"]
        if (page + 1) * page_size >= body["total"]:
            break
    return out


def timeline_text(entries: list[dict[str, Any]]) -> str:
    """One readable line per entry: when, where, who, what, about whom, why, to whom."""
    if not entries:
        return "No audit entries."
    lines = []
    for e in entries:
        to = f" -> {e['recipient']}" if e.get("recipient") else ""
        who = e["actor"] + (f" ({e['actor_agency']})" if e.get("actor_agency") else "")
        lines.append(
            f"{e['at'][:19]}  {e['service']:<16} {e['operation']:<9} {who:<28} "
            f"{e['subject_type']} {e['subject_id']} [{e.get('person_ref') or '-'}]{to}"
            f"  why: {e['justification']}"
        )
    return "\n".join(lines)


def subject_access(client: httpx.Client, person: str, why: str) -> dict[str, Any]:
    """Everything each service holds on the person, with its audit, in one document."""
    resp = client.get(
        "/api/v1/subject-access",
        params={"person": person, "format": "json"},
        headers={"X-Justification": why},
    )
    if resp.status_code == 404:
        raise DataProtectionError(f"No service holds anything on {person}.")
    doc: dict[str, Any] = _check(resp)
    return doc
