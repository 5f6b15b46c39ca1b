"""The four services as the platform knows them: name, package, settings prefix, and their specs.

Specs are imported lazily (by package name), so the command line starts fast and a service is
loaded only when it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line starts without loading the web stack
    from hhpu_shared.service import ServiceSpec

SERVICES = {
    # name: (package, env prefix)
    "referral-api": ("referral_api", "REFERRAL_"),
    "ranking-service": ("ranking_service", "RANKING_"),
    "case-service": ("case_service", "CASE_"),
    "meeting-service": ("meeting_service", "MEETING_"),
}


def spec(name: str) -> ServiceSpec:
    """The ServiceSpec of a service, by name (``case-service``)."""
    pkg, _prefix = SERVICES[name]
    found: ServiceSpec = importlib.import_module(f"{pkg}.app").SERVICE
    return found


def migrate(name: str, **settings: Any) -> str:
    """Upgrade one service's database to head (settings from the environment plus `settings`)."""
    service = spec(name)
    return service.migrate(service.settings(**settings))


def migrate_all(**settings: Any) -> dict[str, str]:
    """Upgrade every service's database to head; return each one's revision."""
    return {name: migrate(name, **settings) for name in SERVICES}
