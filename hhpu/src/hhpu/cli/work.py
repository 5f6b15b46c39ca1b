"""Commands for the unit's work: agencies and keys, ranking runs, reports, packs, my caseload."""

from __future__ import annotations

import argparse
from typing import Any

from hhpu_shared.documents import local_date

from hhpu.cli.common import add_remote, check, client, emit, progress, table, write_bytes

WHY = {"X-Justification": "hhpu command line"}


def cmd_agency_create(args: argparse.Namespace) -> None:
    with client(args) as c:
        body = {"name": args.name, "agency_type": args.type, "contact_name": args.contact}
        agency = check(c.post("/api/v1/agencies", json=body))
        key = check(c.post(f"/api/v1/agencies/{agency['id']}/keys", json={"label": "cli"}))
    emit(
        args,
        {"agency": agency, "key": key},
        f"agency {agency['name']} ({agency['id']})\nAPI key (shown once, keep it safe): {key['key']}",
    )


def cmd_agency_list(args: argparse.Namespace) -> None:
    with client(args) as c:
        page = check(c.get("/api/v1/agencies", params={"limit": args.limit, "offset": args.offset}))
    rows = [[a["id"], a["name"], a["agency_type"], a["contact_name"], a["active"]] for a in page["items"]]
    emit(args, page, table(["id", "name", "type", "contact", "active"], rows) + f"\n{page['total']} agencies")


def _key_rows(keys: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [k["key_id"], k["label"], k["scopes"], k["active"], k["created_at"][:10], k["revoked_at"]]
        for k in keys
    ]


KEY_HEADERS = ["key id", "label", "scopes", "active", "created", "revoked"]


def cmd_keys(args: argparse.Namespace) -> None:
    base = f"/api/v1/agencies/{args.agency_id}/keys"
    with client(args) as c:
        if args.keys_cmd == "list":
            page = check(c.get(base, params={"limit": 500}))
            emit(args, page, table(KEY_HEADERS, _key_rows(page["items"])) + f"\n{page['total']} keys")
        elif args.keys_cmd == "rotate":
            new = check(c.post(f"{base}/{args.key_id}/rotate"))
            emit(
                args,
                new,
                f"key {args.key_id} revoked; its replacement {new['key_id']} (shown once):\n{new['key']}",
            )
        else:
            old = check(c.post(f"{base}/{args.key_id}/revoke"))
            emit(args, old, f"key {old['key_id']} revoked at {old['revoked_at']}: it stops working at once")


def _run_lines(run: dict[str, Any]) -> list[str]:
    comp = run.get("comparison") or {}
    return [
        f"run {run['id']}  {run['kind']}  model {run['model']}  as of {run['as_of']}",
        f"  people scored {run['people_scored']:,}; top bracket {run['top_bracket_size']}; "
        f"candidates proposed for assessment {run['candidates_emitted']}",
        f"  provisional: {', '.join(run['provisional_reasons']) or 'no'}",
        f"  against the previous run: {len(comp.get('entrants', []))} entrants, "
        f"{len(comp.get('leavers', []))} leavers, {len(comp.get('big_movers', []))} big movers",
    ]


def cmd_rank(args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"kind": args.kind}
    for k in ("model", "as_of"):
        if getattr(args, k):
            body[k] = getattr(args, k)
    steps = ["ranking run"] + (["back-test"] if args.evaluate and args.kind != "dry" else [])
    out: dict[str, Any] = {}
    with client(args) as c, progress(args, total=len(steps), desc="ranking", unit="step") as bar:
        why = {"X-Justification": args.why}
        out["run"] = run = check(c.post("/api/v1/ranking-runs", json=body, headers=why))
        bar.update()
        if len(steps) > 1:
            ev = check(
                c.post(
                    f"/api/v1/ranking-runs/{run['id']}/evaluations",
                    json={"follow_up_days": args.follow_up_days},
                )
            )
            out["evaluation"] = ev
            bar.update()
    lines = (
        _run_lines(out["run"])
        if "id" in out["run"]
        else [f"dry run: {out['run'].get('people_scored')} scored"]
    )
    if "evaluation" in out:
        ev = out["evaluation"]
        lines.append(
            f"  back-test ({ev['follow_up_days']} days): Spearman rho {ev['spearman_harm']['rho']:.3f}, "
            f"AUC {ev['auc_high_harm']:.3f}, "
            f"top bracket's share of later harm {100 * ev['top_share_of_later_harm']:.1f}%"
        )
    emit(args, out, "\n".join(lines))


def _document(args: argparse.Namespace, path: str, params: dict[str, Any], headers: dict[str, str]) -> None:
    fmt = "pdf" if args.pdf else "html"
    with client(args) as c:
        data = check(c.get(path, params={**params, "format": fmt}, headers=headers))
    write_bytes(data if isinstance(data, bytes) else str(data).encode(), args.output)


def cmd_report(args: argparse.Namespace) -> None:
    if args.name == "evaluation":
        return _evaluation(args)
    why = {"X-Justification": "fortnightly suitability report"}
    if args.html or args.pdf:
        return _document(args, "/api/v1/reports/suitability", {}, why)
    with client(args) as c:
        rep = check(c.get("/api/v1/reports/suitability", params={"limit": 500}, headers=why))
    rows = [
        [g, r["person_label"], local_date(r["opened_at"]), r["urgency"], r["status"], len(r["triggers"])]
        for g, page in rep["groups"].items()
        for r in page["items"]
    ]
    cut = [g for g, page in rep["groups"].items() if page["total"] > len(page["items"])]
    more = f" (the first 500 of each source; all in --html or --pdf: {', '.join(cut)})" if cut else ""
    emit(
        args,
        rep,
        table(["source", "person", "opened", "urgency", "status", "triggers"], rows)
        + f"\n{rep['total']} people since {rep['since']}{more}",
    )
    return None


