"""The meeting pack as printable HTML (agenda, attendance, decisions, actions, addenda).

Pure function over plain dicts; every value is HTML-escaped. Print CSS gives A4 pages;
"print to PDF" in a browser makes the PDF (no PDF library is bundled).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from string import Template
from typing import Any

Row = Mapping[str, Any]

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>$title</title>
<style>
body{font-family:Arial,Helvetica,sans-serif;font-size:11pt;color:#111;margin:2em}
h1{font-size:16pt;margin-bottom:0}h2{font-size:13pt;border-bottom:1px solid #999;margin-top:1.5em}
table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eee}.meta{color:#444}.over{color:#b00;font-weight:bold}
.banner{border:2px solid #333;padding:4px 8px;font-weight:bold;text-align:center}
@page{size:A4;margin:15mm}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}
</style></head><body>
<div class="banner">OFFICIAL-SENSITIVE: for the named recipients only. Do not forward.</div>
<h1>$title</h1>
<p class="meta">$when &middot; $location &middot; status: $status$closed</p>
<p>Shared under the information-sharing agreement of the multi-agency meeting. The pack names
people: keep it secure and destroy it when no longer needed.</p>
<h2>Attendance</h2>$attendance<p>Quorum: $quorum</p>
<h2>Agenda ($planned of $limit minutes)</h2>$agenda$notes
<h2>Moved to the next meeting</h2>$moved
<h2>Decisions</h2>$decisions
<h2>Actions</h2>$actions
<h2>Addenda</h2>$addenda
</body></html>
"""
)


def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> str:
    if not rows:
        return f"<p><em>{escape(empty)}</em></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _attendance(invitations: Sequence[Row]) -> str:
    rows = []
    for i in invitations:
        state = "attended" if i["attended"] else ("apologies" if i["response"] == "apologies" else "absent")
        detail = i.get("apology_reason") if state == "apologies" else i.get("attendees")
        rows.append([i["agency_name"], i.get("contact_name"), state, detail])
    return _table(["Agency", "Single point of contact", "Attendance", "Detail"], rows, "No agencies invited.")


def render_pack(
    *,
    meeting: Row,
    agenda: Sequence[Row],
    moved: Sequence[Row],
    decisions: Sequence[Row],
    actions: Sequence[Row],
    addenda: Sequence[Row],
    planned_minutes: int,
    notes: Sequence[str] = (),
) -> str:
    """Render the printable pack of one meeting."""
    agenda_rows = [
        [
            n + 1,
            i.get("starts_at_minute"),
            i["planned_minutes"],
            i["kind"].replace("_", " "),
            i["title"],
            i.get("person_label"),
            i.get("minutes"),
        ]
        for n, i in enumerate(agenda)
    ]
    moved_rows = [[i["title"], i.get("person_label"), i.get("deferred_reason")] for i in moved]
    decision_rows = [
        [
            d.get("item_title"),
            d.get("person_label"),
            d["decision"],
            d.get("cohort"),
            d["decided_by"],
            d.get("reason"),
        ]
        for d in decisions
    ]
    action_rows = [
        [
            a["description"],
            a["owner_name"],
            a["owner_agency_id"],
            a["due_date"],
            a["status"].replace("_", " "),
            "; ".join(c["reason"] for c in a.get("carries") or []),
        ]
        for a in actions
    ]
    addenda_rows = [[a["created_at"], a["author"], a["text"]] for a in addenda]
    closed = f" (minutes frozen {_e(meeting['closed_at'])})" if meeting.get("closed_at") else ""
    limit = int(meeting["agenda_limit_minutes"])
    planned = (
        f'<span class="over">{planned_minutes}</span>' if planned_minutes > limit else str(planned_minutes)
    )
    note_html = "".join(f"<p>{escape(n)}</p>" for n in notes)
    return _PAGE.substitute(
        title=_e(meeting["title"]),
        when=f"{_e(meeting['scheduled_on'])} {_e(meeting['start_time'])}",
        location=_e(meeting.get("location") or "location to be confirmed"),
        status=_e(meeting["status"]),
        closed=closed,
        attendance=_attendance(meeting.get("invitations") or []),
        quorum=(
            f"{meeting.get('agencies_attending', 0)} of {meeting.get('quorum_agencies', 0)} agencies "
            + ("(met)" if meeting.get("quorum_met") else "(not met)")
        ),
        planned=planned,
        limit=limit,
        agenda=_table(
            ["#", "Starts (min)", "Minutes", "Type", "Item", "Person", "Minute"], agenda_rows, "No items."
        ),
        notes=note_html,
        moved=_table(["Item", "Person", "Reason"], moved_rows, "Nothing moved."),
        decisions=_table(
            ["Item", "Person", "Decision", "Cohort", "Decided by", "Reason"], decision_rows, "No decisions."
        ),
        actions=_table(
            ["Action", "Owner", "Agency", "Due", "Status", "Carried over"], action_rows, "No actions."
        ),
        addenda=_table(["When", "By", "Correction"], addenda_rows, "No addenda."),
    )
