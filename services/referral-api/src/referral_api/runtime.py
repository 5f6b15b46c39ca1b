"""The referral-api's runtime: the shared one plus the webhook deliverer thread."""

from __future__ import annotations

from hhpu_shared.db import service_tables
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import Engine

from referral_api import models  # noqa: F401 - registers the tables
from referral_api.handlers import handlers
from referral_api.settings import ReferralSettings
from referral_api.webhooks import WebhookDeliverer


class ReferralRuntime(ServiceRuntime):
    settings: ReferralSettings

    def __init__(
        self,
        settings: ReferralSettings,
        *,
        bus: InProcessBus | None = None,
        engine: Engine | None = None,
        run_consumer: bool | None = None,
        run_webhooks: bool | None = None,
    ) -> None:
        super().__init__(
            settings,
            tables=service_tables("ref_"),
            handlers=handlers,
            bus=bus,
            engine=engine,
            run_consumer=run_consumer,
        )
        self.deliverer = WebhookDeliverer(self.engine, settings)
        self.run_webhooks = settings.webhooks_enabled if run_webhooks is None else run_webhooks

    def start(self) -> None:
        super().start()
        if self.run_webhooks:
            self.deliverer.start()

    def stop(self) -> None:
        self.deliverer.stop()
        super().stop()