def _evaluation(args: argparse.Namespace) -> None:
    from hhpu.evaluation_report import fetch, render, summary_lines

    with client(args) as c, progress(args, total=3, desc="evaluation", unit="step") as bar:

        def step(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update()

        data = fetch(c, step)
    if args.html or args.pdf:
        html = render(data)
        if args.pdf:
            from hhpu_shared.documents import to_pdf

            return write_bytes(to_pdf(html), args.output)
        return write_bytes(html.encode(), args.output)
    emit(args, data, "\n".join(summary_lines(data)))
    return None


def cmd_pack(args: argparse.Namespace) -> None:
    params = {"recipient": args.recipient} if args.recipient else {}
    _document(
        args,
        f"/api/v1/meetings/{args.meeting_id}/pack",
        params,
        {"X-Justification": "meeting pack for attendees"},
    )


def cmd_caseload(args: argparse.Namespace) -> None:
    with client(args) as c:
        mine = check(c.get("/api/v1/managers/me/caseload", params={"limit": 500}, headers=WHY))
        actions = check(
            c.get("/api/v1/actions", params={"mine": "true", "status": "open", "limit": 500}, headers=WHY)
        )
    load = mine["load"]
    rows = [
        [
            r["name"],
            r["cohort"] + (f" L{r['mappa_level']}" if r["mappa_level"] else ""),
            r["risk_band"],
            r["next_review_on"],
            r["risk_assessment_due_on"],
            "; ".join(
                f"{w['kind'].replace('_', ' ')} {'OVERDUE' if w['overdue'] else 'due'} {w['due_on']}"
                for w in r["open_work"]
            ),
        ]
        for r in mine["cases"]["items"]
    ]
    act = [[a["description"], a["due_date"], a["status"]] for a in actions["items"]]
    s = mine["summary"]
    text = (
        f"{mine['manager']['name']}: {s['cases']} cases "
        f"({s['visor']} ViSOR, {s['very_high_risk']} very high risk); "
        f"load {load['points']} of {load['capacity_points']} points ({100 * (load['utilisation'] or 0):.0f}%"
        + (", OVER CAPACITY" if load["over_capacity"] else "")
        + (f", {load['ratio_to_team_median']}x the team median)" if load["ratio_to_team_median"] else ")")
        + "\n\n"
        + table(["person", "cohort", "risk", "next review", "risk assessment due", "due work"], rows)
        + "\n\nMy open meeting actions:\n"
        + (table(["action", "due", "status"], act) if act else "none")
    )
    emit(args, {"caseload": mine, "actions": actions}, text)


def add(sub: Any) -> None:
    a = sub.add_parser("agency", help="partner agencies and their API keys")
    asub = a.add_subparsers(dest="agency_cmd", required=True)
    ac = asub.add_parser("create", help="create an agency and print its API key once")
    ac.add_argument("name")
    ac.add_argument("type")
    ac.add_argument("--contact", default="Single point of contact")
    add_remote(ac, "administrator")
    ac.set_defaults(fn=cmd_agency_create)
    al = asub.add_parser("list", help="the partner agencies")
    al.add_argument("--limit", type=int, default=100)
    al.add_argument("--offset", type=int, default=0)
    add_remote(al, "administrator")
    al.set_defaults(fn=cmd_agency_list)
    ak = asub.add_parser("keys", help="an agency's API keys: list, rotate, revoke")
    ksub = ak.add_subparsers(dest="keys_cmd", required=True)
    for name, text in (
        ("list", "the keys, without secrets"),
        ("rotate", "revoke a key and issue its replacement"),
        ("revoke", "revoke a key at once"),
    ):
        kp = ksub.add_parser(name, help=text)
        kp.add_argument("agency_id")
        if name != "list":
            kp.add_argument("key_id")
        add_remote(kp, "administrator")
        kp.set_defaults(fn=cmd_keys)

    k = sub.add_parser("rank", help="start a ranking run and summarise it")
    k.add_argument("--kind", default="production", choices=["production", "shadow", "dry"])
    k.add_argument("--model", help="catalogue model, name@version (a shadow run must name one)")
    k.add_argument("--as-of", help="score as known on this date (YYYY-MM-DD); default today")
    k.add_argument("--evaluate", action="store_true", help="back-test the run and summarise it")
    k.add_argument("--follow-up-days", type=int, default=365)
    k.add_argument("--why", default="fortnightly harm ranking (hhpu rank)", help="recorded in the audit")
    add_remote(k, "analyst")
    k.set_defaults(fn=cmd_rank)

    rep = sub.add_parser("report", help="suitability (fortnightly) or evaluation (a year on) report")
    rep.add_argument("name", choices=["suitability", "evaluation"])
    rep.add_argument("--html", action="store_true", help="the printable document as HTML")
    rep.add_argument("--pdf", action="store_true", help="the printable document as PDF")
    rep.add_argument("-o", "--output", help="write the document to this file (default: standard output)")
    add_remote(rep, "unit_supervisor")
    rep.set_defaults(fn=cmd_report)

    mp = sub.add_parser("meeting-pack", help="a meeting's printable pack (HTML or --pdf)")
    mp.add_argument("meeting_id")
    mp.add_argument("--recipient", help="an agency id: the version holding only its share")
    mp.add_argument("--pdf", action="store_true")
    mp.add_argument("-o", "--output")
    add_remote(mp, "meeting_chair")
    mp.set_defaults(fn=cmd_pack)

    cl = sub.add_parser(
        "caseload", help="my caseload (the token's subject is my staff id) and my open actions"
    )
    add_remote(cl, "offender_manager")
    cl.set_defaults(fn=cmd_caseload)
