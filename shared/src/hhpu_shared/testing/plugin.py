"""Pytest plugin (loaded by the root config): fixtures for real infrastructure and identities.

The test command (``make test``) starts Kafka and PostgreSQL and exports their addresses in
``HHPU_TEST_KAFKA`` and ``HHPU_TEST_PG_URL``. A test that needs them fails, never skips, when
they are missing, so a green run always means the real components were exercised.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from hhpu_shared.auth import IDENTITY_HEADER, IdentityError, Principal, decode_identity, mint_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET
from hhpu_shared.testing.processes import pid_alive

# Settings fail closed (production) unless told otherwise; the suite runs in test mode.
os.environ.setdefault("HHPU_ENVIRONMENT", "test")
# A test run starts and drops hundreds of apps in one process: frozen at start-up (hhpu_shared.heap),
# each would never be freed. The tests of the freeze turn it back on.
os.environ.setdefault("HHPU_GC_FREEZE", "0")


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`, which starts the real services")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _require_env("HHPU_TEST_KAFKA")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return _require_env("HHPU_TEST_PG_URL")


# Every database this run created and has not dropped yet: the session's end drops what is left,
# so a test that forgets (or dies before its finaliser) does not leak databases into the server.
_CREATED: dict[str, str] = {}

# A killed run never reaches its session's end, so each test database is named after its owner:
# hhpt_<host tag>_<pid>_<prefix>_<random>. A session's start drops those of this host whose owning
# process is gone (`sweep_stale_databases`).
HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
OWNED = re.compile(r"^hhpt_(?P<host>[0-9a-f]{6})_(?P<pid>[0-9]+)_")


def owned_name(prefix: str, pid: int | None = None) -> str:
    name = f"hhpt_{HOST_TAG}_{os.getpid() if pid is None else pid}_{prefix}_{uuid.uuid4().hex[:10]}"
    if len(name) > 63 or not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"bad test database prefix {prefix!r}")
    return name


def stale_databases(names: list[str], alive: Callable[[int], bool] = pid_alive) -> list[str]:
    """The test databases among `names` made on this host by a process that is gone."""
    out = []
    for name in names:
        m = OWNED.match(name)
        if m and m["host"] == HOST_TAG and not alive(int(m["pid"])):
            out.append(name)
    return out


def sweep_stale_databases(admin_url: str) -> list[str]:
    """Drop the test databases left by killed runs on this host; return their names."""
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with eng.connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE 'hhpt!_%' ESCAPE '!'")
                )
            ]
            stale = stale_databases(names)
            for name in stale:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return stale
    finally:
        eng.dispose()


def pytest_sessionstart(session: pytest.Session) -> None:
    admin_url = os.environ.get("HHPU_TEST_PG_URL")
    if not admin_url:
        return
    try:
        dropped = sweep_stale_databases(admin_url)
    except Exception as exc:  # no server: the tests that need it fail and say so
        session.config.get_terminal_writer().line(f"stale test databases not swept: {type(exc).__name__}")
        return
    if dropped:
        session.config.get_terminal_writer().line(
            f"dropped {len(dropped)} test database(s) left by killed runs"
        )


def create_pg_database(admin_url: str, prefix: str = "t") -> str:
    name = owned_name(prefix)
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    _CREATED[url] = admin_url
    return url


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()
    _CREATED.pop(url, None)


def created_pg_databases() -> list[str]:
    """Databases created by this run and not dropped yet."""
    return list(_CREATED)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for url, admin_url in list(_CREATED.items()):
        try:
            drop_pg_database(admin_url, url)
        except Exception as exc:  # the server may be gone; say so rather than hide the leak
            session.config.get_terminal_writer().line(f"could not drop test database {url}: {exc!r}")


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    url = create_pg_database(postgres_admin_url)
    yield url
    drop_pg_database(postgres_admin_url, url)


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """The root logger without handlers for a test that configures logging (a service's `main`),
    and as it was afterwards: its handlers, its level and the Kafka logger's."""
    root, kafka = logging.getLogger(), logging.getLogger("kafka")
    saved = (list(root.handlers), root.level, kafka.level, kafka.propagate)
    root.handlers = []
    try:
        yield
    finally:
        root.handlers, root.level = saved[0], saved[1]
        kafka.setLevel(saved[2])
        kafka.propagate = saved[3]


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/test.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
    else:
        yield request.getfixturevalue("pg_url")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


TEST_CLAIM = "tst"  # marks a test suite's long-lived stand-in assertion (never accepted by a service)


def rebind_test_identity(request: httpx.Request) -> None:
    """What the gateway does for every request, done for a test client: turn the suite's stand-in
    assertion (long-lived, made at import by `identity_headers`) into a short one bound to this
    request's method and path. Anything else (forged, expired, another secret) is left as it is."""
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        return
    try:
        claims = decode_identity(token, DEV_INTERNAL_SECRET)
    except IdentityError:
        return
    if not claims.get(TEST_CLAIM):
        return
    principal = Principal(
        subject=str(claims["sub"]),
        kind=str(claims["kind"]),
        roles=frozenset(claims.get("roles", [])),
        agency_id=claims.get("agency"),
        name=claims.get("name"),
    )
    request.headers[IDENTITY_HEADER] = mint_identity(
        principal, DEV_INTERNAL_SECRET, ttl_s=30, method=request.method, path=request.url.path
    )


_plain_init = TestClient.__init__


def _test_client_init(self: TestClient, *args: Any, **kwargs: Any) -> None:
    _plain_init(self, *args, **kwargs)
    hooks = self.event_hooks
    hooks["request"] = [rebind_test_identity, *hooks.get("request", [])]
    self.event_hooks = hooks


TestClient.__init__ = _test_client_init  # type: ignore[method-assign]


def identity_headers(
    *roles: str,
    subject: str = "user:test",
    agency_id: str | None = None,
    kind: str | None = None,
    secret: str = DEV_INTERNAL_SECRET,
    name: str | None = None,
    ttl_s: int = 6 * 3600,
) -> dict[str, str]:
    """Headers a service accepts, through a test client, as if the gateway had authenticated the caller.

    Long-lived, since test modules build them at import and the suite runs for minutes; a service
    refuses them as they are (too long-lived, bound to no request): the TestClient hook above turns
    them into a short assertion bound to each request, as the gateway would."""
    principal = Principal(
        subject=subject,
        kind=kind or ("agency" if agency_id and "partner_agency" in roles else "staff"),
        roles=frozenset(roles),
        agency_id=agency_id,
        name=name,
    )
    return {IDENTITY_HEADER: mint_identity(principal, secret, ttl_s=ttl_s, extra={TEST_CLAIM: True})}
