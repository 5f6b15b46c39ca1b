"""Must-show 1 as a test: every route that returns personal data writes one audit entry per person
shown, with actor, time, justification and operation.

Each service's test module gives two tables keyed by ``"METHOD /api/v1/template"``:

- ``SHOWS``: a :class:`Shown` per route that returns (or changes and returns) a person's data: how
  to call it on a prepared database and which person references it must audit;
- ``NO_PERSON``: every other route, each with the reason it shows no person's data.

:func:`unlisted` walks the app's routes (through included routers) and names any route in neither
table, and any table entry that is no route any more, so a new route fails the test until it is
classified. :func:`check_entries` checks the entries one call wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hhpu_shared.audit import AuditEntry

# Routes every service app has (the shared skeleton) that show no one's data.
SKELETON_NO_PERSON: dict[str, str] = {
    "GET /healthz": "liveness: no data",
    "GET /readyz": "readiness: database and broker checks, no data",
    "GET /metrics": "Prometheus counters: no personal data (no person in any label)",
    "GET /openapi.json": "the API's description",
    "GET /docs": "the API's documentation page",
    "GET /docs/oauth2-redirect": "the documentation page's sign-in helper",
    "GET /redoc": "the API's documentation page",
    "GET /api/v1/audit/{service}/verify": "the hash chain's check: counts and hashes, no entry's content",
    "GET /api/v1/outbox/{service}": "events waiting or refused: type, topic, counts, errors; no payload",
}


@dataclass(frozen=True)
class Shown:
    """A route that shows people: call `path(ctx)` (with `body(ctx)`) as `role`, after `setup`;
    `people(ctx)` are the references it must audit (`ctx["response"]` holds the JSON answer)."""

    path: Callable[[Any], str]
    people: Callable[[Any], set[str | None]]
    role: str = "unit_supervisor"
    operation: str = "consult"
    body: Callable[[Any], Any] | None = None
    setup: Callable[[Any], Any] | None = None  # returns the context `path`, `body`, `people` read
    status: int = 200
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. content for an upload
    justification: str | None = None  # recorded in place of X-Justification (e.g. an erasure's reason)


def _walk(routes: list[Any], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, APIRoute) or hasattr(route, "methods"):
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield f"{method} {prefix}{route.path}"
        elif hasattr(route, "original_router"):  # FastAPI's included router
            ctx = getattr(route, "include_context", None)
            yield from _walk(route.original_router.routes, prefix + (getattr(ctx, "prefix", "") or ""))


def operations(app: FastAPI) -> set[str]:
    """Every "METHOD /path/template" the app answers (internal routes too)."""
    return set(_walk(app.routes))


def unlisted(app: FastAPI, shows: Mapping[str, Any], no_person: Mapping[str, str]) -> dict[str, list[str]]:
    """Routes in neither table, entries that are no route, and routes in both."""
    ops = operations(app)
    table = set(shows) | set(no_person)
    return {
        "unclassified": sorted(ops - table),
        "stale": sorted(table - ops),
        "both": sorted(set(shows) & set(no_person)),
        "unexplained": sorted(k for k, why in no_person.items() if len(why.strip()) < 10),
    }


def last_id(engine: Engine) -> int:
    with Session(engine) as s:
        got = s.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    return int(got or 0)


def entries_after(engine: Engine, since_id: int) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEntry).where(col(AuditEntry.id) > since_id)).all())


def exercise(
    client: Any,
    engine: Engine,
    route: str,
    case: Shown,
    ctx: Any,
    headers: dict[str, str],
    actor: str,
    why: str,
) -> list[str]:
    """Call the route as `case` says and return what is wrong with the entries the call wrote."""
    before = last_id(engine)
    method = route.split(" ", 1)[0]
    kwargs: dict[str, Any] = dict(case.extra)
    if case.body is not None:
        kwargs["json"] = case.body(ctx)
    r = client.request(method, case.path(ctx), headers={**headers, **kwargs.pop("headers", {})}, **kwargs)
    if r.status_code != case.status:
        return [f"status {r.status_code}: {r.text[:500]}"]
    if r.headers.get("content-type", "").startswith("application/json"):
        ctx["response"] = r.json()
    rows = entries_after(engine, before)
    why = case.justification or why
    return check_entries(rows, case.people(ctx), actor=actor, justification=why, operation=case.operation)


def check_entries(
    rows: list[AuditEntry], people: set[str | None], *, actor: str, justification: str, operation: str
) -> list[str]:
    """What is wrong with the entries one call wrote (empty: one entry per person shown, each with
    the actor, a time, the caller's justification and the operation; other entries the call wrote,
    e.g. a screening step with its own stated purpose, are allowed only about the same people)."""
    problems = []
    mine = [r for r in rows if r.actor == actor]
    about = {r.person_ref for r in mine if r.operation == operation}
    if about != people:
        problems.append(
            f"persons audited as {operation}: {sorted(map(str, about))}, shown: {sorted(map(str, people))}"
        )
    others = {r.person_ref for r in mine} - people
    if others:
        problems.append(f"entries about people not shown: {sorted(map(str, others))}")
    for r in mine:
        if r.at is None or not r.correlation_id:
            problems.append(f"entry {r.id} has no time or correlation id")
        if r.operation == operation and r.justification != justification:
            problems.append(f"entry {r.id} justification {r.justification!r}")
    if len(mine) != len(rows):
        problems.append(f"entries by someone else: {sorted({r.actor for r in rows} - {actor})}")
    return problems
