"""Printable documents: one page style, local times, the protective marking, HTML or PDF.

Every printable document (meeting pack, minutes, suitability and evaluation reports, case summary)
is HTML built by a pure function and wrapped by `page()`: A4, the marking OFFICIAL-SENSITIVE at the
top and bottom of every page (CSS paged media), page numbers, the recipient named when there is one.
`to_pdf()` turns it into a PDF with WeasyPrint (CSS paged media in pure Python over Pango; no
browser, no network: `base_url` is never set and images are inline). Times are shown in the unit's
local time, Europe/London.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Response
from fastapi.responses import HTMLResponse

MARKING = "OFFICIAL-SENSITIVE"
LONDON = ZoneInfo("Europe/London")
PDF = "application/pdf"

_CSS = """
@page { size: A4; margin: 22mm 15mm 20mm 15mm;
  @top-center { content: "OFFICIAL-SENSITIVE"; font: bold 10pt sans-serif; }
  @top-right { content: string(recipient); font: 8pt sans-serif; color: #444; }
  @bottom-center { content: "OFFICIAL-SENSITIVE"; font: bold 10pt sans-serif; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8pt sans-serif; } }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #111;
  margin: 0 1em; }
h1 { font-size: 16pt; margin: .2em 0 0 0; } h2 { font-size: 12.5pt; border-bottom: 1px solid #999;
  margin-top: 1.4em; break-after: avoid; } h3 { font-size: 11pt; margin-bottom: .2em; }
table { border-collapse: collapse; width: 100%; margin-top: .4em; }
th, td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #eee; } tr { break-inside: avoid; } .meta { color: #444; }
.over { color: #b00; font-weight: bold; }
.num { text-align: right; } .marking { border: 2px solid #333; padding: 3px 8px; font-weight: bold;
  text-align: center; } .recipient { string-set: recipient content(); font-style: italic; }
.muted { color: #666; } svg { max-width: 100%; height: auto; }
@media screen { body { max-width: 60rem; margin: 1.5rem auto; } }
"""


class DocFormat(StrEnum):
    html = "html"
    pdf = "pdf"


def local_time(value: datetime | str | None, *, with_date: bool = True) -> str:
    """A UTC (or naive UTC) timestamp as the unit reads it: 'Sat 29 Nov 2026 15:44' in Europe/London."""
    if value is None or value == "":
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo("UTC"))
    dt = dt.astimezone(LONDON)
    return dt.strftime("%a %d %b %Y %H:%M") if with_date else dt.strftime("%H:%M")


def local_date(value: date | datetime | str | None) -> str:
    """A date as '14 Mar 2026'. A timestamp (a datetime, or an ISO string with a time) is UTC when
    naive and is converted to Europe/London first, so 23:30 UTC on a summer evening is the next day."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
        value = aware.astimezone(LONDON).date()
    return value.strftime("%d %b %Y")


def clock(value: time | str | None) -> str:
    """A wall-clock time of day as 'HH:MM' (meeting start times are already local)."""
    if value is None or value == "":
        return ""
    t = time.fromisoformat(value) if isinstance(value, str) else value
    return t.strftime("%H:%M")


def e(value: Any) -> str:
    """HTML-escaped text; None is empty."""
    return "" if value is None else escape(str(value))


def _raw(value: Any) -> str:
    return "" if value is None else str(value)


def table(headers: list[str], rows: list[list[Any]], empty: str, *, raw: bool = False) -> str:
    """A table of escaped cells (or pre-built HTML cells when `raw`), or a line saying it is empty."""
    if not rows:
        return f"<p><em>{escape(empty)}</em></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    cell = _raw if raw else e
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, body: str, *, recipient: str | None = None, subtitle: str = "") -> str:
    """A whole printable document: marking, title, who it is for, then `body` (already HTML)."""
    who = (
        f'<p class="recipient">Recipient version for {escape(recipient)}: '
        "holds only what this agency may see.</p>"
        if recipient
        else ""
    )
    sub = f'<p class="meta">{subtitle}</p>' if subtitle else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_CSS}</style></head><body>"
        f'<div class="marking">{MARKING}: for the named recipients only. Do not forward.</div>'
        f"<h1>{escape(title)}</h1>{sub}{who}{body}</body></html>"
    )


def to_pdf(html: str) -> bytes:
    """Render a document to PDF (WeasyPrint; imported here so services start without loading it)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def respond(html: str, fmt: DocFormat, filename: str) -> Response:
    """The document as text/html or as an attached application/pdf named `filename`.pdf."""
    if fmt is DocFormat.pdf:
        return Response(
            to_pdf(html),
            media_type=PDF,
            headers={"Content-Disposition": f'inline; filename="{filename}.pdf"'},
        )
    return HTMLResponse(html)
