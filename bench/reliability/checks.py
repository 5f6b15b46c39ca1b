"""What makes a `make reliability` run fail, read from its report (bench/results/reliability.json).

Not only lost, duplicated or given-up referrals: also a restarted process that was not ready within
its deadline, a fault after which nothing flowed again (no new effect, no 200 on the killed service's
own route), a fault's own alert that did not fire in its window or did not resolve after it, a
dashboard query without data, a 503 without Retry-After, and a run from a dirty tree or from code
outside the tree it reports on. Each failure is one line saying what and where.
"""

from __future__ import annotations

from typing import Any

NO_RETRY_AFTER = "503 without Retry-After"


def _alert_matches(span: dict[str, Any], want: dict[str, str]) -> bool:
    return span["alert"] == want["alert"] and want["on"] in ("*", span.get("on"))


def alert_failures(fault: dict[str, Any]) -> list[str]:
    """Each alert the fault expects must have begun firing in its window and stopped firing later."""
    out = []
    for want in fault.get("expect_alerts", []):
        spans = [a for a in fault.get("alerts", []) if _alert_matches(a, want)]
        what = f"{fault['fault']}: {want['alert']} on {want['on']}"
        if not spans:
            out.append(f"{what} did not fire during the fault")
        elif all(a["resolved_s"] is None for a in spans):
            out.append(f"{what} fired but did not resolve after the fault")
    return out


def fault_failures(fault: dict[str, Any]) -> list[str]:
    out = []
    if not fault.get("ready", True):
        out.append(f"{fault['fault']}: the restarted process was not ready within its deadline")
    for what, seconds in (fault.get("recovery_s") or {}).items():
        if seconds is None:
            out.append(f"{fault['fault']}: nothing flowed again ({what})")
    return out + alert_failures(fault)


def _counts(mode: str, m: dict[str, Any]) -> list[str]:
    v = m["verdict"]
    out = []
    if v["lost_total"]:
        out.append(f"{mode}: {v['lost_total']} effects lost")
    if v["duplicated_total"]:
        out.append(f"{mode}: {v['duplicated_total']} effects applied twice")
    if m.get("given_up"):
        out.append(f"{mode}: {m['given_up']} referrals given up by their client")
    for service, chain in (m.get("audit_chains") or {}).items():
        if not chain["ok"]:
            at = chain["first_bad_id"]
            out.append(f"{mode}: the audit chain of {service} is broken at {at}: {chain['reason']}")
    no_retry = sum(n for kind, n in (m.get("client_errors") or {}).items() if NO_RETRY_AFTER in kind)
    if no_retry:
        out.append(f"{mode}: {no_retry} × 503 without Retry-After")
    return out


def failures(report: dict[str, Any]) -> list[str]:
    """Everything that makes the run a failure (empty: it passed)."""
    out: list[str] = []
    source = report.get("source") or {}
    if source.get("dirty") or source.get("dirty_at_end"):
        out.append("the run was made from a tree with uncommitted changes: its figures belong to no commit")
    if source.get("commit") != source.get("commit_at_end"):
        out.append(f"the tree moved during the run ({source.get('commit')} -> {source.get('commit_at_end')})")
    for outside in source.get("code_outside_tree", []):
        out.append(f"{outside} was imported from outside the tree the run reports on")
    if "distributed" in report:
        d = report["distributed"]
        out += _counts("distributed", d)
        for f in d["faults"]:
            out += fault_failures(f)
        for q in d.get("dashboard_queries", []):
            if not q["series"]:
                out.append(f"dashboard query without data: {q['panel']}: {q['expr']}")
    if "single" in report:
        s = report["single"]
        out += _counts("single process", s)
        for f in s["faults"]:
            out += fault_failures(f)
    return out
