"""Reports: the fortnightly suitability report (JSON and printable HTML) and the evaluation figures."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from hhpu_shared.http import JustificationDep, UoWDep

from case_service.routes.common import AggregateUser, CaseSettingsDep, CaseUser
from case_service.service import reports

router = APIRouter(prefix="/reports", tags=["reports"])

PRINT_CSS = """
body{font-family:Arial,Helvetica,sans-serif;font-size:11pt;margin:2em;color:#000}
h1{font-size:16pt}h2{font-size:13pt;margin-top:1.5em}
table{border-collapse:collapse;width:100%;margin-bottom:1em}
th,td{border:1px solid #444;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eee}.marking{font-weight:bold;text-align:center}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}.noprint{display:none}}
@page{size:A4 landscape;margin:15mm}
"""
TITLES = {
    "both": "From the algorithm and a referral",
    "algorithm": "From the algorithm (ranking)",
    "referral": "From referrals",
    "manual": "Opened by hand",
}


def render_html(rep: dict[str, Any]) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Suitability report since {e(rep['since'])}</title><style>{PRINT_CSS}</style></head><body>",
        "<p class='marking'>OFFICIAL-SENSITIVE</p>",
        f"<h1>Suitability report: people new to assess since {e(rep['since'])}</h1>",
        f"<p>Generated {e(rep['generated_on'])}. {rep['total']} people. "
        "The ranking is an input to human assessment, never a decision.</p>",
    ]
    for key in ("both", "algorithm", "referral", "manual"):
        rows = rep["groups"][key]
        parts.append(f"<h2>{e(TITLES[key])} ({len(rows)})</h2>")
        if not rows:
            parts.append("<p>None.</p>")
            continue
        parts.append(
            "<table><thead><tr><th>Person</th><th>Records id</th><th>Opened</th><th>Urgency</th>"
            "<th>Status</th><th>Triggers</th><th>Recommendation</th></tr></thead><tbody>"
        )
        for r in rows:
            trig = "<br>".join(e(f"{t['source']}: {t['detail'] or t['ref']}") for t in r["triggers"])
            parts.append(
                f"<tr><td>{e(r['person_label'])}</td><td>{e(r['records_id'] or '')}</td>"
                f"<td>{e(r['opened_at'][:10])}</td><td>{e(r['urgency'])}</td><td>{e(r['status'])}</td>"
                f"<td>{trig}</td><td>{e(r['recommendation'] or '')}</td></tr>"
            )
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts)


@router.get("/suitability")
def suitability(
    principal: CaseUser,
    uow: UoWDep,
    why: JustificationDep,
    settings: CaseSettingsDep,
    since: date | None = None,
    format: str = Query("json", pattern="^(json|html)$"),
) -> Any:
    """People new to assess since a date (default: the last fortnight), by source; JSON or printable HTML."""
    rep = reports.suitability(uow, since, settings.suitability_report_days, why)
    if format == "html":
        return HTMLResponse(render_html(rep))
    return rep


@router.get("/evaluation")
def evaluation(
    principal: AggregateUser,
    uow: UoWDep,
    settings: CaseSettingsDep,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, Any]:
    """The evaluation's figures, live: managed cases by month and cohort, interventions with chi-square,
    training coverage and indicative costs. Aggregate only."""
    return reports.evaluation(uow, settings, start, end)
