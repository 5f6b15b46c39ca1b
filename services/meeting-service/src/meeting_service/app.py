"""The meeting-service: multi-agency meetings, time-boxed agendas, decisions and actions.

Declared once as a :class:`~hhpu_shared.service.ServiceSpec`; the shared skeleton builds the app,
the runtime and the ``python -m meeting_service [serve|consumer|migrate]`` entry point from it.
"""

from __future__ import annotations

from fastapi import FastAPI
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.service import ServiceSpec
from sqlalchemy import Engine

from meeting_service import handlers as handlers_module
from meeting_service.handlers import PROTECTION
from meeting_service.migrations import MIGRATIONS
from meeting_service.routes import OPENAPI_TAGS, ROUTERS
from meeting_service.settings import MeetingSettings
from meeting_service.workers import OVERDUE_SWEEP, settings_of

DESCRIPTION = """Multi-agency meetings of the High Harm Perpetrator Unit.

Agendas are built from events (new suitability assessments, big ranking moves, overdue actions),
time-boxed per item and kept under the meeting's limit (120 minutes for the monthly meeting): new
cases first, then reviews by urgency; the rest moves to the next meeting with the reason recorded.
Minutes, decisions (which the case-service and referral-api act on), actions with carry-over, and a
printable meeting pack. Closing a meeting freezes its minutes; corrections are addenda.

Reading an agenda or a pack, writing a minute and recording a decision concern people's data:
staff give the reason in the header `X-Justification`, and it is audited.
"""


def _prepare(runtime: ServiceRuntime) -> None:
    """The consumer's handlers run with this process's settings (time boxes, new-case meeting type)."""
    runtime.handlers = handlers_module.bind(settings_of(runtime))


SERVICE = ServiceSpec(
    package="meeting_service",
    settings_cls=MeetingSettings,
    migrations=MIGRATIONS,
    title="HHPU meeting-service",
    description=DESCRIPTION,
    routers=ROUTERS,
    data_protection=PROTECTION,
    handlers=handlers_module.handlers,
    workers=(OVERDUE_SWEEP,),
    openapi_tags=OPENAPI_TAGS,
    prepare=_prepare,
)


def build_runtime(
    settings: MeetingSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> ServiceRuntime:
    """The service's runtime (database at head, relay, consumer, overdue sweep)."""
    return SERVICE.build_runtime(settings, bus=bus, engine=engine, run_consumer=run_consumer)


def create_app(
    settings: MeetingSettings | None = None,
    *,
    bus: InProcessBus | None = None,
    engine: Engine | None = None,
    run_consumer: bool | None = None,
) -> FastAPI:
    """The FastAPI app; ``app.state.runtime`` is its runtime. The database must be at head."""
    return SERVICE.create_app(settings, bus=bus, engine=engine, run_consumer=run_consumer)
