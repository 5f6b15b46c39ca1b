"""`hhpu audit` and `hhpu sar`: the data protection officer's view across the four services.

Each service answers for its own audit trail and holdings (``/api/v1/audit/<service>``,
``/api/v1/subject-access/<service>``, through the gateway); these commands ask all four and merge
the answers. A person is found everywhere by the references the case-service holds for them
(its person id, the records id, each referral id).
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

import httpx

SERVICES = ("referral-api", "ranking-service", "case-service", "meeting-service")
CSV_FIELDS = (
    "at",
    "service",
    "operation",
    "actor",
    "actor_agency",
    "subject_type",
    "subject_id",
    "person_ref",
    "justification",
    "recipient",
    "correlation_id",
    "client_correlation_id",
)


class DataProtectionError(Exception):
    pass


def _check(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        raise DataProtectionError(f"{resp.request.url.path}: {resp.status_code} {resp.text[:300]}")
    return resp.json()


def references(client: httpx.Client, person: str, why: str) -> list[str]:
    """Every reference of the person, from the case-service (or just the one given)."""
    resp = client.get(
        "/api/v1/subject-access/case-service", params={"person": person}, headers={"X-Justification": why}
    )
    if resp.status_code == 404:
        return [person]
    data = _check(resp)
    refs = [person]
    for rs in data["data"].get("references", {}).values():
        refs += rs
    return list(dict.fromkeys(refs))


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
    max_pages: int = 200,
) -> list[dict[str, Any]]:
    """Every service's entries for these references (and filters), merged in time order."""
    params: dict[str, Any] = {"person": refs} if refs else {}
    params.update(
        {k: v for k, v in {"user": user, "operation": operation, "since": since, "until": until}.items() if v}
    )
    out: list[dict[str, Any]] = []
    for svc in SERVICES:
        for page in range(max_pages):  # bounded
            body = _check(
                client.get(
                    f"/api/v1/audit/{svc}",
                    params={**params, "limit": page_size, "offset": page * page_size},
                    headers={"X-Justification": why},
                )
            )
            out += body["items"]
            if (page + 1) * page_size >= body["total"]:
                break
    out.sort(key=lambda e: (e["at"], e["service"], e["id"]))
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


def timeline_csv(entries: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
    w.writeheader()
    for e in entries:
        w.writerow({k: "" if e.get(k) is None else e[k] for k in CSV_FIELDS})
    return out.getvalue()


def subject_access(client: httpx.Client, person: str, why: str) -> dict[str, Any]:
    """Everything each service holds on the person, with its audit, in one document."""
    refs = references(client, person, why)
    held: dict[str, Any] = {}
    for svc in SERVICES:
        resp = client.get(
            f"/api/v1/subject-access/{svc}", params={"person": refs}, headers={"X-Justification": why}
        )
        held[svc] = None if resp.status_code == 404 else _check(resp)
    if not any(held.values()):
        raise DataProtectionError(f"No service holds anything on {person}.")
    return {"person": person, "references": refs, "services": held}


def sar_html(doc: dict[str, Any]) -> str:
    """The export as a readable page: each service's holdings, then the disclosures and consultations."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Subject access</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #999;"
        "padding:2px 6px;font-size:12px;vertical-align:top}</style></head><body>",
        f"<h1>Subject access export</h1><p>References: {e(', '.join(doc['references']))}</p>",
    ]
    for svc, data in doc["services"].items():
        parts.append(f"<h2>{e(svc)}</h2>")
        if not data:
            parts.append("<p>Holds nothing on this person.</p>")
            continue
        for section, rows in data["data"].items():
            if not rows:
                continue
            parts.append(f"<h3>{e(section.replace('_', ' '))}</h3><pre>{e(json.dumps(rows, indent=2))}</pre>")
        parts.append(
            "<h3>Who consulted or received it</h3><table><tr><th>when</th><th>what</th><th>who</th>"
            "<th>why</th><th>to whom</th></tr>"
        )
        for a in data["audit"]:
            parts.append(
                f"<tr><td>{e(a['at'][:19])}</td><td>{e(a['operation'])} {e(a['subject_type'])}</td>"
                f"<td>{e(a['actor'])}</td><td>{e(a['justification'])}</td>"
                f"<td>{e(a.get('recipient') or '')}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)
