"""The fault suite's own logic (bench/reliability), without a cluster: counting, windows, settling,
the checks that fail a run, the fault plan, the load's names, the provenance and the cluster sweep."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "reliability"))

import checks  # type: ignore[import-not-found]  # noqa: E402
import provenance  # type: ignore[import-not-found]  # noqa: E402
import sweep  # type: ignore[import-not-found]  # noqa: E402
from effects import AWAITING, EFFECTS, by_window, settle, verdict  # type: ignore[import-not-found]  # noqa: E402
from load import referral_body  # type: ignore[import-not-found]  # noqa: E402
from run import plan  # type: ignore[import-not-found]  # noqa: E402


def effects_of(**per_effect: dict[str, int]) -> dict[str, Counter[str]]:
    out = {e: Counter(per_effect.get(e, {})) for e in EFFECTS}
    out[AWAITING] = Counter(per_effect.get(AWAITING, {}))
    return out


ALL_ONCE = {"r1": 1, "r2": 1, "r3": 1}


# -- effects -------------------------------------------------------------------------------------------
def test_verdict_counts_lost_and_duplicated_per_effect() -> None:
    acknowledged = {"p1": "r1", "p2": "r2", "p3": "r3"}
    fx = effects_of(
        referral=ALL_ONCE,
        status_under_assessment={"r1": 1, "r2": 2, "r3": 1},
        assessment_trigger={"r1": 1, "r3": 1},
        agenda_item={"r1": 1, "r3": 1, "stray": 1},
    )
    v = verdict(acknowledged, fx)
    assert v["referrals_acknowledged"] == 3
    assert v["assessment_trigger"]["lost"] == ["r2"] and v["agenda_item"]["lost_count"] == 1
    assert v["status_under_assessment"]["duplicated_count"] == 1
    assert v["agenda_item"]["unacknowledged_present"] == 1
    assert (v["lost_total"], v["duplicated_total"]) == (2, 1)


def test_a_referral_awaiting_match_review_owes_only_its_referral_row() -> None:
    fx = effects_of(referral=ALL_ONCE, **{AWAITING: {"r2": 1}})
    for e in EFFECTS[1:]:
        fx[e].update({"r1": 1, "r3": 1})
    v = verdict({"p1": "r1", "p2": "r2", "p3": "r3"}, fx)
    assert (v["lost_total"], v["awaiting_match_review"]) == (0, 1)
    fx[AWAITING].clear()
    assert verdict({"p1": "r1", "p2": "r2", "p3": "r3"}, fx)["lost_total"] == 3


def test_by_window_puts_each_referral_in_the_window_it_was_acknowledged_in() -> None:
    at = {"r1": 5.0, "r2": 15.0, "r3": 25.0}
    fx = effects_of(referral=ALL_ONCE, status_under_assessment={"r1": 1, "r2": 1, "r3": 2})
    fx["assessment_trigger"].update(ALL_ONCE)
    fx["agenda_item"].update({"r1": 1, "r3": 1})
    got = by_window(at, fx, [("before", 0.0, 10.0), ("f1", 10.0, 20.0), ("f2", 20.0, float("inf"))])
    assert got == {
        "before": {"referrals": 1, "lost": 0, "duplicated": 0},
        "f1": {"referrals": 1, "lost": 1, "duplicated": 0},
        "f2": {"referrals": 1, "lost": 0, "duplicated": 1},
    }


def test_settle_waits_while_the_backlog_drains_and_gives_up_without_progress() -> None:
    full = effects_of(**dict.fromkeys(EFFECTS, ALL_ONCE))
    stages = [effects_of(referral=ALL_ONCE), effects_of(referral=ALL_ONCE, status_under_assessment=ALL_ONCE)]
    calls = []

    def draining() -> dict[str, Counter[str]]:
        calls.append(1)
        return stages[len(calls) - 1] if len(calls) <= len(stages) else full

    got, _waited = settle(draining, {"r1", "r2", "r3"}, timeout_s=60, idle_s=30, every_s=0)
    assert got == full and len(calls) == 4  # two partial counts, the full one, one more read after

    stuck = effects_of(referral=ALL_ONCE)
    got, _waited = settle(lambda: stuck, {"r1", "r2", "r3"}, timeout_s=60, idle_s=0, every_s=0)
    assert verdict({"a": "r1", "b": "r2", "c": "r3"}, got)["lost_total"] == 9


# -- the checks that fail a run ------------------------------------------------------------------------
def good_report() -> dict[str, Any]:
    clean_verdict = {"lost_total": 0, "duplicated_total": 0, "referrals_acknowledged": 3}
    span = {"alert": "HHPUTargetDown", "on": "127.0.0.1:9001", "fired_s": 9.0, "resolved_s": 40.0}
    group = {"alert": "HHPUConsumerGroupDown", "on": "case-service", "fired_s": 16.0, "resolved_s": 44.0}
    fault = {
        "fault": "consumer SIGKILL: case-service",
        "ready": True,
        "recovery_s": {"case-service": 1.2},
        "expect_alerts": [
            {"alert": "HHPUTargetDown", "on": "127.0.0.1:9001"},
            {"alert": "HHPUConsumerGroupDown", "on": "case-service"},
        ],
        "alerts": [span, group],
    }
    return {
        "source": {"commit": "abc", "commit_at_end": "abc", "dirty": False, "dirty_at_end": False},
        "distributed": {
            "verdict": clean_verdict,
            "given_up": 0,
            "client_errors": {"503": 4},
            "faults": [fault],
            "dashboard_queries": [{"panel": "Lag", "expr": "x", "series": 2}],
            "audit_chains": {
                "case-service": {"ok": True, "checked": 9, "first_bad_id": None, "reason": None}
            },
        },
        "single": {
            "verdict": dict(clean_verdict),
            "given_up": 0,
            "client_errors": {"ConnectError": 9},
            "faults": [{"fault": "hhpu run SIGKILL", "recovery_s": {"first 201 after ready": 0.4}}],
        },
    }


def test_a_clean_run_passes() -> None:
    assert checks.failures(good_report()) == []


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda r: r["distributed"]["verdict"].update(lost_total=1), "distributed: 1 effects lost"),
        (
            lambda r: r["single"]["verdict"].update(duplicated_total=2),
            "single process: 2 effects applied twice",
        ),
        (lambda r: r["distributed"].update(given_up=1), "distributed: 1 referrals given up"),
        (lambda r: r["distributed"]["faults"][0].update(ready=False), "was not ready within its deadline"),
        (
            lambda r: r["distributed"]["faults"][0]["recovery_s"].update({"case-service": None}),
            "nothing flowed again (case-service)",
        ),
        (
            lambda r: r["single"]["faults"][0]["recovery_s"].update({"first 201 after ready": None}),
            "hhpu run SIGKILL: nothing flowed again",
        ),
        (
            lambda r: r["distributed"]["faults"][0]["alerts"].pop(1),
            "HHPUConsumerGroupDown on case-service did not fire",
        ),
        (
            lambda r: r["distributed"]["faults"][0]["alerts"][0].update(resolved_s=None),
            "HHPUTargetDown on 127.0.0.1:9001 fired but did not resolve",
        ),
        (
            lambda r: r["distributed"]["faults"][0]["alerts"][0].update(on="127.0.0.1:9999"),
            "HHPUTargetDown on 127.0.0.1:9001 did not fire",
        ),
        (
            lambda r: r["distributed"]["dashboard_queries"][0].update(series=0),
            "dashboard query without data: Lag",
        ),
        (
            lambda r: r["distributed"]["client_errors"].update({"503 without Retry-After": 3}),
            "distributed: 3 × 503 without Retry-After",
        ),
        (
            lambda r: r["distributed"]["audit_chains"]["case-service"].update(
                ok=False, first_bad_id=7, reason="an entry is not in the chain"
            ),
            "distributed: the audit chain of case-service is broken at 7: an entry is not in the chain",
        ),
        (lambda r: r["source"].update(dirty=True), "uncommitted changes"),
        (lambda r: r["source"].update(dirty_at_end=True), "uncommitted changes"),
        (lambda r: r["source"].update(commit_at_end="def"), "the tree moved during the run"),
        (
            lambda r: r["source"].update(code_outside_tree=["hhpu (/elsewhere)"]),
            "hhpu (/elsewhere) was imported",
        ),
    ],
)
def test_each_failure_fails_the_run(spoil: Any, expected: str) -> None:
    report = copy.deepcopy(good_report())
    spoil(report)
    got = checks.failures(report)
    assert len(got) == 1 and expected in got[0], got


def test_a_wildcard_expectation_takes_the_alert_on_any_target() -> None:
    fault = {
        "fault": "poison",
        "expect_alerts": [{"alert": "HHPUDeadLetteredEvents", "on": "*"}],
        "alerts": [],
    }
    assert checks.alert_failures(fault) == [
        "poison: HHPUDeadLetteredEvents on * did not fire during the fault"
    ]
    fault["alerts"] = [
        {"alert": "HHPUDeadLetteredEvents", "on": "referral-api", "fired_s": 3, "resolved_s": 50}
    ]
    assert checks.alert_failures(fault) == []


# -- the plan and the load -----------------------------------------------------------------------------
def test_the_plan_covers_every_process_and_can_be_narrowed() -> None:
    services = ["referral-api", "case-service"]
    every = plan(services)
    assert every[0] == ("broker", None) and every[-1] == ("poison", None)
    assert ("consumer", "case-service") in every and ("api", "referral-api") in every
    assert ("gateway", None) in every and ("postgres", None) in every
    assert plan(services, "consumer:case-service,api:referral-api,poison") == [
        ("consumer", "case-service"),
        ("api", "referral-api"),
        ("poison", None),
    ]
    assert plan(services, "api") == [("api", "referral-api"), ("api", "case-service")]


def test_generated_subjects_match_nobody_else_in_the_run() -> None:
    from referral_api.domain.matching import Grade, PersonRecord, grade_pair

    def person(i: int) -> PersonRecord:
        s = referral_body("R1", i)["subject"]
        return PersonRecord(
            person_ref=str(i),
            given_name=s["given_name"],
            family_name=s["family_name"],
            date_of_birth=date.fromisoformat(s["date_of_birth"]),
        )

    people = [person(i) for i in range(120)]
    graded = [grade_pair(a, b).grade for n, a in enumerate(people) for b in people[n + 1 :]]
    assert Grade.NONE in graded and set(graded) == {Grade.NONE}
    assert referral_body("R1", 7) == referral_body("R1", 7) != referral_body("R2", 7)


# -- provenance and the sweep --------------------------------------------------------------------------
def test_git_state_sees_a_dirty_tree(tmp_path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "one")
    commit, dirty = provenance.git_state(tmp_path)
    assert len(commit) == 40 and not dirty
    (tmp_path / "a.txt").write_text("2")
    assert provenance.git_state(tmp_path) == (commit, True)


def test_code_imported_from_outside_the_tree_is_named() -> None:
    assert provenance.code_outside(Path("/")) == []
    outside = provenance.code_outside(ROOT / "bench")  # no package lives there
    assert [o.split(" ")[0] for o in outside] == list(provenance.PACKAGES)
    assert provenance.code_outside(ROOT, ("no_such_package_here",)) == ["no_such_package_here (None)"]


LSCLUSTERS = """\
15  hhpu_rel12c 55443 down   postgres /var/lib/postgresql/15/hhpu_rel12c /var/log/x.log
15  hhpu_reliability 55433 online postgres /var/lib/postgresql/15/hhpu_reliability /var/log/y.log
15  hhpu_relold 55444 online postgres /var/lib/postgresql/15/hhpu_relold /var/log/z.log
15  hhpu_relbusy 55445 down postgres /var/lib/postgresql/15/hhpu_relbusy /var/log/w.log
15  main        5432  online postgres /var/lib/postgresql/15/main /var/log/m.log
"""


def test_the_sweep_drops_orphaned_reliability_clusters_only() -> None:
    clusters = sweep.parse_clusters(LSCLUSTERS)
    assert [c.name for c in clusters][-1] == "main" and clusters[0].port == 55443 and not clusters[0].online
    owners = {"hhpu_reliability": 100, "hhpu_relold": 200, "hhpu_relbusy": 100}  # 100 alive, 200 dead
    stale = sweep.stale(clusters, lambda c: owners.get(c.name), lambda pid: pid == 100)
    # down without an owner; up with a dead owner. Not: up with a live owner, down with a live owner
    # (a run restarting its PostgreSQL), main.
    assert [c.name for c in stale] == ["hhpu_rel12c", "hhpu_relold"]


def test_a_cluster_is_claimed_in_its_configuration_directory(tmp_path: Path) -> None:
    (tmp_path / "15" / "hhpu_relx").mkdir(parents=True)
    sweep.claim("hhpu_relx", 4242, conf=tmp_path)
    c = sweep.PgCluster("15", "hhpu_relx", 1, False)
    assert sweep.owner_of(c, conf=tmp_path) == 4242
    assert sweep.owner_of(sweep.PgCluster("15", "hhpu_rely", 1, False), conf=tmp_path) is None
