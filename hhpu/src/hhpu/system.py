"""Single-process mode: the gateway and all four services in one process.

Each service keeps its own SQLite file, migrated to head before it starts; they share one durable
embedded event log (``events.db``, Kafka's shape: logs per topic, committed offsets per consumer
group), so events flow through the same outbox, relay, inbox and consumer code as in distributed
mode, and survive a crash of the process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from case_service.app import create_app as create_case_app
from case_service.settings import CaseSettings
from fastapi import FastAPI
from gateway.app import Gateway
from gateway.app import create_app as create_gateway
from gateway.settings import GatewaySettings
from hhpu_shared.messaging.embedded import EmbeddedLog
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from meeting_service.app import create_app as create_meeting_app
from meeting_service.settings import MeetingSettings
from ranking_service.app import create_app as create_ranking_app
from ranking_service.settings import RankingSettings
from referral_api.app import create_app as create_referral_app
from referral_api.settings import ReferralSettings

from hhpu.services import migrate_all


@dataclass
class System:
    gateway: Gateway
    services: dict[str, FastAPI]
    bus: InProcessBus
    data_dir: Path

    def runtime(self, name: str) -> ServiceRuntime:
        rt: ServiceRuntime = self.services[name].state.runtime
        return rt

    def settle(self, timeout_s: float = 60.0) -> None:
        """Wait until every outbox is published and every consumer has caught up (demo, tests)."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            busy = False
            for name in self.services:
                rt = self.runtime(name)
                if rt.relay is not None and rt.relay.pending():
                    rt.wake_relay()
                    busy = True
                runners = [rt.consumer, *rt.extra_runners] if rt.consumer is not None else rt.extra_runners
                if any(r.source.lag() for r in runners):
                    busy = True
            quiet = 0 if busy else quiet + 1
            if quiet >= 3:  # three quiet looks in a row: handlers' own events have gone through too
                return
            time.sleep(0.1)
        raise TimeoutError("the system did not settle")


def build_system(
    data_dir: Path,
    *,
    gateway_settings: GatewaySettings | None = None,
) -> System:
    """Create every service on SQLite files under `data_dir`, wired to one in-process bus."""
    data_dir.mkdir(parents=True, exist_ok=True)
    bus = EmbeddedLog(data_dir / "events.db")  # durable: relayed events survive a crash
    common: dict[str, Any] = {"transport": "inprocess", "data_dir": str(data_dir), "database_url": ""}
    migrate_all(**common)  # processes never create tables; the migrations do, before they start
    services: dict[str, FastAPI] = {
        "referral-api": create_referral_app(ReferralSettings(**common), bus=bus),
        "ranking-service": create_ranking_app(RankingSettings(**common), bus=bus),
        "case-service": create_case_app(CaseSettings(**common), bus=bus),
        "meeting-service": create_meeting_app(MeetingSettings(**common), bus=bus),
    }
    gw = create_gateway(gateway_settings or GatewaySettings(), asgi_apps=dict(services))
    return System(gateway=gw, services=services, bus=bus, data_dir=data_dir)
