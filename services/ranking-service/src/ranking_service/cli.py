"""Command line: import FILE, run, evaluate RUN, reproduce RUN, due, synth DIR."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, get_args

from hhpu_shared.errors import DomainError
from hhpu_shared.events.contracts.ranking import RunKind

from ranking_service.app import build_runtime
from ranking_service.service import evaluation
from ranking_service.service.imports import import_file
from ranking_service.service.runs import DryRun, RunRequest, execute_run, reproduce
from ranking_service.service.schedule import run_due
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import generate, write_force


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ranking_service.cli", description="HHPU ranking-service tools")
    sub = p.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="import a CSV, NDJSON or Parquet export")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", choices=["offences", "people"], default="offences")
    imp.add_argument("--format", choices=["csv", "ndjson", "parquet"])
    imp.add_argument("--no-progress", action="store_true")
    run = sub.add_parser("run", help="run a ranking now")
    run.add_argument("--kind", choices=get_args(RunKind), default="production")
    run.add_argument("--model")
    run.add_argument("--as-of", type=date.fromisoformat)
    run.add_argument("--top-n", type=int)
    run.add_argument("--top-share", type=float)
    ev = sub.add_parser("evaluate", help="back-test a stored run")
    ev.add_argument("run_id")
    ev.add_argument("--follow-up-days", type=int, default=365)
    ev.add_argument("--replicates", type=int, default=1000)
    ev.add_argument("--seed", type=int, default=20190201)
    ev.add_argument("--png", type=Path, help="also write the decile chart here")
    rep = sub.add_parser("reproduce", help="recompute a stored run and compare")
    rep.add_argument("run_id")
    sub.add_parser("due", help="run what the fortnightly schedule owes now")
    syn = sub.add_parser("synth", help="write a synthetic force (people.parquet, offences.parquet)")
    syn.add_argument("directory", type=Path)
    syn.add_argument("--people", type=int, default=5000)
    syn.add_argument("--offences", type=int, default=40000)
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--scenario", action="store_true", help="include Dean Marsh (journey 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "synth":  # files only: no database, so no settings (and no secrets) needed
        force = generate(args.people, args.offences, seed=args.seed, include_scenario_people=args.scenario)
        print(json.dumps([str(x) for x in write_force(force, args.directory)]))
        return 0
    settings = RankingSettings()
    runtime = build_runtime(settings, run_consumer=False)
    out: Any
    try:
        if args.cmd == "import":
            with runtime.unit_of_work() as uow:
                report = import_file(
                    uow, settings, args.file, args.kind, fmt=args.format, progress=not args.no_progress
                )
            out = report.as_dict()
            out["rejections"] = out["rejections"][:20]
        elif args.cmd == "run":
            with runtime.unit_of_work() as uow:
                req = RunRequest(
                    kind=args.kind,
                    model=args.model,
                    as_of=args.as_of,
                    top_n=args.top_n,
                    top_share=args.top_share,
                )
                res = execute_run(uow, settings, req)
                if isinstance(res, DryRun):
                    c = res.computation
                    out = {"kind": "dry", "people_scored": len(c.people), "top": c.people[: c.top_size]}
                else:
                    out = {
                        "run_id": res.id,
                        "people_scored": res.people_scored,
                        "top": res.top_bracket_size,
                        "provisional": res.provisional,
                        "fingerprint": res.fingerprint,
                    }
        elif args.cmd == "evaluate":
            with runtime.unit_of_work() as uow:
                evaluation.evaluate_run(
                    uow, settings, args.run_id, args.follow_up_days, args.replicates, args.seed
                )
            with runtime.unit_of_work() as uow:
                out = evaluation.latest_evaluation(uow, args.run_id)
            if args.png:
                args.png.write_bytes(evaluation.decile_chart(out))
            out.pop("deciles", None)
        elif args.cmd == "reproduce":
            with runtime.unit_of_work() as uow:
                out = reproduce(uow, settings, args.run_id)
        else:
            with runtime.unit_of_work() as uow:
                out = {"created": run_due(uow, settings, datetime.now(UTC))}
    except DomainError as exc:
        print(
            json.dumps({"error": exc.code, "detail": exc.detail, **exc.extra}, default=str), file=sys.stderr
        )
        return 2
    print(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
