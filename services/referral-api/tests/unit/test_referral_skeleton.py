"""The referral-api is built by the shared skeleton: production check, migrate command, consumer groups."""

from __future__ import annotations

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.settings import DEV_INTERNAL_SECRET
from pydantic import ValidationError
from referral_api.app import SERVICE, create_app
from referral_api.handlers import handlers, webhook_handlers
from referral_api.migrations import MIGRATIONS
from referral_api.settings import ReferralSettings


def test_a_development_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HHPU_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development internal secret"):
        create_app(ReferralSettings(internal_secret=DEV_INTERNAL_SECRET))
    with pytest.raises(ValidationError, match="development internal secret"):
        SERVICE.main(["consumer"])


def test_the_migrate_command_brings_a_new_database_to_head(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, capsys: pytest.CaptureFixture[str], fresh_logging: None
) -> None:
    monkeypatch.setenv("REFERRAL_DATABASE_URL", sqlite_url)
    SERVICE.main(["migrate"])
    assert MIGRATIONS.head in capsys.readouterr().out
    engine = make_engine(sqlite_url)
    try:
        assert MIGRATIONS.current(engine) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
    finally:
        engine.dispose()


def test_two_consumer_groups_and_the_default_address() -> None:
    assert SERVICE.handlers is handlers and dict(SERVICE.extra_consumers) == {"webhooks": webhook_handlers}
    assert webhook_handlers.topics() == ["hhpu.referral.events"]
    assert "hhpu.referral.events" not in handlers.topics()  # the main group never reads its own events
    s = ReferralSettings()
    assert (s.host, s.port) == ("127.0.0.1", 8001)
