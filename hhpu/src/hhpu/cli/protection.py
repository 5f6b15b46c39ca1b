"""`hhpu audit` and `hhpu sar`: the data protection officer's commands (through the gateway)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hhpu.cli.common import add_remote, client


def cmd_audit(args: argparse.Namespace) -> None:
    from hhpu import protection as dp

    with client(args) as c:
        try:
            refs = dp.references(c, args.person, args.why) if args.person else []
            entries = dp.audit_timeline(
                c,
                refs,
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
    print(json.dumps(doc, indent=2))


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
    sa.add_argument("--why", required=True, help="the justification recorded (e.g. the request's reference)")
    add_remote(sa, "data_protection_officer")
    sa.set_defaults(fn=cmd_sar)
