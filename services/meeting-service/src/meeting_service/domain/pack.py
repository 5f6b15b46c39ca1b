"""The meeting pack and the minutes as printable documents (pure functions over plain dicts).

Agencies appear by name, times in Europe/London, every page marked OFFICIAL-SENSITIVE (the page
style is `hhpu_shared.documents`). What goes in is already cut to what the reader may see: a
recipient's version is built by `for_recipient` from that agency's rows only
(`meeting_service.service.documents` applies it, then withholds the fields the caller's role may not see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hhpu_shared.documents import clock, e, local_date, local_time, page, table

Row = Mapping[str, Any]


@dataclass
class PackData:
    meeting: Row
    agency_names: Mapping[str, str]
    agenda: Sequence[Row] = ()
    moved: Sequence[Row] = ()
    decisions: Sequence[Row] = ()
    actions: Sequence[Row] = ()
    addenda: Sequence[Row] = ()
    planned_minutes: int = 0
    notes: Sequence[str] = ()
    recipient: str | None = None  # the recipient agency's name; None: the unit's full version
    extra: dict[str, Any] = field(default_factory=dict)


def _agency(d: PackData, agency_id: str | None) -> str:
    return d.agency_names.get(agency_id or "", "unknown agency") if agency_id else ""


def _header(d: PackData) -> str:
    m = d.meeting
    where = e(m.get("location") or "location to be confirmed")
    closed = f" &middot; minutes frozen {e(local_time(m['closed_at']))}" if m.get("closed_at") else ""
    return (
        f"{e(local_date(m['scheduled_on']))} {e(clock(m.get('start_time')))} (UK time) &middot; {where}"
        f" &middot; status: {e(m['status'])}{closed}"
    )


def _attendance(d: PackData) -> str:
    rows = []
    for i in d.meeting.get("invitations") or []:
        state = "attended" if i["attended"] else ("apologies" if i["response"] == "apologies" else "absent")
        detail = i.get("apology_reason") if state == "apologies" else i.get("attendees")
        rows.append(
            [i.get("agency_name") or _agency(d, i["agency_id"]), i.get("contact_name"), state, detail]
        )
    quorum = (
        f"<p>Quorum: {d.meeting.get('agencies_attending', 0)} of {d.meeting.get('quorum_agencies', 0)} "
        + ("agencies (met)" if d.meeting.get("quorum_met") else "agencies (not met)")
        + "</p>"
        if d.recipient is None
        else ""
    )
    head = ["Agency", "Single point of contact", "Attendance", "Detail"]
    return table(head, rows, "No agencies invited.") + quorum


def _actions(d: PackData) -> str:
    rows = [
        [
            a["description"],
            a["owner_name"],
            _agency(d, a["owner_agency_id"]),
            local_date(a["due_date"]),
            a["status"].replace("_", " ") + (" (overdue)" if a.get("overdue") else ""),
            "; ".join(c["reason"] for c in a.get("carries") or []),
        ]
        for a in d.actions
    ]
    head = ["Action", "Owner", "Agency", "Due", "Status", "Carried over"]
    return table(head, rows, "No actions.")


def _decisions(d: PackData) -> str:
    rows = [
        [
            x.get("item_title"),
            x.get("person_label"),
            x["decision"],
            x.get("cohort"),
            x["decided_by"],
            x.get("reason"),
        ]
        for x in d.decisions
    ]
    return table(["Item", "Person", "Decision", "Cohort", "Decided by", "Reason"], rows, "No decisions.")


def _addenda(d: PackData) -> str:
    rows = [[local_time(a["created_at"]), a["author"], a["text"]] for a in d.addenda]
    return table(["When", "By", "Correction"], rows, "No addenda.")


def render_pack(d: PackData) -> str:
    """The printable meeting pack: attendance, agenda, items moved on, decisions, actions, addenda."""
    limit = int(d.meeting["agenda_limit_minutes"])
    agenda_rows = [
        [
            n + 1,
            i.get("starts_at_minute"),
            i["planned_minutes"],
            i["kind"].replace("_", " "),
            i["title"],
            i.get("person_label"),
        ]
        for n, i in enumerate(d.agenda)
    ]
    planned = (
        f'<span class="over">{d.planned_minutes}</span>'
        if d.planned_minutes > limit
        else str(d.planned_minutes)
    )
    moved = [[i["title"], i.get("person_label"), i.get("deferred_reason")] for i in d.moved]
    body = (
        "<p>Shared under the information-sharing agreement of the multi-agency meeting. The pack names "
        "people: keep it secure and destroy it when no longer needed.</p>"
        f"<h2>Attendance</h2>{_attendance(d)}"
        f"<h2>Agenda ({planned} of {limit} minutes)</h2>"
        + table(["#", "Starts (min)", "Minutes", "Type", "Item", "Person"], agenda_rows, "No items.")
        + "".join(f"<p>{e(n)}</p>" for n in d.notes)
        + (
            ""
            if d.recipient
            else "<h2>Moved to the next meeting</h2>"
            + table(["Item", "Person", "Reason"], moved, "Nothing moved.")
        )
        + f"<h2>Decisions</h2>{_decisions(d)}<h2>Actions</h2>{_actions(d)}<h2>Addenda</h2>{_addenda(d)}"
    )
    return page(f"Meeting pack: {d.meeting['title']}", body, recipient=d.recipient, subtitle=_header(d))


def render_minutes(d: PackData) -> str:
    """The minutes: what was said on each item, the decisions and actions it produced, and addenda."""
    sections = []
    for n, i in enumerate(d.agenda):
        said = e(i.get("minutes")) or '<span class="muted">No minute recorded.</span>'
        sections.append(
            f'<h3>{n + 1}. {e(i["title"])}</h3><p class="meta">{e(i["kind"].replace("_", " "))}'
            f"{' &middot; ' + e(i.get('person_label')) if i.get('person_label') else ''}</p><p>{said}</p>"
        )
    body = (
        f"<h2>Attendance</h2>{_attendance(d)}<h2>Items</h2>{''.join(sections) or '<p><em>No items.</em></p>'}"
        f"<h2>Decisions</h2>{_decisions(d)}<h2>Actions</h2>{_actions(d)}<h2>Addenda</h2>{_addenda(d)}"
    )
    return page(f"Minutes: {d.meeting['title']}", body, recipient=d.recipient, subtitle=_header(d))


WITHHELD_MINUTE = "Minute withheld: this item is shared with other agencies."
WITHHELD_CORRECTION = "Correction withheld: this item is shared with other agencies."
WITHHELD = "withheld (shared item)"


def for_recipient(d: PackData, agency_id: str) -> PackData:
    """One agency's share: its invitation, the items where it owns an action, their decisions and
    addenda, and its own actions; nothing of any other agency.

    An item on which another agency also owns an action is shared: its minute, its notes, its
    decision's reason and decided-by and its corrections are free text that may speak of the other
    agency, so the recipient gets the decision itself and a "withheld" line instead."""
    actions = [a for a in d.actions if a["owner_agency_id"] == agency_id]
    theirs = {a["item_id"] for a in actions if a.get("item_id")}
    shared = {
        a["item_id"] for a in d.actions if a.get("item_id") in theirs and a["owner_agency_id"] != agency_id
    }
    invitations = [i for i in d.meeting.get("invitations") or [] if i["agency_id"] == agency_id]
    name = d.agency_names.get(agency_id, "your agency")

    def item(i: Row) -> dict[str, Any]:
        if i["id"] not in shared:
            return dict(i)
        return {**i, "minutes": WITHHELD_MINUTE, "notes": None, "carried_reason": None}

    def decision(x: Row) -> dict[str, Any]:
        if x.get("item_id") not in shared:
            return dict(x)
        return {**x, "reason": WITHHELD, "decided_by": WITHHELD, "text": None, "recorded_by": WITHHELD}

    def addendum(a: Row) -> dict[str, Any]:
        if a.get("item_id") not in shared:
            return dict(a)
        return {**a, "text": WITHHELD_CORRECTION, "author": WITHHELD}

    return PackData(
        meeting={**d.meeting, "invitations": invitations},
        agency_names={agency_id: name},
        agenda=[item(i) for i in d.agenda if i["id"] in theirs],
        decisions=[decision(x) for x in d.decisions if x.get("item_id") in theirs],
        actions=actions,
        addenda=[addendum(a) for a in d.addenda if a.get("item_id") in theirs],
        planned_minutes=d.planned_minutes,
        recipient=name,
    )
