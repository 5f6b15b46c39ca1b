"""`hhpu reviews` (the MoPI review queue, as a table or --json) and `hhpu review PERSON retain|dispose`:
what each sends to the gateway, what it prints, and a refusal printed readably with exit status 1."""

from __future__ import annotations

import json

import httpx
import pytest
from hhpu.cli import main
from hhpu.cli import protection as cli

ITEM = {
    "person_id": "p1",
    "records_id": "R-1",
    "name": "Bea Dunn",
    "date_of_birth": "1975-05-05",
    "mopi_group": 2,
    "group_name": "other sexual, violent or serious matters",
    "basis": ["concern: domestic abuse", "concern: stalking"],
    "review_due_on": "2026-10-01",
    "overdue_days": 59,
    "last_reviewed_on": None,
    "restricted": True,
}
REVIEW = {
    "id": "rv1",
    "person_id": "p1",
    "decision": "retain",
    "reason_code": "serious_harm_capacity",
    "reason": "Breached a DVPN in 2025",
    "mopi_group": 2,
    "previous_review_on": "2026-10-01",
    "next_review_on": "2036-11-29",
    "decided_by": "user:dpo",
    "decision_id": None,
    "at": "2026-11-29T10:00:00+00:00",
}


def _fake(monkeypatch: pytest.MonkeyPatch, seen: list[httpx.Request]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/v1/retention-reviews":
            return httpx.Response(200, json={"items": [ITEM], "total": 7, "limit": 50, "offset": 0})
        if request.url.path == "/api/v1/people/gone/retention-review":
            problem = {
                "title": "Conflict",
                "detail": "This person's data has already been erased.",
                "status": 409,
            }
            return httpx.Response(409, json=problem, headers={"content-type": "application/problem+json"})
        body = json.loads(request.content)
        if body["decision"] == "retain":
            return httpx.Response(200, json={"review": REVIEW, "status": ITEM, "erasure": None})
        erasure = {"person_id": "p1", "decision_id": "d-9", "references": ["p1", "R-1"], "removed": {}}
        review = {**REVIEW, "decision": "dispose", "next_review_on": None, "decision_id": "d-9"}
        return httpx.Response(200, json={"review": review, "status": ITEM, "erasure": erasure})

    monkeypatch.setattr(
        cli, "client", lambda args: httpx.Client(base_url="http://t", transport=httpx.MockTransport(handler))
    )


def test_reviews_prints_the_queue_as_a_table_or_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[httpx.Request] = []
    _fake(monkeypatch, seen)
    main(
        [
            "reviews",
            "--why",
            "monthly MoPI review",
            "--group",
            "2",
            "--group",
            "3",
            "--due-before",
            "2026-12-31",
        ]
    )
    out = capsys.readouterr().out
    assert "person" in out and "days overdue" in out and "Bea Dunn" in out and "2026-10-01" in out
    assert "concern: domestic abuse; concern: stalking" in out and "1 of 7 due for MoPI review" in out
    sent = seen[-1]
    assert sent.headers["X-Justification"] == "monthly MoPI review"
    assert sent.url.params.get_list("group") == ["2", "3"] and sent.url.params["due_before"] == "2026-12-31"
    main(["reviews", "--why", "monthly MoPI review", "--json"])
    assert json.loads(capsys.readouterr().out)["items"][0]["person_id"] == "p1"
    assert "group" not in seen[-1].url.params


def test_review_records_retain_and_dispose(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[httpx.Request] = []
    _fake(monkeypatch, seen)
    argv = ["review", "p1", "retain", "--reason-code", "serious_harm_capacity", "--reason", "Breached a DVPN"]
    main([*argv, "--why", "MoPI review 2026/11"])
    out = capsys.readouterr().out
    assert "retain recorded for p1 by user:dpo (group 2)" in out and "next review 2036-11-29" in out
    assert (seen[-1].method, seen[-1].url.path) == ("POST", "/api/v1/people/p1/retention-review")
    assert json.loads(seen[-1].content) == {
        "decision": "retain",
        "reason_code": "serious_harm_capacity",
        "reason": "Breached a DVPN",
    }
    assert seen[-1].headers["X-Justification"] == "MoPI review 2026/11"

    main(
        ["review", "p1", "dispose", "--reason-code", "no_policing_purpose", "--reason", "Clear", "--why", "w"]
    )
    out = capsys.readouterr().out
    assert "disposed of: erasure decision d-9 sent to every service (references: p1, R-1)" in out

    main(
        [
            "review",
            "p1",
            "dispose",
            "--reason-code",
            "no_policing_purpose",
            "--reason",
            "Clear",
            "--why",
            "w",
            "--json",
        ]
    )
    assert json.loads(capsys.readouterr().out)["erasure"]["decision_id"] == "d-9"


def test_review_refusals(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[httpx.Request] = []
    _fake(monkeypatch, seen)
    with pytest.raises(SystemExit) as done:
        main(
            [
                "review",
                "gone",
                "retain",
                "--reason-code",
                "breach_of_trust",
                "--reason",
                "x y z",
                "--why",
                "w",
            ]
        )
    assert done.value.code == 1
    assert "409 Conflict: This person's data has already been erased." in capsys.readouterr().err
    sent = len(seen)
    with pytest.raises(SystemExit, match="dispose decision takes --reason-code one of: no_policing_purpose"):
        main(
            ["review", "p1", "dispose", "--reason-code", "breach_of_trust", "--reason", "x y z", "--why", "w"]
        )
    assert len(seen) == sent  # refused before anything was sent
    with pytest.raises(SystemExit) as bad:
        main(["review", "p1", "archive", "--reason-code", "x", "--reason", "y", "--why", "w"])
    assert bad.value.code == 2  # argparse: not a decision
