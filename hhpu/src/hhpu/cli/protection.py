"""`hhpu audit`, `hhpu sar`, `hhpu reviews` and `hhpu review`: the data protection officer's
commands (through the gateway)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hhpu.cli.common import add_remote, check, client, emit, table

# MoPI reason codes (the case-service checks them; listed here for --help and early refusal)
RETAIN_CODES = (
    "serious_harm_capacity",
    "children_or_vulnerable_adults",
    "breach_of_trust",
    "links_increasing_risk",
    "substance_misuse",
    "mental_state",
    "other_policing_purpose",
)
DISPOSE_CODES = ("no_policing_purpose", "inadequate_or_out_of_date", "excessive_or_disproportionate")


def cmd_audit(args: argparse.Namespace) -> None:
    from hhpu import protection as dp

    with client(args) as c:
        try:
            entries = dp.audit_timeline(
                c,
                [args.person] if args.person else [],
                args.why,
                user=args.user,
                operation=args.operation,
                since=args.since,
                until=args.until,
            )
        except dp.DataProtectionError as exc:
            raise SystemExit(str(exc)) from exc
    print(dp.timeline_csv(entries) if args.csv else dp.timeline_text(entries))


def cmd_sar(args: argparse.Namespace) -> None:
    from hhpu import protection as dp

    with client(args) as c:
        try:
            doc = dp.subject_access(c, args.person, args.why)
        except dp.DataProtectionError as exc:
            raise SystemExit(str(exc)) from exc
    if args.html:
        Path(args.html).write_text(dp.sar_html(doc), encoding="utf-8")
    if args.pdf:
        from hhpu_shared.documents import to_pdf

        Path(args.pdf).write_bytes(to_pdf(dp.sar_html(doc)))
    print(json.dumps(doc, indent=2))


def cmd_reviews(args: argparse.Namespace) -> None:
    params: dict[str, Any] = {"limit": args.limit, "offset": args.offset}
    if args.due_before:
        params["due_before"] = args.due_before
    if args.group:
        params["group"] = args.group
    with client(args) as c:
        body = check(c.get("/api/v1/retention-reviews", params=params, headers={"X-Justification": args.why}))
    rows = [
        (
            p["person_id"],
            p["name"],
            p["mopi_group"],
            p["review_due_on"],
            p["overdue_days"],
            p["last_reviewed_on"],
            "yes" if p["restricted"] else "",
            "; ".join(p["basis"]),
        )
        for p in body["items"]
    ]
    heads = ("person", "name", "group", "review due", "days overdue", "last reviewed", "restricted", "basis")
    shown = f"{len(rows)} of {body['total']} due for MoPI review"
    emit(args, body, (table(heads, rows) + "\n" if rows else "") + shown)


def review_summary(out: dict[str, Any]) -> str:
    r = out["review"]
    head = f"{r['decision']} recorded for {r['person_id']} by {r['decided_by']} (group {r['mopi_group']})"
    if r["decision"] == "retain":
        return f"{head}\nnext review {r['next_review_on']} (was due {r['previous_review_on']})"
    erasure = out.get("erasure") or {}
    return (
        f"{head}\ndisposed of: erasure decision {erasure.get('decision_id')} sent to every service "
        f"(references: {', '.join(erasure.get('references', []))}); the review history is kept"
    )


def cmd_review(args: argparse.Namespace) -> None:
    codes = RETAIN_CODES if args.decision == "retain" else DISPOSE_CODES
    if args.reason_code not in codes:
        raise SystemExit(f"a {args.decision} decision takes --reason-code one of: {', '.join(codes)}")
    body = {"decision": args.decision, "reason_code": args.reason_code, "reason": args.reason}
    with client(args) as c:
        out = check(
            c.post(
                f"/api/v1/people/{args.person}/retention-review",
                json=body,
                headers={"X-Justification": args.why},
            )
        )
    emit(args, out, review_summary(out))


def add(sub: Any) -> None:
    au = sub.add_parser("audit", help="the audit trail across every service, as a timeline or CSV")
    au.add_argument("--person", help="a person reference (case person id, records id or referral id)")
    au.add_argument("--user", help="who consulted or changed (actor)")
    au.add_argument(
        "--operation", choices=["collect", "alter", "consult", "disclose", "combine", "erase", "restrict"]
    )
    au.add_argument("--since")
    au.add_argument("--until")
    au.add_argument("--csv", action="store_true", help="CSV for a complaint or a court")
    au.add_argument("--why", required=True, help="the justification recorded for this query")
    add_remote(au, "data_protection_officer")
    au.set_defaults(fn=cmd_audit)

    sa = sub.add_parser("sar", help="subject access export of one person from every service")
    sa.add_argument("person")
    sa.add_argument("--html", help="also write a readable HTML export to this file")
    sa.add_argument("--pdf", help="also write the export as a PDF to this file")
    sa.add_argument("--why", required=True, help="the justification recorded (e.g. the request's reference)")
    add_remote(sa, "data_protection_officer")
    sa.set_defaults(fn=cmd_sar)

    rq = sub.add_parser("reviews", help="the MoPI review queue: people whose review is due")
    rq.add_argument("--due-before", help="due on or before this date (YYYY-MM-DD; default today)")
    rq.add_argument(
        "--group", type=int, action="append", choices=[1, 2, 3, 4], help="MoPI group (repeatable)"
    )
    rq.add_argument("--limit", type=int, default=50)
    rq.add_argument("--offset", type=int, default=0)
    rq.add_argument("--why", required=True, help="the justification recorded for reading the queue")
    add_remote(rq, "data_protection_officer")
    rq.set_defaults(fn=cmd_reviews)

    rv = sub.add_parser("review", help="record a MoPI review decision: retain (with reason) or dispose")
    rv.add_argument("person", help="the case-service person id")
    rv.add_argument("decision", choices=["retain", "dispose"])
    rv.add_argument(
        "--reason-code",
        required=True,
        help=f"retain: {', '.join(RETAIN_CODES)}; dispose: {', '.join(DISPOSE_CODES)}",
    )
    rv.add_argument("--reason", required=True, help="why, in words (kept in the review history)")
    rv.add_argument("--why", required=True, help="the justification recorded in the audit")
    add_remote(rv, "data_protection_officer")
    rv.set_defaults(fn=cmd_review)
