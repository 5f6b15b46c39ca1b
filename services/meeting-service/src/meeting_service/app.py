"""The meeting-service application: runtime, routers, and the overdue-action scheduler."""

from __future__ import annotations

import logging
import threading
from datetime import date

from fastapi import FastAPI
from hhpu_shared.db import service_tables
from hhpu_shared.http import build_service_app
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from meeting_service import handlers as handlers_module
from meeting_service.handlers import handlers
from meeting_service.routes import router as meetings_router
from meeting_service.routes_actions import router as actions_router
from meeting_service.service import MeetingService
from meeting_service.service_actions import ActionService
from meeting_service.settings import MeetingSettings

log = logging.getLogger("meeting_service")

DESCRIPTION = """Multi-agency meetings of the High Harm Perpetrator Unit.

Agendas are built from events (new suitability assessments, big ranking moves, overdue actions),
time-boxed per item and kept under the meeting's limit (120 minutes for the monthly meeting): new
cases first, then reviews by urgency; the rest moves to the next meeting with the reason recorded.
Minutes, decisions (which the case-service and referral-api act on), actions with carry-over, and a
printable meeting pack. Closing a meeting freezes its minutes; corrections are addenda.
"""


def run_overdue_sweep(runtime: ServiceRuntime, today: date | None = None) -> list[str]:
    """One sweep in its own unit of work (used by the scheduler and by scripts)."""
    settings = runtime.settings
    assert isinstance(settings, MeetingSettings)
    with runtime.unit_of_work() as uow:
        return ActionService(uow, settings, today=today).overdue_sweep()


class MeetingRuntime(ServiceRuntime):  # type: ignore[misc, unused-ignore]
    """The shared runtime plus a thread that runs the overdue sweep every interval."""

    def __init__(self, settings: MeetingSettings, **kwargs: object) -> None:
        super().__init__(settings, **kwargs)  # type: ignore[arg-type, unused-ignore]
        self.meeting_settings = settings
        self._sweep_stop = threading.Event()
        self._sweep_thread: threading.Thread | None = None

    def _sweep_loop(self) -> None:
        interval = self.meeting_settings.overdue_sweep_interval_s
        while not self._sweep_stop.is_set():
            try:
                flagged = run_overdue_sweep(self)
                if flagged:
                    log.info("overdue actions flagged", extra={"count": len(flagged)})
            except Exception:
                log.exception("overdue sweep failed")
            self._sweep_stop.wait(interval)

    def start(self) -> None:
        super().start()
        if self.meeting_settings.overdue_sweep_interval_s > 0 and self._sweep_thread is None:
            self._sweep_stop.clear()
            self._sweep_thread = threading.Thread(target=self._sweep_loop, name="overdue-sweep", daemon=True)
            self._sweep_thread.start()

    def stop(self) -> None:
        self._sweep_stop.set()
        if self._sweep_thread is not None:
            self._sweep_thread.join(timeout=10)
            self._sweep_thread = None
        super().stop()


def build_runtime(
    settings: MeetingSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> MeetingRuntime:
    settings = settings or MeetingSettings()
    settings.check_production()
    handlers_module.configure(settings)
    runtime = MeetingRuntime(
        settings,
        tables=service_tables("mtg_"),
        handlers=handlers,
        bus=bus,
        engine=engine,
        run_consumer=run_consumer,
    )
    for attempt in range(3):
        try:
            with runtime.unit_of_work() as uow:
                MeetingService(uow, settings).ensure_default_types()
            break
        except IntegrityError:
            # The API and consumer processes start together; the other one inserted them first.
            if attempt == 2:
                raise
    return runtime


def create_app(
    settings: MeetingSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> FastAPI:
    """Build the meeting-service app; ``app.state.runtime`` is its MeetingRuntime."""
    runtime = build_runtime(settings, bus=bus, engine=engine, run_consumer=run_consumer)
    app: FastAPI = build_service_app(
        runtime,
        title="HHPU meeting-service",
        description=DESCRIPTION,
        routers=[meetings_router, actions_router],
        openapi_tags=[
            {"name": "meetings", "description": "Meeting types, series, scheduling, attendance, agendas."},
            {"name": "outcomes and actions", "description": "Decisions, actions, carry-over, packs."},
        ],
    )
    return app
