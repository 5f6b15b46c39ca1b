"""The PostgreSQL pool pings a connection only when it sat idle (issue 17: the ping was a round trip
per unit of work): a connection back from work at once is used without one, and one that died while
idle in the pool is replaced before use, so the caller never sees the dead connection."""

from __future__ import annotations

import time

from hhpu_shared.db import make_engine
from sqlalchemy import text


def test_pool_pings_only_idle_connections_and_replaces_dead_ones(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, ping_idle_s=0.5)
    try:
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        raw_pings: list[int] = []
        dialect = engine.dialect
        original = dialect.do_ping

        def counted_ping(dbapi_conn):  # type: ignore[no-untyped-def]
            raw_pings.append(1)
            return original(dbapi_conn)

        dialect.do_ping = counted_ping  # type: ignore[method-assign]
        with engine.connect() as conn:  # back from work just now: no ping
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == first_pid
        assert raw_pings == []
        # The server ends the pooled connection while it is idle (as a restart would).
        with make_engine(pg_url).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first_pid})
            admin.commit()
        time.sleep(0.6)
        with engine.connect() as conn:  # idle long enough: pinged, found dead, replaced
            new_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert raw_pings == [1]
        assert new_pid != first_pid
    finally:
        engine.dispose()
