"""The `hhpu` command line, for the people who run the unit.

    hhpu run                      the whole system in one process, with demo data on first start
    hhpu migrate                  upgrade every service's database to the newest schema
    hhpu token --role analyst     mint a development staff token
    hhpu agency create NAME TYPE  create a partner agency and print its API key (shown once)
    hhpu import FILE              import offence records (CSV, NDJSON, Parquet) with a progress bar
    hhpu seed                     seed the demo force into .run/demo (what `hhpu run` does on first start)
    hhpu rank [--evaluate]        start a ranking run and show its evaluation
    hhpu report suitability       the fortnightly suitability report (HTML or JSON)
    hhpu meeting-pack ID          a meeting's printable pack (HTML)
    hhpu dlt list|show|replay     dead-lettered events: list, inspect, replay to the original topic
    hhpu audit --person REF       who consulted, disclosed or changed a person's data, across services
    hhpu sar REF                  subject access: everything every service holds on a person (JSON/HTML)

Commands other than `run` and `token` talk to a running gateway (`--url`, default
http://127.0.0.1:8000) with a token (`--token` or HHPU_TOKEN), so they go through the same
authentication, roles and audit trail as every other caller.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from hhpu.services import SERVICES

DEFAULT_URL = os.environ.get("HHPU_URL", "http://127.0.0.1:8000")


def _client(args: argparse.Namespace) -> httpx.Client:
    token = args.token or os.environ.get("HHPU_TOKEN")
    if not token:
        from hhpu.demo import staff_tokens

        token = staff_tokens()[args.role]
    return httpx.Client(base_url=args.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


def _show(resp: httpx.Response) -> Any:
    if resp.status_code >= 400:
        print(json.dumps(resp.json(), indent=2) if resp.content else resp.status_code, file=sys.stderr)
        raise SystemExit(1)
    if resp.headers.get("content-type", "").startswith("application/json"):
        body = resp.json()
        print(json.dumps(body, indent=2))
        return body
    print(resp.text)
    return resp.text


def _development_mode() -> None:
    """The demo runs in explicit development mode: the only mode that accepts development secrets."""
    os.environ.setdefault("HHPU_ENVIRONMENT", "development")


def cmd_run(args: argparse.Namespace) -> None:
    from hhpu.single import run

    _development_mode()
    run(host=args.host, port=args.port, data_dir=Path(args.data_dir), seed=not args.no_seed)


def cmd_token(args: argparse.Namespace) -> None:
    from gateway.tokens import mint_dev_token

    print(mint_dev_token(args.sub, args.roles, name=args.name, agency=args.agency, ttl_s=args.ttl))


def cmd_agency(args: argparse.Namespace) -> None:
    with _client(args) as c:
        agency = _show(
            c.post(
                "/api/v1/agencies",
                json={"name": args.name, "agency_type": args.type, "contact_name": args.contact},
            )
        )
        _show(c.post(f"/api/v1/agencies/{agency['id']}/keys", json={"label": "cli"}))


def cmd_import(args: argparse.Namespace) -> None:
    """Stream a records-system export to the ranking-service through the gateway, with a progress bar."""
    from tqdm import tqdm

    path = Path(args.file)
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as f, tqdm(total=size, unit="B", unit_scale=True, desc=path.name) as bar:
            while block := f.read(1 << 20):
                bar.update(len(block))
                yield block

    with _client(args) as c:
        _show(
            c.post(
                f"/api/v1/imports/{args.kind}",
                params={"filename": path.name},
                content=chunks(),
                headers={"Content-Type": "application/octet-stream"},
            )
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    """Upgrade the services' databases to the newest schema (before starting or upgrading them)."""
    from hhpu.services import migrate

    overrides: dict[str, Any] = {}
    if args.data_dir:  # single-process layout: one SQLite file per service in the data directory
        overrides = {"data_dir": args.data_dir, "database_url": ""}
    for name in args.service or list(SERVICES):
        print(f"{name}: database at revision {migrate(name, **overrides)}")


def cmd_seed(args: argparse.Namespace) -> None:
    from hhpu.single import seed_only

    _development_mode()
    seed_only(data_dir=Path(args.data_dir))


def cmd_rank(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"kind": args.kind}
    if args.model:
        body["model"] = args.model
    if args.as_of:
        body["as_of"] = args.as_of
    with _client(args) as c:
        run = _show(c.post("/api/v1/ranking-runs", json=body))
        if args.evaluate and args.kind != "dry":
            # Back-test: the run's score against what happened in the follow-up window after its as-of date.
            _show(
                c.post(
                    f"/api/v1/ranking-runs/{run['id']}/evaluations",
                    json={"follow_up_days": args.follow_up_days},
                )
            )


def cmd_report(args: argparse.Namespace) -> None:
    with _client(args) as c:
        fmt = "html" if args.html else "json"
        _show(
            c.get(
                "/api/v1/reports/suitability",
                params={"format": fmt},
                headers={"X-Justification": "fortnightly suitability report"},
            )
        )


