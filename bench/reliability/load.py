"""The load of the fault suite: partner referrals through the gateway from a bounded pool of clients.

Every referral has its own person (so its own assessment and agenda item) and its own
Idempotency-Key. The names are hashed from the run and the referral's number, and every referral of
a run has a different date of birth, so no subject possibly matches another (which would park the
referral in match review, by design, before any assessment). A client retries a failed POST with
the same key until it gets its 201 (or a deadline passes), honouring Retry-After: what a
well-behaved partner system does. Every failed attempt is recorded as a client error, with its kind
and time.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from referral_api.schemas import REFERRAL_EXAMPLE


def _name(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:9]).capitalize()


def referral_body(run: str, i: int) -> dict[str, Any]:
    """A referral of a person nobody knows yet (as hhpu/tests/test_hhpu_burst_and_crash.py makes them)."""
    body = copy.deepcopy(REFERRAL_EXAMPLE)
    body["partner_reference"] = f"{run}-{i:05d}"
    born = date(1950, 1, 1) + timedelta(days=i % 19_000)  # 1950 to 2002; distinct within a run
    body["subject"] = {
        **body["subject"],
        "given_name": _name(f"{run}-given-{i}"),
        "middle_names": None,
        "family_name": _name(f"{run}-family-{i}"),
        "date_of_birth": born.isoformat(),
    }
    return body


@dataclass
class LoadStats:
    acknowledged: dict[str, str] = field(default_factory=dict)  # partner_reference -> referral id
    acknowledged_at: dict[str, float] = field(default_factory=dict)  # referral id -> time of its 201
    errors: Counter[str] = field(default_factory=Counter)
    error_times: list[tuple[float, str]] = field(default_factory=list)
    ok_times: list[float] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            self.error_times.append((time.time(), kind))


class Load:
    """`total` referrals (at least) from `clients` threads at about `rate_per_s` in all (0: as fast as
    they go)."""

    def __init__(
        self, url: str, api_key: str, run: str, total: int, clients: int = 16, rate_per_s: float = 0.0
    ) -> None:
        self.url, self.key, self.run, self.total = url, api_key, run, total
        # With `until`, the load goes on past `total` until it is set: every fault then happens
        # under load, however long the restarts take on the machine.
        self.until: threading.Event | None = None
        self.clients, self.rate = clients, rate_per_s
        self.stats = LoadStats()
        self._next = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.url_lock = threading.Lock()

    def set_url(self, url: str) -> None:
        with self.url_lock:
            self.url = url

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.total and (self.until is None or self.until.is_set()):
                return None
            i = self._next
            self._next += 1
        if self.rate:
            due = self.started_at + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return i

    def _post(self, client: httpx.Client, i: int) -> None:
        body = referral_body(self.run, i)
        headers = {"X-API-Key": self.key, "Idempotency-Key": f"{self.run}-key-{i}"}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with self.url_lock:
                    url = self.url
                r = client.post(url + "/api/v1/referrals", json=body, headers=headers)
            except httpx.HTTPError as exc:
                self.stats.error(type(exc).__name__)
                time.sleep(0.5)
                continue
            if r.status_code == 201:
                with self.stats.lock:
                    self.stats.acknowledged[body["partner_reference"]] = r.json()["id"]
                    self.stats.acknowledged_at[r.json()["id"]] = time.time()
                    self.stats.ok_times.append(time.time())
                return
            kind = f"{r.status_code}"
            if r.status_code == 503 and "retry-after" not in r.headers:
                kind += " without Retry-After"
            self.stats.error(kind)
            if r.status_code < 500 and r.status_code != 429:
                break  # not retryable: a bug in the suite or the service
            time.sleep(min(2.0, float(r.headers.get("retry-after", "0.5") or 0.5)))
        self.stats.given_up.append(body["partner_reference"])

    def _worker(self) -> None:
        with httpx.Client(timeout=30) as client:
            while (i := self._take()) is not None:
                self._post(client, i)

    def start(self) -> None:
        self.started_at = time.monotonic()
        for n in range(self.clients):
            t = threading.Thread(target=self._worker, name=f"client-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
