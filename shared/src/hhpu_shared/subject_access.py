"""The audit trail and subject access across every service, as one document (DPA 2018 s.45, s.62).

Each service answers for its own trail and holdings (``/api/v1/audit/<service>``,
``/api/v1/subject-access/<service>``); the gateway asks all four (``gateway.fanout``) and these pure
functions merge the answers: one timeline in time order (JSON or CSV) and one subject access export
(JSON, or a readable page: every record as a table of its fields, then who consulted or received
the data and why; PDF through :func:`hhpu_shared.documents.to_pdf`). ``hhpu audit`` and ``hhpu sar``
print what the gateway returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hhpu_shared.audit import entries_csv
from hhpu_shared.documents import e, local_time, page, table


def merge_timeline(answers: Iterable[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Every service's entries in one timeline: time order, then service, then id (a stable order)."""
    out = [dict(entry) for entries in answers for entry in entries]
    out.sort(key=lambda x: (str(x["at"]), str(x["service"]), int(x["id"])))
    return out


def timeline_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """The timeline as CSV, for a complaint or a court (one row per entry, the service named)."""
    return entries_csv(entries)


def _label(key: str) -> str:
    return key.replace("_", " ")


def _value(value: Any) -> str:
    """One field's value as readable HTML: nested records as indented lines, lists joined."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, Mapping):
        lines = [f"{e(_label(str(k)))}: {_value(v)}" for k, v in value.items() if _value(v)]
        return "<br>".join(lines)
    if isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            return e(", ".join(str(v) for v in value))
        return "<hr>".join(_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return e(value)


def _record(row: Any) -> str:
    """One record as a two-column table of its fields (empty fields left out)."""
    if not isinstance(row, Mapping):
        return f"<p>{_value(row)}</p>"
    rows = [[e(_label(str(k))), _value(v)] for k, v in row.items() if _value(v)]
    return table(["field", "value"], rows, "No recorded fields.", raw=True)


def _section(name: str, rows: Any) -> str:
    head = f"<h3>{e(_label(name).capitalize())}</h3>"
    if isinstance(rows, Mapping):  # e.g. each person's references
        return head + table(["", ""], [[e(k), _value(v)] for k, v in rows.items()], "None.", raw=True)
    if isinstance(rows, list):
        return head + "".join(_record(r) for r in rows)
    return head + f"<p>{_value(rows)}</p>"


def _trail(entries: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        [
            local_time(a.get("at")),
            f"{a.get('operation', '')} ({_label(str(a.get('subject_type', '')))})",
            str(a.get("actor", "")) + (f" ({a['actor_agency']})" if a.get("actor_agency") else ""),
            a.get("justification") or "",
            a.get("recipient") or "",
        ]
        for a in entries
    ]
    return table(["when", "what", "who", "why", "to whom"], rows, "No entry in this service's audit.")


def sar_html(doc: Mapping[str, Any]) -> str:
    """The subject access export as a readable, printable page: for each service, what it holds on
    the person (one table per record) and who consulted it or received it, when and why."""
    refs = ", ".join(doc.get("references", []))
    parts = [
        "<p>This export gathers, from every service of the platform, the personal data held on the "
        "person known by the references below, and the record of who consulted it or to whom it was "
        "disclosed (Data Protection Act 2018 s.45).</p>",
        f"<p><strong>References:</strong> {e(refs)}</p>",
    ]
    for svc, data in (doc.get("services") or {}).items():
        parts.append(f"<h2>{e(svc)}</h2>")
        if not data:
            parts.append("<p><em>Holds nothing on this person.</em></p>")
            continue
        marks = data.get("marks") or {}
        if marks:
            parts.append(f"<p><strong>Processing marks:</strong> {_value(marks)}</p>")
        held = [(k, v) for k, v in (data.get("data") or {}).items() if v]
        for name, rows in held:
            parts.append(_section(name, rows))
        if not held:
            parts.append("<p><em>No record held (only its audit trail).</em></p>")
        parts.append("<h3>Who consulted or received it</h3>" + _trail(data.get("audit") or []))
    return page("Subject access export", "".join(parts), subtitle=f"Person: {e(doc.get('person', ''))}")
