"""Printable documents of the case-service (pure: plain data in, HTML out; `hhpu_shared.documents`
gives the page, the marking OFFICIAL-SENSITIVE, local times and the PDF).

- the fortnightly suitability report: people new to assess, grouped by where they came from;
- the case summary: one case with the person, manager, risk, interventions, notes and history.
"""

from __future__ import annotations

from typing import Any

from hhpu_shared.documents import e, local_date, local_time, page, table

GROUP_TITLES = {
    "both": "From the algorithm and a referral",
    "algorithm": "From the algorithm (ranking)",
    "referral": "From referrals",
    "manual": "Opened by hand",
}
COHORTS = {
    "hhpu": "HHPU",
    "visor": "ViSOR",
    "iom_fixed": "IOM fixed",
    "iom_flex": "IOM flex",
    "iom_free": "IOM free",
}


def words(value: Any) -> str:
    """'under_assessment' -> 'under assessment'; None -> ''."""
    return "" if value is None else str(value).replace("_", " ")


def cohort_label(cohort: str | None, category: int | None = None, level: int | None = None) -> str:
    label = COHORTS.get(cohort or "", words(cohort))
    return f"{label} (MAPPA category {category}, level {level})" if category else label


def render_suitability(rep: dict[str, Any]) -> str:
    """The suitability report: names, sources, triggers in words (agency and offence names)."""
    parts = [
        f"<p>{rep['total']} people new to assess since {e(local_date(rep['since']))}. The ranking is an "
        "input to human assessment, never a decision (DPA 2018 s.49).</p>",
        table(
            ["Source", "People"],
            [[GROUP_TITLES[k], rep["counts"][k]] for k in ("both", "algorithm", "referral", "manual")],
            "Nobody.",
        ),
    ]
    for key in ("both", "algorithm", "referral", "manual"):
        rows = rep["groups"][key]
        parts.append(f"<h2>{e(GROUP_TITLES[key])} ({len(rows)})</h2>")
        body = [
            [
                e(r["person_label"])
                + (f'<br><span class="muted">{e(r["records_id"])}</span>' if r["records_id"] else ""),
                e(local_date(r["opened_at"])),
                e(r["urgency"]),
                e(words(r["status"])),
                "<br>".join(e(f"{t['source']}: {t['detail'] or t['ref']}") for t in r["triggers"]),
                e(words(r["recommendation"])),
            ]
            for r in rows
        ]
        parts.append(
            table(
                ["Person", "Opened", "Urgency", "Status", "Triggers", "Recommendation"],
                body,
                "None.",
                raw=True,
            )
        )
    return page(
        "Suitability report",
        "".join(parts),
        subtitle=f"People new to assess since {e(local_date(rep['since']))}; "
        f"generated {e(local_date(rep['generated_on']))}",
    )


def _decision(dec: dict[str, Any] | None) -> str:
    if not dec:
        return "none recorded"
    return f"{words(dec['decision'])} by {dec['decided_by']}, {local_time(dec['decided_at'])}"


def render_case_summary(d: dict[str, Any]) -> str:
    """One case on paper: who, where in its life, who manages it, risk, interventions, notes, history."""
    c, p = d["case"], d["person"]
    facts = [
        [
            "Person",
            f"{p['name']}" + (f" (born {local_date(p['date_of_birth'])})" if p["date_of_birth"] else ""),
        ],
        ["Identifiers", ", ".join(f"{words(k)} {v}" for k, v in p["identifiers"]) or "none"],
        ["Status", words(c["status"])],
        ["Cohort", cohort_label(c["cohort"], c["mappa_category"], c["mappa_level"])],
        ["Category (DPA 2018 s.38)", words(c["subject_category"])],
        ["Statutory status", words(c["statutory_status"]) or "not recorded"],
        ["Identified by", words(c["identified_by"])],
        ["Suitability decision", _decision(d["decision"])],
        ["Offender manager", d["manager_name"] or "not allocated"],
        ["Risk band", words(c["risk_band"]) or "not assessed"],
        ["Adopted", local_date(c["adopted_on"]) or "not adopted"],
        ["Next review", local_date(c["next_review_on"]) or "not set"],
    ]
    parts = [
        "<h2>The case</h2>",
        table(["", ""], facts, ""),
        "<h2>Risk assessments</h2>",
        table(
            ["Tool", "Band", "Assessed", "By", "Next due"],
            [
                [
                    r["tool"].upper(),
                    words(r["band"]),
                    local_date(r["assessed_on"]),
                    r["assessed_by"],
                    local_date(r["next_due"]),
                ]
                for r in d["risk"]
            ],
            "No risk assessment recorded.",
        ),
        "<h2>Interventions</h2>",
        table(
            ["Intervention", "Category", "Agency", "Started", "Status"],
            [
                [i["name"], i["category"], i["agency"], local_date(i["started_on"]), words(i["status"])]
                for i in d["interventions"]
            ],
            "No intervention recorded.",
        ),
        "<h2>Notes</h2>",
        table(
            ["When", "Kind", "By", "Note"],
            [
                [
                    local_time(n["at"]),
                    "assessment (opinion)" if n["kind"] == "assessment" else "fact",
                    n["author"],
                    n["text"],
                ]
                for n in d["notes"]
            ],
            "No notes.",
        ),
        "<h2>Allocations</h2>",
        table(
            ["When", "Manager", "By", "Reasons"],
            [
                [local_time(a["at"]), a["manager_name"], a["allocated_by"], "; ".join(a["reasons"])]
                for a in d["allocations"]
            ],
            "Never allocated.",
        ),
        "<h2>History</h2>",
        table(
            ["When", "From", "To", "Reason", "By"],
            [
                [
                    local_time(h["at"]),
                    words(h["from_status"]),
                    words(h["to_status"]),
                    words(h["reason_code"]),
                    h["actor"],
                ]
                for h in d["history"]
            ],
            "No history.",
        ),
    ]
    return page(
        f"Case summary: {p['name']}", "".join(parts), subtitle=f"Printed {e(local_time(d['printed_at']))}"
    )
