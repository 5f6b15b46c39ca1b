"""The service skeleton: every service is declared once as a :class:`ServiceSpec` and built here.

A service's ``app.py`` declares ``SERVICE = ServiceSpec(...)`` (settings class, migrations, event
handlers, background workers, routers, docs text) and nothing else is wired by hand:

- ``SERVICE.build_runtime(settings)``: database (refused unless migrated to head), relay, consumer,
  background workers;
- ``SERVICE.create_app(settings)``: the FastAPI app with the shared middleware, error handlers,
  health, readiness and metrics (:func:`hhpu_shared.http.build_service_app`);
- ``SERVICE.main(argv)``: ``python -m <package> [serve|consumer|migrate|verify-audit]``.

Settings are validated when built (the production check is a validator no process can skip).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from hhpu_shared.background import BackgroundWorker
from hhpu_shared.logging import configure_logging
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.migrations import ServiceMigrations
from hhpu_shared.runtime import ServiceRuntime, run_until_signalled
from hhpu_shared.settings import ServiceSettings

if TYPE_CHECKING:
    from hhpu_shared.protection_api import DataProtectionHooks


@dataclass(frozen=True)
class ServiceSpec:
    """Everything that makes one service, declared in one place."""

    package: str
    settings_cls: type[ServiceSettings]
    migrations: ServiceMigrations
    title: str
    description: str
    routers: Sequence[APIRouter]
    handlers: HandlerRegistry = field(default_factory=HandlerRegistry)
    # Further consumer groups (suffix -> handlers), each with its own offsets and dead letters.
    extra_consumers: Mapping[str, HandlerRegistry] = field(default_factory=dict)
    workers: Sequence[BackgroundWorker] = ()
    internal_routers: Sequence[APIRouter] = ()
    openapi_tags: Sequence[dict[str, Any]] = ()
    # Run once per process after the runtime is built (e.g. configure handlers from settings).
    prepare: Callable[[ServiceRuntime], None] | None = None
    # What the service holds on a person and how it erases them (subject access, erasure).
    data_protection: DataProtectionHooks | None = None

    def settings(self, **overrides: Any) -> ServiceSettings:
        return self.settings_cls(**overrides)

    def build_runtime(
        self,
        settings: ServiceSettings | None = None,
        *,
        bus: InProcessBus | None = None,
        engine: Engine | None = None,
        run_consumer: bool | None = None,
    ) -> ServiceRuntime:
        runtime = ServiceRuntime(
            settings or self.settings_cls(),
            migrations=self.migrations,
            handlers=self.handlers,
            extra_consumers=self.extra_consumers,
            workers=self.workers,
            bus=bus,
            engine=engine,
            run_consumer=run_consumer,
        )
        if self.prepare is not None:
            self.prepare(runtime)
        return runtime

    def create_app(
        self,
        settings: ServiceSettings | None = None,
        *,
        bus: InProcessBus | None = None,
        engine: Engine | None = None,
        run_consumer: bool | None = None,
    ) -> FastAPI:
        from hhpu_shared.http import build_service_app
        from hhpu_shared.outbox_api import outbox_router
        from hhpu_shared.protection_api import audit_router, subject_access_router

        s = settings or self.settings_cls()
        if not logging.getLogger().handlers:  # a bare process (uvicorn --factory): JSON logs, Kafka's too
            configure_logging(s.service_name, s.log_level, kafka_level=s.kafka_log_level)
        runtime = self.build_runtime(s, bus=bus, engine=engine, run_consumer=run_consumer)
        routers = [*self.routers, audit_router(), outbox_router()]
        if self.data_protection is not None:
            routers.append(subject_access_router(self.data_protection))
        app = build_service_app(
            runtime,
            title=self.title,
            description=self.description,
            routers=routers,
            openapi_tags=list(self.openapi_tags) or None,
        )
        for router in self.internal_routers:
            app.include_router(router, prefix="/internal/v1")
        return app

    def migrate(self, settings: ServiceSettings | None = None, revision: str = "head") -> str:
        """Upgrade the service's database to head (or bring it up or down to `revision`); return the
        revision it is at."""
        s = settings or self.settings_cls()
        if revision == "head":
            return self.migrations.upgrade(s.effective_database_url())
        return self.migrations.migrate_to(s.effective_database_url(), revision)

    def verify_audit(self, settings: ServiceSettings | None = None) -> int:
        """Check the audit trail's hash chain; print the result; 0 when intact, 1 when not."""
        from sqlmodel import Session

        from hhpu_shared.audit import verify_chain
        from hhpu_shared.db import make_engine

        s = settings or self.settings_cls()
        engine = make_engine(s.effective_database_url())
        try:
            with Session(engine) as session:
                r = verify_chain(session)
        finally:
            engine.dispose()
        state = "intact" if r.ok else f"BROKEN at entry {r.first_bad_id}: {r.reason}"
        print(f"{s.service_name}: audit chain {state} ({r.checked} entries, head {r.head[:16]})")  # noqa: T201
        return 0 if r.ok else 1

    def main(self, argv: Sequence[str] | None = None) -> None:
        """``python -m <package> [serve|consumer|migrate]`` (serve is the default)."""
        parser = argparse.ArgumentParser(prog=f"python -m {self.package}", description=self.title)
        parser.add_argument(
            "command",
            nargs="?",
            default="serve",
            choices=["serve", "consumer", "migrate", "verify-audit"],
            help="serve the API (default), run the event consumer and background work, "
            "upgrade the database to the newest schema, or check the audit trail's hash chain",
        )
        parser.add_argument(
            "--to",
            default="head",
            metavar="REVISION",
            help="migrate: the revision to bring the database to (default head); an older one "
            "downgrades, before rolling back to the release whose head it is",
        )
        args = parser.parse_args(argv)
        settings = self.settings_cls()
        configure_logging(settings.service_name, settings.log_level, kafka_level=settings.kafka_log_level)
        if args.command == "migrate":
            revision = self.migrate(settings, args.to)
            print(f"{settings.service_name}: database at revision {revision}")  # noqa: T201
        elif args.command == "verify-audit":
            raise SystemExit(self.verify_audit(settings))
        elif args.command == "consumer":
            run_until_signalled(self.build_runtime(settings, run_consumer=True))
        else:
            import uvicorn

            uvicorn.run(
                self.create_app(settings),
                host=settings.host,
                port=settings.port,
                access_log=False,  # the service's own access log records route templates only
                log_config=None,
            )
