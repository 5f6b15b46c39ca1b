"""Test databases left by a killed run are dropped at the next session's start, and only those.

Each test database is named after the process that made it (hhpt_<host>_<pid>_...); the sweep drops
the ones of this host whose process is gone, never a live run's, never another host's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hhpu_shared.testing import plugin
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.postgres]


def _databases(admin_url: str) -> set[str]:
    eng = create_engine(admin_url)
    with eng.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT datname FROM pg_database"))}
    eng.dispose()
    return names


def _create(admin_url: str, name: str) -> None:
    eng = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(30)
    return proc.pid


def test_names_carry_host_and_owner_and_only_dead_owners_of_this_host_are_stale() -> None:
    mine = plugin.owned_name("case")
    assert mine.startswith(f"hhpt_{plugin.HOST_TAG}_{os.getpid()}_case_") and len(mine) <= 63
    other_host = "hhpt_" + ("0" if plugin.HOST_TAG[0] != "0" else "1") + plugin.HOST_TAG[1:] + "_12_t_ab"
    names = [mine, plugin.owned_name("t", pid=12), other_host, "t_0249d663f978", "hhpu"]
    assert plugin.stale_databases(names, alive=lambda pid: pid != 12) == [names[1]]
    with pytest.raises(ValueError):
        plugin.owned_name("Bad-Prefix")


def test_the_sweep_drops_a_killed_runs_databases_and_keeps_live_ones(postgres_admin_url: str) -> None:
    dead = plugin.owned_name("sweep", pid=_dead_pid())
    _create(postgres_admin_url, dead)
    live = plugin.create_pg_database(postgres_admin_url, "sweep")
    live_name = live.rsplit("/", 1)[1]
    try:
        assert {dead, live_name} <= _databases(postgres_admin_url)
        dropped = plugin.sweep_stale_databases(postgres_admin_url)
        assert dead in dropped and live_name not in dropped
        left = _databases(postgres_admin_url)
        assert dead not in left and live_name in left
    finally:
        plugin.drop_pg_database(postgres_admin_url, live)
        plugin.drop_pg_database(postgres_admin_url, live.rsplit("/", 1)[0] + "/" + dead)
    assert live not in plugin.created_pg_databases()
