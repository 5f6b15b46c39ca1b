"""Distributed mode for end-to-end tests: each service's API and consumer as processes, one
PostgreSQL database per service, real Kafka, the gateway in front. Started once per run (session
scope); each test counts only what its own flow created."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hhpu.distributed import SERVICES, Cluster, start_cluster
from hhpu.testing import WebhookReceiver
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique


@pytest.fixture(scope="session")
def cluster(
    kafka_bootstrap: str, postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    dbs = {name: create_pg_database(postgres_admin_url, name.split("-")[0]) for name in SERVICES}
    workdir = tmp_path_factory.mktemp("cluster")
    c = start_cluster(
        workdir=workdir, database_urls=dbs, kafka_bootstrap=kafka_bootstrap, namespace=unique("e2e") + "."
    )
    try:
        yield c
    finally:
        c.stop()
        for url in dbs.values():
            drop_pg_database(postgres_admin_url, url)


@pytest.fixture(scope="session")
def gw(cluster: Cluster) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.gateway_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def webhook() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(cluster, Cluster):
        report.sections.append(("cluster processes", cluster.report()))
    return report
