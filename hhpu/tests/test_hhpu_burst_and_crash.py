"""Single-process mode (`hhpu run`, what `make run` starts) under a burst and after a crash.

- The burst that once broke it (250 referrals, 30 at a time): every answer is a 201 or a clear
  refusal with Retry-After (503; or 429 on a machine fast enough to outrun the key's rate limit),
  and the system serves normally within seconds afterwards; every referral that got its 201
  reaches `under_assessment` (nothing accepted was lost on the way).
- A SIGKILL right after the last of 20 referrals got its 201: started again on the same data
  directory, every referral reaches `under_assessment` (the durable embedded log and the outboxes
  carry what was in flight).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from hhpu.testing import SingleProcessRun, create_agency, db_scalar, eventually
from referral_api.schemas import REFERRAL_EXAMPLE

BURST, CONCURRENCY = 250, 30
RECOVERY_S = 10.0  # "within seconds": serving normally again after the burst
FLOW_S = 240.0  # every accepted referral under assessment (bounded; a busy two-core machine)


def _name(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:9]).capitalize()


def referral(tag: str, i: int) -> dict[str, Any]:
    """A referral of a person nobody knows yet (unlike names and birth dates: no match to review)."""
    body = copy.deepcopy(REFERRAL_EXAMPLE)
    body["partner_reference"] = f"{tag}-{i:04d}"
    body["subject"].update(
        given_name=_name(f"{tag}-given-{i}"),
        middle_names=None,
        family_name=_name(f"{tag}-family-{i}"),
        date_of_birth=(date(1950, 1, 1) + timedelta(days=37 * i + len(tag))).isoformat(),
    )
    return body


def post(client: httpx.Client, key: str, body: dict[str, Any]) -> httpx.Response:
    idem = {"Idempotency-Key": body["partner_reference"]}
    return client.post("/api/v1/referrals", json=body, headers={"X-API-Key": key, **idem})


def statuses(url: str, key: str, ids: list[str], known: dict[str, str]) -> Counter[str]:
    """Each referral's status, as a partner polls: a 429 waits out its Retry-After and asks again.

    The gateway limits a key to 50 requests/s (burst 100), so asking for 250 statuses at once is
    refused part-way. A referral already `under_assessment` (in `known`) is not asked again.
    """
    with httpx.Client(base_url=url, timeout=30, headers={"X-API-Key": key}) as c:
        for i in ids:
            if known.get(i) == "under_assessment":
                continue
            for _ in range(20):  # bounded: 20 refusals in a row for one id fail the test below
                r = c.get(f"/api/v1/referrals/{i}/status")
                if r.status_code != 429:
                    break
                time.sleep(float(r.headers.get("retry-after", "1")))
            known[i] = str(r.json()["status"]) if r.status_code == 200 else str(r.status_code)
    return Counter(known[i] for i in ids)


def all_under_assessment(url: str, key: str, ids: list[str], timeout_s: float) -> None:
    last: Counter[str] = Counter()
    known: dict[str, str] = {}

    def done() -> bool:
        nonlocal last
        last = statuses(url, key, ids, known)
        return last == Counter({"under_assessment": len(ids)})

    try:
        eventually(done, timeout_s=timeout_s, what="every referral under assessment")
    except AssertionError as exc:
        raise AssertionError(f"statuses after {timeout_s} s: {dict(last)}") from exc


async def burst(url: str, key: str) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def one(i: int) -> tuple[int, dict[str, Any], dict[str, str]]:
            body = referral("burst", i)
            async with gate:
                r = await client.post(
                    "/api/v1/referrals",
                    json=body,
                    headers={"X-API-Key": key, "Idempotency-Key": body["partner_reference"]},
                )
            return r.status_code, r.json(), dict(r.headers)

        return await asyncio.gather(*(one(i) for i in range(BURST)))


def test_burst_is_answered_with_201s_and_clear_503s_and_the_system_recovers(tmp_path: Path) -> None:
    run = SingleProcessRun(tmp_path / "burst").start()
    try:
        with httpx.Client(base_url=run.url, timeout=30) as c:
            _, key = create_agency(c, "Burst Drug and Alcohol Service", "drug_and_alcohol_service")

        started = time.monotonic()
        answers = asyncio.run(burst(run.url, key))
        took = time.monotonic() - started
        codes = Counter(status for status, _, _ in answers)
        # 429 when the burst outruns the key's rate limit (50/s, burst 100): a machine that serves the
        # 250 in under about 3 s meets the limiter before any overload.
        assert set(codes) <= {201, 429, 503}, f"{dict(codes)} in {took:.1f} s\n{run.log_tail()}"
        assert codes[201] > 0, dict(codes)
        refusals = {503: {"overloaded", "database_unavailable", "auth_unavailable"}, 429: {"rate_limited"}}
        for status, body, headers in answers:
            if status in refusals:  # a clear refusal: problem+json with a code, and when to come back
                assert headers["content-type"].startswith("application/problem+json"), headers
                assert body["code"] in refusals[status], body
                assert int(headers["retry-after"]) >= 1, headers

        # Serving normally again within seconds: ready, and a new referral is taken at once.
        after = time.monotonic()
        with httpx.Client(base_url=run.url, timeout=30) as c:

            def serving() -> bool:
                return c.get("/readyz").status_code == 200 and post(
                    c, key, referral("after", len(answers))
                ).status_code in (200, 201)

            eventually(serving, timeout_s=RECOVERY_S, what="the system to serve normally after the burst")
        assert time.monotonic() - after < RECOVERY_S

        accepted = [body["id"] for status, body, _ in answers if status == 201]
        assert len(set(accepted)) == len(accepted) == codes[201]
        all_under_assessment(run.url, key, accepted, FLOW_S)
        assert "IllegalStateChangeError" not in run.log_tail(10**7)
    finally:
        run.stop()


def test_a_crash_right_after_the_last_201_loses_nothing(tmp_path: Path) -> None:
    run = SingleProcessRun(tmp_path / "crash").start()
    try:
        with httpx.Client(base_url=run.url, timeout=30) as c:
            _, key = create_agency(c, "Crash Drug and Alcohol Service", "drug_and_alcohol_service")
            ids = []
            for i in range(20):
                r = post(c, key, referral("crash", i))
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
        run.kill()  # SIGKILL right after the last 201: outboxes, log and offsets as they were
        done = db_scalar(
            f"sqlite:///{run.data_dir / 'referral-api.db'}",
            "SELECT count(*) FROM ref_referral WHERE status = 'under_assessment'",
        )
        assert done < len(ids), "nothing was in flight when the process died: the test proves nothing"

        run.start()
        with httpx.Client(base_url=run.url, timeout=30, headers={"X-API-Key": key}) as c:
            assert all(c.get(f"/api/v1/referrals/{i}").status_code == 200 for i in ids)
        all_under_assessment(run.url, key, ids, 120)
    finally:
        run.stop()
