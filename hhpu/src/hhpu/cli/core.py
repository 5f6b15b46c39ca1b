"""Local commands: run, seed, migrate, token, open; and the import with its progress bar."""

from __future__ import annotations

import argparse
import os
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hhpu.cli.common import add_remote, check, client, default_url, emit, progress
from hhpu.services import SERVICES


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


def cmd_open(args: argparse.Namespace) -> None:
    """Print the docs addresses; with --browser, open the interactive docs too."""
    url = args.url.rstrip("/")
    print(
        f"Interactive API docs: {url}/docs\nReference (ReDoc):    {url}/redoc\nLanding page:         {url}/"
    )
    if args.browser:
        webbrowser.open(f"{url}/docs")


def cmd_import(args: argparse.Namespace) -> None:
    """Stream a records-system export to the ranking-service through the gateway, with a progress bar."""
    path = Path(args.file)
    size = path.stat().st_size

    def chunks() -> Iterator[bytes]:
        with (
            path.open("rb") as f,
            progress(args, total=size, unit="B", unit_scale=True, desc=path.name) as bar,
        ):
            while block := f.read(1 << 20):
                bar.update(len(block))
                yield block

    with client(args) as c:
        rep = check(
            c.post(
                f"/api/v1/imports/{args.kind}",
                params={"filename": path.name},
                content=chunks(),
                headers={"Content-Type": "application/octet-stream", "X-Justification": args.why},
            )
        )
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in rep.items() if not isinstance(v, dict | list)]
    emit(args, rep, "\n".join(lines))


def add(sub: Any) -> None:
    r = sub.add_parser("run", help="run the whole system in one process (what `make run` does)")
    r.add_argument("--host", default=os.environ.get("HHPU_HOST", "127.0.0.1"))
    r.add_argument("--port", type=int, default=int(os.environ.get("HHPU_PORT", "8000")), help="HHPU_PORT")
    r.add_argument("--data-dir", default=os.environ.get("HHPU_DATA_DIR", ".run/demo"))
    r.add_argument("--no-seed", action="store_true", help="do not seed demo data on first start")
    r.set_defaults(fn=cmd_run)

    t = sub.add_parser("token", help="mint a development staff token")
    t.add_argument("--sub", default="dev-user", help="the subject (an offender manager: her staff id)")
    t.add_argument("--role", dest="roles", action="append", required=True)
    t.add_argument("--name")
    t.add_argument("--agency")
    t.add_argument("--ttl", type=int, default=3600)
    t.set_defaults(fn=cmd_token)

    o = sub.add_parser("open", help="print the docs addresses (--browser opens /docs)")
    o.add_argument("--url", default=default_url())
    o.add_argument("--browser", action="store_true")
    o.set_defaults(fn=cmd_open)

    i = sub.add_parser("import", help="import offence records or people (CSV, NDJSON, Parquet)")
    i.add_argument("file")
    i.add_argument("--kind", default="offences", choices=["offences", "people"])
    i.add_argument(
        "--why",
        default="records-system export for the harm ranking (hhpu import)",
        help="recorded in the audit",
    )
    add_remote(i, "analyst")
    i.set_defaults(fn=cmd_import)

    mg = sub.add_parser(
        "migrate",
        help="upgrade every service's database to the newest schema",
        description="Each service's database URL comes from its settings (REFERRAL_DATABASE_URL, "
        "RANKING_DATABASE_URL, CASE_DATABASE_URL, MEETING_DATABASE_URL); --data-dir migrates the "
        "single-process SQLite files instead.",
    )
    mg.add_argument("--service", action="append", choices=list(SERVICES), help="only this service")
    mg.add_argument("--data-dir", help="the single-process data directory (e.g. .run/demo)")
    mg.set_defaults(fn=cmd_migrate)

    sd = sub.add_parser("seed", help="seed the demo force into a data directory, then exit")
    sd.add_argument("--data-dir", default=os.environ.get("HHPU_DATA_DIR", ".run/demo"))
    sd.set_defaults(fn=cmd_seed)
