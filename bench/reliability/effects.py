"""Counting, per referral, the effects that must exist exactly once.

For every referral the load acknowledged: the referral row (referral-api), its move to
under_assessment in the status history (referral-api), its trigger on a suitability assessment
(case-service) and that assessment's item on a meeting agenda (meeting-service). None missing is
"nothing lost"; none twice is "nothing applied twice".

A referral whose subject possibly matches a known person (``match_grade`` possible or probable)
waits, by design, for a reviewer before its assessment: only its referral row is expected. The
load makes each subject a different person, but generated names can still sound alike; such
referrals are counted apart (``awaiting_match_review``), not as lost.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text

EFFECTS = ("referral", "status_under_assessment", "assessment_trigger", "agenda_item")
AWAITING = "_awaiting_match_review"  # not an effect: the referrals the downstream effects wait for


def expected(effect: str, ids: set[str] | list[str], effects: dict[str, Counter[str]]) -> list[str]:
    """The referrals among `ids` that must have `effect`."""
    waiting = effects.get(AWAITING, Counter())
    return [i for i in ids if effect == "referral" or i not in waiting]


def _rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        eng.dispose()


def count_effects(dbs: dict[str, str], run: str) -> dict[str, Counter[str]]:
    """effect -> Counter(referral id -> how many times it exists), for the referrals of `run`."""
    like = {"p": f"{run}-%"}
    referrals = _rows(
        dbs["referral-api"], "SELECT id FROM ref_referral WHERE partner_reference LIKE :p", **like
    )
    ids = {r[0] for r in referrals}
    out: dict[str, Counter[str]] = {e: Counter() for e in EFFECTS}
    out["referral"].update(r[0] for r in referrals)
    out[AWAITING] = Counter(
        r[0]
        for r in _rows(
            dbs["referral-api"],
            "SELECT id FROM ref_referral WHERE partner_reference LIKE :p AND status = 'screened'"
            " AND match_grade IN ('possible', 'probable')",
            **like,
        )
    )
    out["status_under_assessment"].update(
        r[0]
        for r in _rows(
            dbs["referral-api"],
            "SELECT referral_id FROM ref_status_history WHERE to_status = 'under_assessment'",
        )
        if r[0] in ids
    )
    triggers = [
        r
        for r in _rows(
            dbs["case-service"],
            "SELECT ref, assessment_id FROM case_assessment_trigger WHERE source = 'referral'",
        )
        if r[0] in ids
    ]
    out["assessment_trigger"].update(r[0] for r in triggers)
    by_assessment = {a: ref for ref, a in triggers}
    items = _rows(
        dbs["meeting-service"], "SELECT assessment_id FROM mtg_agenda_item WHERE assessment_id IS NOT NULL"
    )
    out["agenda_item"].update(by_assessment[a] for (a,) in items if a in by_assessment)
    return out


def verdict(acknowledged: dict[str, str], effects: dict[str, Counter[str]]) -> dict[str, Any]:
    ids = set(acknowledged.values())
    result: dict[str, Any] = {
        "referrals_acknowledged": len(ids),
        "awaiting_match_review": sum(1 for i in ids if i in effects.get(AWAITING, Counter())),
    }
    for e in EFFECTS:
        counts, want = effects[e], expected(e, ids, effects)
        result[e] = {
            "lost": sorted(i for i in want if counts.get(i, 0) == 0)[:20],
            "lost_count": sum(1 for i in want if counts.get(i, 0) == 0),
            "duplicated_count": sum(1 for i in ids if counts.get(i, 0) > 1),
            "unacknowledged_present": sum(1 for i in counts if i not in ids),
        }
    result["lost_total"] = sum(result[e]["lost_count"] for e in EFFECTS)
    result["duplicated_total"] = sum(result[e]["duplicated_count"] for e in EFFECTS)
    return result


def settle(
    count: Callable[[], dict[str, Counter[str]]],
    ids: set[str],
    timeout_s: float,
    idle_s: float = 90,
    every_s: float = 2.0,
) -> tuple[dict[str, Counter[str]], float]:
    """Count every `every_s` until every acknowledged referral has every effect; give up after
    `idle_s` without progress or `timeout_s` in all. A backlog still draining (consumers slower than
    the load on a busy machine) is late, not lost: it is waited for. Returns the last counts (read
    once more after the end, so a late duplicate shows) and the seconds waited."""
    start = time.monotonic()
    last_missing, last_progress = -1, start
    while True:
        effects = count()
        missing = sum(1 for e in EFFECTS for i in expected(e, ids, effects) if effects[e].get(i, 0) == 0)
        now = time.monotonic()
        if missing != last_missing:
            last_missing, last_progress = missing, now
        if not missing or now - last_progress > idle_s or now - start > timeout_s:
            time.sleep(every_s)  # a late duplicate shows up now
            return count(), round(now - start, 1)
        time.sleep(every_s)


def effect_total(dbs: dict[str, str], table_sql: str, service: str) -> int:
    return int(_rows(dbs[service], table_sql)[0][0])


def by_window(
    acknowledged_at: dict[str, float],
    effects: dict[str, Counter[str]],
    windows: list[tuple[str, float, float]],
) -> dict[str, dict[str, int]]:
    """Lost and duplicated effects of the referrals acknowledged in each window (a fault's, from
    its start to the next fault's): which fault a missing or doubled effect belongs to."""
    out: dict[str, dict[str, int]] = {}
    for name, start, end in windows:
        ids = [i for i, t in acknowledged_at.items() if start <= t < end]
        out[name] = {
            "referrals": len(ids),
            "lost": sum(1 for e in EFFECTS for i in expected(e, ids, effects) if effects[e].get(i, 0) == 0),
            "duplicated": sum(1 for e in EFFECTS for i in ids if effects[e].get(i, 0) > 1),
        }
    return out


def audit_chains(dbs: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each service database's audit chain, recomputed once the faults are over: SIGKILLs mid-commit,
    a broker and a database restart must leave no entry unlinked, no link twice and no hash wrong."""
    from hhpu_shared.audit import verify_chain
    from sqlmodel import Session

    out = {}
    for name, url in sorted(dbs.items()):
        eng = create_engine(url)
        try:
            with Session(eng) as s:
                r = verify_chain(s)
            out[name] = {"ok": r.ok, "checked": r.checked, "first_bad_id": r.first_bad_id, "reason": r.reason}
        finally:
            eng.dispose()
    return out