def cmd_pack(args: argparse.Namespace) -> None:
    with _client(args) as c:
        _show(
            c.get(
                f"/api/v1/meetings/{args.meeting_id}/pack",
                headers={"X-Justification": "meeting pack for attendees"},
            )
        )


def cmd_audit(args: argparse.Namespace) -> None:
    from hhpu import protection as dp

    with _client(args) as c:
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

    with _client(args) as c:
        try:
            doc = dp.subject_access(c, args.person, args.why)
        except dp.DataProtectionError as exc:
            raise SystemExit(str(exc)) from exc
    if args.html:
        Path(args.html).write_text(dp.sar_html(doc), encoding="utf-8")
    print(json.dumps(doc, indent=2))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hhpu", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run the whole system in one process")
    r.add_argument("--host", default=os.environ.get("HHPU_HOST", "127.0.0.1"))
    r.add_argument("--port", type=int, default=int(os.environ.get("HHPU_PORT", "8000")))
    r.add_argument("--data-dir", default=os.environ.get("HHPU_DATA_DIR", ".run/demo"))
    r.add_argument("--no-seed", action="store_true", help="do not seed demo data on first start")
    r.set_defaults(fn=cmd_run)

    t = sub.add_parser("token", help="mint a development staff token")
    t.add_argument("--sub", default="dev-user")
    t.add_argument("--role", dest="roles", action="append", required=True)
    t.add_argument("--name")
    t.add_argument("--agency")
    t.add_argument("--ttl", type=int, default=3600)
    t.set_defaults(fn=cmd_token)

    def remote(sp: argparse.ArgumentParser, role: str) -> None:
        sp.add_argument("--url", default=DEFAULT_URL)
        sp.add_argument("--token", help="bearer token (default: HHPU_TOKEN or a development token)")
        sp.add_argument("--role", default=role, help="role of the development token used without --token")

    a = sub.add_parser("agency", help="partner agencies")
    asub = a.add_subparsers(dest="agency_cmd", required=True)
    ac = asub.add_parser("create", help="create an agency and print its API key once")
    ac.add_argument("name")
    ac.add_argument("type")
    ac.add_argument("--contact", default="Single point of contact")
    remote(ac, "administrator")
    ac.set_defaults(fn=cmd_agency)

    i = sub.add_parser("import", help="import offence records or people (CSV, NDJSON, Parquet)")
    i.add_argument("file")
    i.add_argument("--kind", default="offences", choices=["offences", "people"])
    remote(i, "analyst")
    i.set_defaults(fn=cmd_import)

    mg = sub.add_parser(
        "migrate",
        help="upgrade every service's database to the newest schema",
        description="Each service's database URL comes from its settings (REFERRAL_DATABASE_URL, "
        "RANKING_DATABASE_URL, CASE_DATABASE_URL, MEETING_DATABASE_URL); --data-dir migrates the "
        "single-process SQLite files instead.",
    )
    mg.add_argument(
        "--service", action="append", choices=list(SERVICES), help="only this service (repeatable)"
    )
    mg.add_argument("--data-dir", help="the single-process data directory (e.g. .run/demo)")
    mg.set_defaults(fn=cmd_migrate)

    sd = sub.add_parser("seed", help="seed the demo force into a data directory, then exit")
    sd.add_argument("--data-dir", default=os.environ.get("HHPU_DATA_DIR", ".run/demo"))
    sd.set_defaults(fn=cmd_seed)

    k = sub.add_parser("rank", help="start a ranking run")
    k.add_argument("--kind", default="production", choices=["production", "shadow", "dry"])
    k.add_argument("--model", help="catalogue model, name@version (a shadow run must name one)")
    k.add_argument("--as-of", help="score as known on this date (YYYY-MM-DD); default today")
    k.add_argument("--evaluate", action="store_true", help="back-test the run and show the evaluation")
    k.add_argument("--follow-up-days", type=int, default=365)
    remote(k, "analyst")
    k.set_defaults(fn=cmd_rank)

    rep = sub.add_parser("report", help="the fortnightly suitability report")
    rep.add_argument("name", choices=["suitability"])
    rep.add_argument("--html", action="store_true")
    remote(rep, "unit_supervisor")
    rep.set_defaults(fn=cmd_report)

    mp = sub.add_parser("meeting-pack", help="a meeting's printable pack")
    mp.add_argument("meeting_id")
    remote(mp, "meeting_chair")
    mp.set_defaults(fn=cmd_pack)

    from hhpu.dlt import add_parser as add_dlt

    add_dlt(sub)
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
    remote(au, "data_protection_officer")
    au.set_defaults(fn=cmd_audit)

    sa = sub.add_parser("sar", help="subject access export of one person from every service")
    sa.add_argument("person")
    sa.add_argument("--html", help="also write a readable HTML export to this file")
    sa.add_argument("--why", required=True, help="the justification recorded (e.g. the request's reference)")
    remote(sa, "data_protection_officer")
    sa.set_defaults(fn=cmd_sar)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
